// See MT5Kernels.h. The vectorized functions are compiled for AVX2 and FMA by a target
// attribute and chosen at run time, so the library still runs on CPUs without them.
//
// The matrix product follows the register-blocking scheme of BLIS and OpenBLAS (Goto and van
// de Geijn, "Anatomy of High-Performance Matrix Multiplication", 2008): a 6 × 16 block of
// outputs lives in twelve registers while k runs, the weights are read from panels packed at
// load time, and the inputs are read in place. Packing once is the point: a BLAS packs the
// weight again on every call, which costs a decoder step about a seventh of its time.
//
// The exponential is the Cephes single-precision scheme: exp(x) = 2^n · exp(r) with
// n = round(x / ln 2) and |r| ≤ ln 2 / 2, exp(r) from a degree-6 polynomial; within two units
// in the last place of libm's expf.

#include "MT5Kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PG_X86 1
#else
#define PG_X86 0
#endif

#define PANEL PG_PANEL_WIDTH
#define BLOCK_ROWS 6
/// Inputs per pass over a panel: 256 × 16 weights (16 KiB) stay in the L1 cache while every
/// block of rows uses them.
#define DEPTH 256
/// Panels per pass: the outputs they cover for all rows stay in the L2 cache.
#define PANELS_PER_PASS 8

static int vectorized = -1;

int pg_kernels_vectorized(void) {
    if (vectorized < 0) {
#if PG_X86
        __builtin_cpu_init();
        vectorized = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
        vectorized = 0;
#endif
    }
    return vectorized;
}

void pg_kernels_use_vectorized(int enabled) {
    vectorized = -1;
    vectorized = enabled && pg_kernels_vectorized();
}

size_t pg_packed_count(int out_features, int in_features) {
    size_t panels = ((size_t)out_features + PANEL - 1) / PANEL;
    return panels * PANEL * (size_t)in_features;
}

void pg_pack_weight(const float *w, int out_features, int in_features, float *packed) {
    int panels = (out_features + PANEL - 1) / PANEL;
    for (int p = 0; p < panels; p++) {
        float *panel = packed + (size_t)p * PANEL * in_features;
        for (int j = 0; j < PANEL; j++) {
            int row = p * PANEL + j;
            if (row < out_features) {
                const float *source = w + (size_t)row * in_features;
                for (int k = 0; k < in_features; k++) panel[(size_t)k * PANEL + j] = source[k];
            } else {
                for (int k = 0; k < in_features; k++) panel[(size_t)k * PANEL + j] = 0;
            }
        }
    }
}

void pg_unpack_row(const float *packed, int in_features, int row, float *out) {
    const float *panel = packed + (size_t)(row / PANEL) * PANEL * in_features;
    int j = row % PANEL;
    for (int k = 0; k < in_features; k++) out[k] = panel[(size_t)k * PANEL + j];
}

size_t pg_packed_rows_count(int rows, int in_features) {
    return (size_t)((rows + BLOCK_ROWS - 1) / BLOCK_ROWS) * BLOCK_ROWS * in_features;
}

void pg_pack_rows(const float *x, int rows, int in_features, int x_stride, float *rows_packed) {
    int blocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    for (int b = 0; b < blocks; b++) {
        float *target = rows_packed + (size_t)b * in_features * BLOCK_ROWS;
        for (int r = 0; r < BLOCK_ROWS; r++) {
            int row = b * BLOCK_ROWS + r;
            if (row >= rows) {
                for (int k = 0; k < in_features; k++) target[(size_t)k * BLOCK_ROWS + r] = 0;
                continue;
            }
            const float *source = x + (size_t)row * x_stride;
            for (int k = 0; k < in_features; k++) target[(size_t)k * BLOCK_ROWS + r] = source[k];
        }
    }
}

// MARK: - Portable versions

static void product_portable(
    const float *rows_packed, int rows, int in_features, const float *packed,
    int out_features, int panel_begin, int panel_end, float *y, int y_stride) {
    for (int p = panel_begin; p < panel_end; p++) {
        const float *panel = packed + (size_t)p * PANEL * in_features;
        int columns = out_features - p * PANEL < PANEL ? out_features - p * PANEL : PANEL;
        for (int r = 0; r < rows; r++) {
            const float *input = rows_packed + (size_t)(r / BLOCK_ROWS) * in_features
                * BLOCK_ROWS + r % BLOCK_ROWS;
            for (int j = 0; j < columns; j++) {
                float sum = 0;
                for (int k = 0; k < in_features; k++) {
                    sum = fmaf(input[(size_t)k * BLOCK_ROWS], panel[(size_t)k * PANEL + j], sum);
                }
                y[(size_t)r * y_stride + p * PANEL + j] = sum;
            }
        }
    }
}

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

