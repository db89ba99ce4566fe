// The vector math of MT5Kernels.h: exp behind softmax and log-softmax, GELU, and small row
// operations, each with an AVX2 version chosen at run time and a portable one.
//
// The exponential is the Cephes single-precision scheme: exp(x) = 2^n · exp(r) with
// n = round(x / ln 2) and |r| ≤ ln 2 / 2, exp(r) from a degree-6 polynomial; within about two
// units in the last place of libm's expf.

#include "MT5Kernels.h"

#include <math.h>
#include <stddef.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PG_X86 1
#else
#define PG_X86 0
#endif

// MARK: - Portable versions

static float gelu_portable(float x) {
    float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    // tanh is ±1 in float beyond |u| = 10; libm's tanhf is slow out there.
    float t = fabsf(u) >= 10 ? (u > 0 ? 1.0f : -1.0f) : tanhf(u);
    return 0.5f * x * (1 + t);
}

// MARK: - AVX2 and FMA

#if PG_X86
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/// exp of 8 floats; 0 below −87.3 (where expf turns denormal) and +infinity above 88.7.
AVX2_INLINE __m256 exp8(__m256 x) {
    const __m256 high = _mm256_set1_ps(88.7228f), low = _mm256_set1_ps(-87.3365f);
    __m256 underflow = _mm256_cmp_ps(x, low, _CMP_LT_OQ);
    __m256 overflow = _mm256_cmp_ps(x, high, _CMP_GT_OQ);
    __m256 clamped = _mm256_max_ps(_mm256_min_ps(x, high), low);
    __m256 n = _mm256_round_ps(
        _mm256_mul_ps(clamped, _mm256_set1_ps(1.44269504088896341f)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x − n·ln 2, with ln 2 split in two so that n·ln2_high is exact.
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), clamped);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 e = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1)));
    // 2^n through the exponent bits; n + 127 stays in [1, 255] after the clamp, except
    // n = 128 at the top, split as 2·2^127.
    __m256i exponent = _mm256_cvtps_epi32(n);
    __m256i top = _mm256_cmpgt_epi32(exponent, _mm256_set1_epi32(127));
    exponent = _mm256_sub_epi32(exponent, _mm256_and_si256(top, _mm256_set1_epi32(1)));
    __m256 scale = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(exponent, _mm256_set1_epi32(127)), 23));
    e = _mm256_mul_ps(e, scale);
    e = _mm256_blendv_ps(e, _mm256_add_ps(e, e), _mm256_castsi256_ps(top));
    e = _mm256_andnot_ps(underflow, e);
    e = _mm256_blendv_ps(e, _mm256_set1_ps(INFINITY), overflow);
    // exp(−inf) = 0 falls out of the underflow mask; NaN stays NaN.
    __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    return _mm256_blendv_ps(e, x, nan);
}

AVX2_INLINE __m256d sum_halves(__m256d sum, __m256 e) {
    sum = _mm256_add_pd(sum, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    return _mm256_add_pd(sum, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

AVX2_INLINE double horizontal_sum(__m256d sum) {
    double lanes[4];
    _mm256_storeu_pd(lanes, sum);
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

AVX2 static double exp_sum_avx2(const float *values, size_t count, float shift) {
    __m256 s = _mm256_set1_ps(shift);
    __m256d sum = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        sum = sum_halves(sum, exp8(_mm256_sub_ps(_mm256_loadu_ps(values + i), s)));
    }
    double total = horizontal_sum(sum);
    if (i < count) {
        float tail[8] = {0};
        for (size_t j = 0; j < count - i; j++) tail[j] = values[i + j] - shift;
        for (size_t j = count - i; j < 8; j++) tail[j] = -INFINITY;
        total += horizontal_sum(sum_halves(_mm256_setzero_pd(), exp8(_mm256_loadu_ps(tail))));
    }
    return total;
}

AVX2 static double exp_in_place_avx2(float *values, size_t count, float shift) {
    __m256 s = _mm256_set1_ps(shift);
    __m256d sum = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(values + i), s));
        _mm256_storeu_ps(values + i, e);
        sum = sum_halves(sum, e);
    }
    double total = horizontal_sum(sum);
    if (i < count) {
        float tail[8];
        for (size_t j = 0; j < 8; j++) tail[j] = j < count - i ? values[i + j] - shift : -INFINITY;
        __m256 e = exp8(_mm256_loadu_ps(tail));
        _mm256_storeu_ps(tail, e);
        for (size_t j = 0; j < count - i; j++) values[i + j] = tail[j];
        total += horizontal_sum(sum_halves(_mm256_setzero_pd(), e));
    }
    return total;
}

/// gelu_new with tanh(u) = 1 − 2 / (exp(2u) + 1), u clamped to ±10 where tanh is ±1 in float.
AVX2_INLINE __m256 gelu8(__m256 v) {
    __m256 cube = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    __m256 u = _mm256_mul_ps(
        _mm256_set1_ps(0.7978845608028654f),
        _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), cube, v));
    u = _mm256_max_ps(_mm256_min_ps(u, _mm256_set1_ps(10)), _mm256_set1_ps(-10));
    __m256 e = exp8(_mm256_add_ps(u, u));
    __m256 one = _mm256_set1_ps(1);
    __m256 t = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2), _mm256_add_ps(e, one)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(t, one));
}

AVX2 static void gelu_gate_avx2(float *values, const float *gates, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 g = gelu8(_mm256_loadu_ps(values + i));
        _mm256_storeu_ps(values + i, _mm256_mul_ps(g, _mm256_loadu_ps(gates + i)));
    }
    if (i < count) {
        float tail[8] = {0};
        for (size_t j = 0; j < count - i; j++) tail[j] = values[i + j];
        _mm256_storeu_ps(tail, gelu8(_mm256_loadu_ps(tail)));
        for (size_t j = 0; j < count - i; j++) values[i + j] = tail[j] * gates[i + j];
    }
}

AVX2 static float maximum_avx2(const float *values, size_t count) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(values + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    float result = -INFINITY;
    for (int j = 0; j < 8; j++) result = lanes[j] > result ? lanes[j] : result;
    for (; i < count; i++) result = values[i] > result ? values[i] : result;
    return result;
}
#endif

// MARK: - Entry points

void pg_gelu_gate(float *values, const float *gates, size_t count) {
#if PG_X86
    if (pg_kernels_vectorized()) {
        gelu_gate_avx2(values, gates, count);
        return;
    }
#endif
    for (size_t i = 0; i < count; i++) values[i] = gelu_portable(values[i]) * gates[i];
}

float pg_maximum(const float *values, size_t count) {
#if PG_X86
    if (pg_kernels_vectorized()) return maximum_avx2(values, count);
#endif
    float result = -INFINITY;
    for (size_t i = 0; i < count; i++) result = values[i] > result ? values[i] : result;
    return result;
}

double pg_exp_sum(const float *values, size_t count, float shift) {
#if PG_X86
    if (pg_kernels_vectorized()) return exp_sum_avx2(values, count, shift);
#endif
    double sum = 0;
    for (size_t i = 0; i < count; i++) sum += expf(values[i] - shift);
    return sum;
}

double pg_exp_in_place(float *values, size_t count, float shift) {
#if PG_X86
    if (pg_kernels_vectorized()) return exp_in_place_avx2(values, count, shift);
#endif
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        values[i] = expf(values[i] - shift);
        sum += values[i];
    }
    return sum;
}
