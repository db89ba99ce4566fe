// The 8-bit product of MT5Kernels.h, for the fast mode.
//
// Weights are quantized once, symmetrically per output feature, to [-127, 127]; input rows
// are quantized on every call, per row, to [0, 127] with a zero point (the range always holds
// 0). With 7-bit inputs, _mm256_maddubs_epi16's sum of two products stays within 2·127·127 =
// 32258 and never saturates, so every sum is exact integer arithmetic: the AVX2 and the
// portable code give the same bits, whatever the thread count or a row's company. The AVX2
// loop does 32 multiply-adds per instruction pair (maddubs, then madd against ones), against
// 8 for a fused multiply-add on floats: about twice the fp32 kernel's speed on this workload.

#include "MT5Kernels.h"
#include "panel_edge.h"

#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PG_X86 1
#else
#define PG_X86 0
#endif

#define PANEL PG_PANEL_WIDTH
#define BLOCK_ROWS 6
/// Inputs per group: one 32-bit broadcast of a row's 4 bytes feeds maddubs.
#define GROUP 4
/// Groups per pass over a panel: 16 outputs × 1024 inputs (16 KiB) stay in the L1 cache.
#define DEPTH_GROUPS 256
#define PANELS_PER_PASS 8

static int padded_inputs(int in_features) { return (in_features + GROUP - 1) / GROUP * GROUP; }

size_t pg_q8_packed_bytes(int out_features, int in_features) {
    size_t panels = ((size_t)out_features + PANEL - 1) / PANEL;
    return panels * PANEL * (size_t)padded_inputs(in_features);
}

/// Byte offset of weight (row, k) inside its panel: groups of 4 inputs, 64 bytes each, the
/// first 32 for outputs 0-7 of the panel (4 bytes each), the next 32 for outputs 8-15.
static size_t panel_offset(int j, int k) {
    return (size_t)(k / GROUP) * GROUP * PANEL + (size_t)(j / 8) * 32 + (size_t)(j % 8) * GROUP
        + (size_t)(k % GROUP);
}

static void store_row(
    const signed char *values, int in_features, int row, signed char *packed) {
    int inputs = padded_inputs(in_features);
    signed char *panel = packed + (size_t)(row / PANEL) * PANEL * inputs;
    for (int k = 0; k < inputs; k++) {
        panel[panel_offset(row % PANEL, k)] = k < in_features ? values[k] : 0;
    }
}

/// Scales too small to invert (a range below about 1e-37) become 1, and the clamps use
/// fminf/fmaxf, which also turn a NaN into a bound: every input gives defined integers, the same
/// on both paths.
///
/// Rounds to the nearest integer, ties to even (the default rounding mode, as nearbyintf):
/// one instruction where SSE4.1 or AVX is enabled, and the same value everywhere.
#define ROUND(v) __builtin_rintf(v)

/// The body of the weight quantization and the row quantization, compiled once for any CPU
/// and once for AVX2 (where the compiler vectorizes the loops); both give the same values.
#define QUANTIZE_WEIGHT_BODY                                                           \
    for (int row = 0; row < out_features; row++) {                                     \
        const float *source = w + (size_t)row * in_features;                           \
        float largest = 0;                                                             \
        for (int k = 0; k < in_features; k++) {                                        \
            float magnitude = fabsf(source[k]);                                        \
            largest = magnitude > largest ? magnitude : largest;                       \
        }                                                                              \
        float scale = largest > 0 ? largest / 127.0f : 1.0f;                           \
        float inverse = 1.0f / scale;                                                  \
        if (!(inverse <= FLT_MAX)) scale = inverse = 1.0f;                             \
        int sum = 0;                                                                   \
        for (int k = 0; k < in_features; k++) {                                        \
            float q = fmaxf(fminf(ROUND(source[k] * inverse), 127), -127);             \
            values[k] = (signed char)q;                                                \
            sum += values[k];                                                          \
        }                                                                              \
        scales[row] = scale;                                                           \
        sums[row] = sum;                                                               \
        store_row(values, in_features, row, packed);                                   \
    }

static void quantize_weight_portable(const float *w, int out_features, int in_features,
    signed char *packed, float *scales, int *sums, signed char *values) {
    QUANTIZE_WEIGHT_BODY
}

#if PG_X86
__attribute__((target("avx2,fma"))) static void quantize_weight_avx2(const float *w,
    int out_features, int in_features, signed char *packed, float *scales, int *sums,
    signed char *values) {
    QUANTIZE_WEIGHT_BODY
}
#endif

void pg_q8_quantize_weight(
    const float *w, int out_features, int in_features, signed char *packed, float *scales,
    int *sums) {
    memset(packed, 0, pg_q8_packed_bytes(out_features, in_features));
    signed char values[in_features > 0 ? in_features : 1];
#if PG_X86
    if (pg_kernels_vectorized()) {
        quantize_weight_avx2(w, out_features, in_features, packed, scales, sums, values);
        return;
    }
#endif
    quantize_weight_portable(w, out_features, in_features, packed, scales, sums, values);
}