/// One block of up to 6 rows × 16 outputs over one pass of `depth` inputs. `rows_packed`
/// holds the block's inputs as depth × 6 floats (input k of the 6 rows side by side). `first`
/// starts the sums at zero; otherwise they continue from y. `columns` < 16 only at a weight's
/// edge.
AVX2_INLINE void block_product(
    int rows, const float *rows_packed, const float *panel, int depth, float *y,
    int y_stride, int columns, int first) {
    __m256 s00 = _mm256_setzero_ps(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00;
    __m256 s30 = s00, s31 = s00, s40 = s00, s41 = s00, s50 = s00, s51 = s00;
    float edge[BLOCK_ROWS * PANEL];
    float *out = y;
    int out_stride = y_stride;
    if (columns < PANEL) {
        out = edge;
        out_stride = PANEL;
        if (!first) {
            for (int r = 0; r < rows; r++) {
                memcpy(edge + r * PANEL, y + (size_t)r * y_stride, columns * sizeof(float));
            }
        }
    }
    if (!first) {
#define LOAD(r)                                                            \
    if (rows > r) {                                                        \
        s##r##0 = _mm256_loadu_ps(out + (size_t)r * out_stride);           \
        s##r##1 = _mm256_loadu_ps(out + (size_t)r * out_stride + 8);       \
    }
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5)
#undef LOAD
    }
    const float *a = rows_packed;
    const float *w = panel;
#pragma clang loop unroll_count(4)
    for (int k = 0; k < depth; k++) {
        __m256 w0 = _mm256_load_ps(w);
        __m256 w1 = _mm256_load_ps(w + 8);
#define STEP(r)                                                            \
    if (rows > r) {                                                        \
        __m256 x = _mm256_broadcast_ss(a + r);                             \
        s##r##0 = _mm256_fmadd_ps(x, w0, s##r##0);                         \
        s##r##1 = _mm256_fmadd_ps(x, w1, s##r##1);                         \
    }
        STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5)
#undef STEP
        a += BLOCK_ROWS;
        w += PANEL;
    }
#define STORE(r)                                                           \
    if (rows > r) {                                                        \
        _mm256_storeu_ps(out + (size_t)r * out_stride, s##r##0);           \
        _mm256_storeu_ps(out + (size_t)r * out_stride + 8, s##r##1);       \
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
    if (columns < PANEL) {
        for (int r = 0; r < rows; r++) {
            memcpy(y + (size_t)r * y_stride, edge + r * PANEL, columns * sizeof(float));
        }
    }
}

#define BLOCK_VARIANT(n)                                                               \
    AVX2 static void block_product_##n(                                                \
        const float *rows_packed, const float *panel, int depth, float *y, int y_stride, \
        int columns, int first) {                                                      \
        block_product(n, rows_packed, panel, depth, y, y_stride, columns, first);      \
    }
BLOCK_VARIANT(1) BLOCK_VARIANT(2) BLOCK_VARIANT(3) BLOCK_VARIANT(4) BLOCK_VARIANT(5)
BLOCK_VARIANT(6)
#undef BLOCK_VARIANT

typedef void (*block_function)(const float *, const float *, int, float *, int, int, int);
static const block_function block_functions[BLOCK_ROWS + 1] = {
    0, block_product_1, block_product_2, block_product_3, block_product_4, block_product_5,
    block_product_6};

AVX2 static void product_avx2(
    const float *rows_packed, int rows, int in_features, const float *packed,
    int out_features, int panel_begin, int panel_end, float *y, int y_stride) {
    int blocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    for (int group = panel_begin; group < panel_end; group += PANELS_PER_PASS) {
        int group_end = group + PANELS_PER_PASS < panel_end ? group + PANELS_PER_PASS
                                                            : panel_end;
        for (int start = 0; start < in_features; start += DEPTH) {
            int depth = in_features - start < DEPTH ? in_features - start : DEPTH;
            for (int p = group; p < group_end; p++) {
                const float *panel = packed + ((size_t)p * in_features + start) * PANEL;
                int columns = out_features - p * PANEL < PANEL ? out_features - p * PANEL
                                                               : PANEL;
                for (int b = 0; b < blocks; b++) {
                    int count = rows - b * BLOCK_ROWS < BLOCK_ROWS ? rows - b * BLOCK_ROWS
                                                                   : BLOCK_ROWS;
                    block_functions[count](
                        rows_packed + ((size_t)b * in_features + start) * BLOCK_ROWS, panel,
                        depth, y + (size_t)b * BLOCK_ROWS * y_stride + p * PANEL, y_stride,
                        columns, start == 0);
                }
            }
        }
    }
}

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

void pg_packed_product(
    const float *rows_packed, int rows, int in_features, const float *packed,
    int out_features, int panel_begin, int panel_end, float *y, int y_stride) {
#if PG_X86
    if (pg_kernels_vectorized()) {
        product_avx2(rows_packed, rows, in_features, packed, out_features, panel_begin,
            panel_end, y, y_stride);
        return;
    }
#endif
    product_portable(rows_packed, rows, in_features, packed, out_features, panel_begin,
        panel_end, y, y_stride);
}

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

void pg_scale(float *values, size_t count, float factor) {
    for (size_t i = 0; i < count; i++) values[i] *= factor;
}

void pg_add(float *x, const float *y, size_t count) {
    for (size_t i = 0; i < count; i++) x[i] += y[i];
}
