// The matrix product of MT5Kernels.h, with the switch between its AVX2 and portable code.
// The vectorized functions are compiled for AVX2 and FMA by a target attribute and chosen at
// run time, so the library still runs on CPUs without them.
//
// The product follows the register-blocking scheme of BLIS and OpenBLAS (Goto and van de
// Geijn, "Anatomy of High-Performance Matrix Multiplication", 2008): a 6 × 16 block of
// outputs lives in twelve registers while k runs, the weights are read from panels packed at
// load time, and the inputs are regrouped once per call so that each block of 6 rows reads
// them in order. Packing the weights once is the point: a BLAS packs them again on every
// call, which cost a decoder step about a seventh of its time.

#include "MT5Kernels.h"
#include "panel_edge.h"

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
    int out_stride;
    float *out = pg_edge_begin(y, y_stride, rows, columns, first, edge, &out_stride);
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
    pg_edge_end(y, y_stride, rows, columns, edge);
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