void pg_q8_copy_rows(
    const signed char *packed, const float *scales, const int *sums, int in_features,
    const int *rows, int count, signed char *target, float *target_scales, int *target_sums) {
    memset(target, 0, pg_q8_packed_bytes(count, in_features));
    int inputs = padded_inputs(in_features);
    signed char values[in_features > 0 ? in_features : 1];
    for (int index = 0; index < count; index++) {
        int row = rows[index];
        const signed char *panel = packed + (size_t)(row / PANEL) * PANEL * inputs;
        for (int k = 0; k < in_features; k++) values[k] = panel[panel_offset(row % PANEL, k)];
        store_row(values, in_features, index, target);
        target_scales[index] = scales[row];
        target_sums[index] = sums[row];
    }
}

void pg_q8_dequantize_row(
    const signed char *packed, const float *scales, int in_features, int row, float *out) {
    const signed char *panel = packed + (size_t)(row / PANEL) * PANEL * padded_inputs(in_features);
    for (int k = 0; k < in_features; k++) {
        out[k] = (float)panel[panel_offset(row % PANEL, k)] * scales[row];
    }
}

size_t pg_q8_rows_bytes(int rows, int in_features) {
    return (size_t)((rows + BLOCK_ROWS - 1) / BLOCK_ROWS) * BLOCK_ROWS
        * (size_t)padded_inputs(in_features);
}

/// Quantizes rows [row_begin, row_end); `values` has room for one row.
#define QUANTIZE_ROWS_BODY                                                             \
    int inputs = padded_inputs(in_features);                                           \
    for (int row = row_begin; row < row_end; row++) {                                  \
        const float *source = x + (size_t)row * x_stride;                              \
        float low = 0, high = 0;                                                       \
        for (int k = 0; k < in_features; k++) {                                        \
            low = source[k] < low ? source[k] : low;                                   \
            high = source[k] > high ? source[k] : high;                                \
        }                                                                              \
        float scale = high > low ? (high - low) / 127.0f : 1.0f;                       \
        float inverse = 1.0f / scale;                                                  \
        if (!(inverse <= FLT_MAX)) scale = inverse = 1.0f;                             \
        float zero = fmaxf(fminf(ROUND(-low * inverse), 127), 0);                      \
        for (int k = 0; k < in_features; k++) {                                        \
            float q = fmaxf(fminf(ROUND(source[k] * inverse) + zero, 127), 0);         \
            values[k] = (unsigned char)q;                                              \
        }                                                                              \
        for (int k = in_features; k < inputs; k++) values[k] = 0;                      \
        unsigned char *block = rows_packed + (size_t)(row / BLOCK_ROWS) * BLOCK_ROWS * inputs \
            + (row % BLOCK_ROWS) * GROUP;                                              \
        for (int g = 0; g < inputs / GROUP; g++) {                                     \
            memcpy(block + (size_t)g * GROUP * BLOCK_ROWS, values + g * GROUP, GROUP); \
        }                                                                              \
        row_scales[row] = scale;                                                       \
        row_zeros[row] = (int)zero;                                                    \
    }

static void quantize_rows_portable(const float *x, int row_begin, int row_end,
    int in_features, int x_stride, unsigned char *rows_packed, float *row_scales,
    int *row_zeros, unsigned char *values) {
    QUANTIZE_ROWS_BODY
}

#if PG_X86
__attribute__((target("avx2,fma"))) static void quantize_rows_avx2(const float *x,
    int row_begin, int row_end, int in_features, int x_stride, unsigned char *rows_packed,
    float *row_scales, int *row_zeros, unsigned char *values) {
    QUANTIZE_ROWS_BODY
}
#endif

void pg_q8_quantize_rows(
    const float *x, int row_begin, int row_end, int in_features, int x_stride,
    unsigned char *rows_packed, float *row_scales, int *row_zeros) {
    unsigned char values[padded_inputs(in_features) > 0 ? padded_inputs(in_features) : 1];
#if PG_X86
    if (pg_kernels_vectorized()) {
        quantize_rows_avx2(x, row_begin, row_end, in_features, x_stride, rows_packed,
            row_scales, row_zeros, values);
        return;
    }
#endif
    quantize_rows_portable(x, row_begin, row_end, in_features, x_stride, rows_packed,
        row_scales, row_zeros, values);
}

/// The float value of one output from its integer sum: the same expression, evaluated in the
/// same order, in the portable and the vectorized code.
static inline float finish(int sum, int zero, int weight_sum, float row_scale, float scale) {
    return (float)(sum - zero * weight_sum) * row_scale * scale;
}

