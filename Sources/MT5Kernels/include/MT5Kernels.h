// The innermost loops of the mT5 core, written for AVX2 and FMA: a matrix product over weights
// packed once at load time, and the exponential behind softmax and GELU. Every function has a
// portable version; pg_kernels_vectorized() says which ones run.
#ifndef MT5_KERNELS_H
#define MT5_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU has AVX2 and FMA, so the vectorized code runs; 0 otherwise.
int pg_kernels_vectorized(void);

/// Turns the vectorized code off (0) or back on where the CPU has it (1): for tests of the
/// portable code.
void pg_kernels_use_vectorized(int enabled);

/// Output features per packed panel.
#define PG_PANEL_WIDTH 16

/// Floats needed to pack a weight of [out_features, in_features].
size_t pg_packed_count(int out_features, int in_features);

/// Packs w[out_features, in_features] (row-major, as nn.Linear stores it) into panels of 16
/// output features: panel p holds, for every input feature k, the 16 weights
/// w[16p + j, k] (j = 0..15) side by side; rows past out_features are zero.
void pg_pack_weight(const float *w, int out_features, int in_features, float *packed);

/// Row `row` of the weight, read back from its packed form into out[in_features].
void pg_unpack_row(const float *packed, int in_features, int row, float *out);

/// Floats needed to regroup `rows` input rows for pg_packed_product.
size_t pg_packed_rows_count(int rows, int in_features);

/// Regroups x[rows, in_features] (row stride x_stride) in blocks of 6 rows, input k of the 6
/// side by side, so that the product reads them in order; rows past the end are zero.
void pg_pack_rows(const float *x, int rows, int in_features, int x_stride, float *rows_packed);

/// y[r, 16p + j] = Σ_k x[r, k] · w[16p + j, k] for r < rows and panels p in
/// [panel_begin, panel_end), clipped at out_features; x comes regrouped by pg_pack_rows, w
/// packed by pg_pack_weight, and y has row stride y_stride. Each output is one fused
/// multiply-add chain in k order, so its value does not depend on rows, its row's place, or
/// the panels asked for.
void pg_packed_product(
    const float *rows_packed, int rows, int in_features, const float *packed,
    int out_features, int panel_begin, int panel_end, float *y, int y_stride);

/// Bytes of a weight of [out_features, in_features] quantized to 8 bits and packed: panels of
/// 16 output features, inputs padded to a multiple of 4 (see product_int8.c).
size_t pg_q8_packed_bytes(int out_features, int in_features);

/// Quantizes w[out_features, in_features] per output feature: q = round(w · (1 / scale)) in
/// [-127, 127] with scale = max |w| / 127; scales[out] receives the scales, sums[out] the sum
/// of each feature's q, and `packed` (32-byte aligned, as the product loads it) the values in
/// the 8-bit panel layout.
void pg_q8_quantize_weight(
    const float *w, int out_features, int in_features, signed char *packed, float *scales,
    int *sums);

/// Copies the listed rows of a quantized weight, in order, into a new quantized weight.
void pg_q8_copy_rows(
    const signed char *packed, const float *scales, const int *sums, int in_features,
    const int *rows, int count, signed char *target, float *target_scales, int *target_sums);

/// Row `row` of a quantized weight as floats (q · scale) into out[in_features].
void pg_q8_dequantize_row(
    const signed char *packed, const float *scales, int in_features, int row, float *out);

/// Bytes needed to quantize `rows` input rows for pg_q8_product.
size_t pg_q8_rows_bytes(int rows, int in_features);

/// Quantizes rows [row_begin, row_end) of x[rows, in_features] (row stride x_stride) to
/// [0, 127]: x ≈ row_scales[r] · (q − row_zeros[r]), over a range that always holds 0; the
/// bytes are regrouped in blocks of 6 rows for the product (padding inputs are 0). Calls for
/// disjoint ranges of whole blocks may run at once.
void pg_q8_quantize_rows(
    const float *x, int row_begin, int row_end, int in_features, int x_stride,
    unsigned char *rows_packed, float *row_scales, int *row_zeros);

/// The 8-bit counterpart of pg_packed_product: y[r, n] = (Σ_k qx[r, k] · qw[n, k] −
/// row_zeros[r] · sums[n]) · row_scales[r] · scales[n], the sum in exact integer arithmetic,
/// for panels [panel_begin, panel_end). in_features must be in 1...65535 (no overflow), and
/// `packed` 32-byte aligned.
void pg_q8_product(
    const unsigned char *rows_packed, const float *row_scales, const int *row_zeros, int rows,
    int in_features, const signed char *packed, const float *scales, const int *sums,
    int out_features, int panel_begin, int panel_end, float *y, int y_stride);

/// A task of pg_run_tasks: called with the caller's context and the task's number.
typedef void (*pg_task_function)(void *context, int index);

/// Runs function(context, i) for i in [0, count) on up to `threads` threads (the caller and
/// pooled workers), each taking the next number as soon as it is free; returns when all are
/// done. Tasks must not call pg_run_tasks. Calls from several threads at once are safe: the
/// pool serves one, the others run their tasks on their own thread.
void pg_run_tasks(int threads, int count, pg_task_function function, void *context);

/// values[i] = gelu_new(values[i]) · gates[i]: 0.5·v·(1 + tanh(√(2/π)·(v + 0.044715·v³))).
void pg_gelu_gate(float *values, const float *gates, size_t count);

/// The largest of values[0..count); -infinity when count is 0.
float pg_maximum(const float *values, size_t count);

/// Σ exp(values[i] − shift), summed in double.
double pg_exp_sum(const float *values, size_t count, float shift);

/// values[i] = exp(values[i] − shift) in place; returns their sum, in double.
double pg_exp_in_place(float *values, size_t count, float shift);

#ifdef __cplusplus
}
#endif

#endif