// MARK: - Portable version

static void product_portable(
    const unsigned char *rows_packed, const float *row_scales, const int *row_zeros, int rows,
    int in_features, const signed char *packed, const float *scales, const int *sums,
    int out_features, int panel_begin, int panel_end, float *y, int y_stride) {
    int inputs = padded_inputs(in_features);
    int groups = inputs / GROUP;
    for (int p = panel_begin; p < panel_end; p++) {
        const signed char *panel = packed + (size_t)p * PANEL * inputs;
        int columns = out_features - p * PANEL < PANEL ? out_features - p * PANEL : PANEL;
        for (int r = 0; r < rows; r++) {
            const unsigned char *a = rows_packed
                + (size_t)(r / BLOCK_ROWS) * BLOCK_ROWS * inputs + (r % BLOCK_ROWS) * GROUP;
            const signed char *w = panel;
            // Fixed-size inner loops in the panel's own order, which compilers vectorize.
            int total[PANEL] = {0};
            for (int g = 0; g < groups; g++) {
                for (int j = 0; j < PANEL; j++) {
                    for (int t = 0; t < GROUP; t++) {
                        total[j] += (int)a[t] * (int)w[(j / 8) * 32 + (j % 8) * GROUP + t];
                    }
                }
                a += GROUP * BLOCK_ROWS;
                w += GROUP * PANEL;
            }
            for (int j = 0; j < columns; j++) {
                int n = p * PANEL + j;
                y[(size_t)r * y_stride + n] =
                    finish(total[j], row_zeros[r], sums[n], row_scales[r], scales[n]);
            }
        }
    }
}

// MARK: - AVX2

#if PG_X86
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/// Integer sums of up to 6 rows × 16 outputs over `groups` groups of 4 inputs. Between passes
/// the partial sums wait in y as integers; the last pass turns them into floats.
AVX2_INLINE void block_product(
    int rows, const unsigned char *a, const signed char *w, int groups, float *y,
    int y_stride, int columns, int first, int last, const float *row_scales,
    const int *row_zeros, const float *scales, const int *sums) {
    __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00, s20 = s00;
    __m256i s21 = s00, s30 = s00, s31 = s00, s40 = s00, s41 = s00, s50 = s00, s51 = s00;
    float edge[BLOCK_ROWS * PANEL];
    int out_stride;
    float *out = pg_edge_begin(y, y_stride, rows, columns, first, edge, &out_stride);
    if (!first) {
#define LOAD(r)                                                                        \
    if (rows > r) {                                                                    \
        s##r##0 = _mm256_loadu_si256((const __m256i *)(out + (size_t)r * out_stride)); \
        s##r##1 = _mm256_loadu_si256((const __m256i *)(out + (size_t)r * out_stride + 8)); \
    }
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5)
#undef LOAD
    }
    const __m256i ones = _mm256_set1_epi16(1);
#pragma clang loop unroll_count(2)
    for (int g = 0; g < groups; g++) {
        __m256i w0 = _mm256_load_si256((const __m256i *)w);
        __m256i w1 = _mm256_load_si256((const __m256i *)(w + 32));
#define STEP(r)                                                                        \
    if (rows > r) {                                                                    \
        int bytes;                                                                     \
        memcpy(&bytes, a + r * GROUP, sizeof bytes);                                   \
        __m256i x = _mm256_set1_epi32(bytes);                                          \
        s##r##0 = _mm256_add_epi32(s##r##0,                                            \
            _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones));                     \
        s##r##1 = _mm256_add_epi32(s##r##1,                                            \
            _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones));                     \
    }
        STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5)
#undef STEP
        a += BLOCK_ROWS * GROUP;
        w += PANEL * GROUP;
    }
    if (last) {
        __m256 scale0 = _mm256_loadu_ps(scales), scale1 = _mm256_loadu_ps(scales + 8);
        __m256i sum0 = _mm256_loadu_si256((const __m256i *)sums);
        __m256i sum1 = _mm256_loadu_si256((const __m256i *)(sums + 8));
#define FINISH(r)                                                                      \
    if (rows > r) {                                                                    \
        __m256i zero = _mm256_set1_epi32(row_zeros[r]);                                \
        __m256 row_scale = _mm256_set1_ps(row_scales[r]);                              \
        __m256 v0 = _mm256_cvtepi32_ps(                                                \
            _mm256_sub_epi32(s##r##0, _mm256_mullo_epi32(zero, sum0)));                \
        __m256 v1 = _mm256_cvtepi32_ps(                                                \
            _mm256_sub_epi32(s##r##1, _mm256_mullo_epi32(zero, sum1)));                \
        _mm256_storeu_ps(out + (size_t)r * out_stride,                                 \
            _mm256_mul_ps(_mm256_mul_ps(v0, row_scale), scale0));                      \
        _mm256_storeu_ps(out + (size_t)r * out_stride + 8,                             \
            _mm256_mul_ps(_mm256_mul_ps(v1, row_scale), scale1));                      \
    }
        FINISH(0) FINISH(1) FINISH(2) FINISH(3) FINISH(4) FINISH(5)
#undef FINISH
    } else {
#define STORE(r)                                                                       \
    if (rows > r) {                                                                    \
        _mm256_storeu_si256((__m256i *)(out + (size_t)r * out_stride), s##r##0);       \
        _mm256_storeu_si256((__m256i *)(out + (size_t)r * out_stride + 8), s##r##1);   \
    }
        STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
    }
    pg_edge_end(y, y_stride, rows, columns, edge);
}

#define BLOCK_VARIANT(n)                                                               \
    AVX2 static void block_product_##n(const unsigned char *a, const signed char *w,   \
        int groups, float *y, int y_stride, int columns, int first, int last,          \
        const float *row_scales, const int *row_zeros, const float *scales,            \
        const int *sums) {                                                             \
        block_product(n, a, w, groups, y, y_stride, columns, first, last, row_scales,  \
            row_zeros, scales, sums);                                                  \
    }
BLOCK_VARIANT(1) BLOCK_VARIANT(2) BLOCK_VARIANT(3) BLOCK_VARIANT(4) BLOCK_VARIANT(5)
BLOCK_VARIANT(6)
#undef BLOCK_VARIANT

typedef void (*block_function)(const unsigned char *, const signed char *, int, float *, int,
    int, int, int, const float *, const int *, const float *, const int *);
static const block_function block_functions[BLOCK_ROWS + 1] = {
    0, block_product_1, block_product_2, block_product_3, block_product_4, block_product_5,
    block_product_6};

AVX2 static void product_avx2(
    const unsigned char *rows_packed, const float *row_scales, const int *row_zeros, int rows,
    int in_features, const signed char *packed, const float *scales, const int *sums,
    int out_features, int panel_begin, int panel_end, float *y, int y_stride) {
    int inputs = padded_inputs(in_features);
    int groups = inputs / GROUP;
    int blocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    for (int group = panel_begin; group < panel_end; group += PANELS_PER_PASS) {
        int group_end = group + PANELS_PER_PASS < panel_end ? group + PANELS_PER_PASS
                                                            : panel_end;
        for (int start = 0; start < groups; start += DEPTH_GROUPS) {
            int depth = groups - start < DEPTH_GROUPS ? groups - start : DEPTH_GROUPS;
            for (int p = group; p < group_end; p++) {
                const signed char *panel =
                    packed + (size_t)p * PANEL * inputs + (size_t)start * GROUP * PANEL;
                int columns = out_features - p * PANEL < PANEL ? out_features - p * PANEL
                                                               : PANEL;
                // Scales and sums are read 16 at a time: the last panel's edge reads a
                // padded copy.
                float edge_scales[PANEL] = {0};
                int edge_sums[PANEL] = {0};
                const float *panel_scales = scales + p * PANEL;
                const int *panel_sums = sums + p * PANEL;
                if (columns < PANEL) {
                    memcpy(edge_scales, panel_scales, columns * sizeof(float));
                    memcpy(edge_sums, panel_sums, columns * sizeof(int));
                    panel_scales = edge_scales;
                    panel_sums = edge_sums;
                }
                for (int b = 0; b < blocks; b++) {
                    int count = rows - b * BLOCK_ROWS < BLOCK_ROWS ? rows - b * BLOCK_ROWS
                                                                   : BLOCK_ROWS;
                    block_functions[count](
                        rows_packed + ((size_t)b * inputs + (size_t)start * GROUP) * BLOCK_ROWS,
                        panel, depth, y + (size_t)b * BLOCK_ROWS * y_stride + p * PANEL,
                        y_stride, columns, start == 0, start + depth == groups,
                        row_scales + b * BLOCK_ROWS, row_zeros + b * BLOCK_ROWS, panel_scales,
                        panel_sums);
                }
            }
        }
    }
}
#endif

// MARK: - Entry point

void pg_q8_product(
    const unsigned char *rows_packed, const float *row_scales, const int *row_zeros, int rows,
    int in_features, const signed char *packed, const float *scales, const int *sums,
    int out_features, int panel_begin, int panel_end, float *y, int y_stride) {
#if PG_X86
    if (pg_kernels_vectorized()) {
        product_avx2(rows_packed, row_scales, row_zeros, rows, in_features, packed, scales,
            sums, out_features, panel_begin, panel_end, y, y_stride);
        return;
    }
#endif
    product_portable(rows_packed, row_scales, row_zeros, rows, in_features, packed, scales,
        sums, out_features, panel_begin, panel_end, y, y_stride);
}
