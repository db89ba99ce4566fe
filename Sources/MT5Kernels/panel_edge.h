// Staging for a block of outputs at a weight's edge, shared by the float and the 8-bit
// product: a panel is 16 outputs wide, but the last one may cover fewer columns of y. There
// the block works on a 16-wide copy, so that its full-width loads and stores stay in bounds.
#ifndef PG_PANEL_EDGE_H
#define PG_PANEL_EDGE_H

#include <string.h>

#include "MT5Kernels.h"

/// Where a block of `rows` rows reads and writes its 16 outputs: y itself, or, when only
/// `columns` < 16 exist, `edge` (rows × 16 floats, zero past the columns), which receives
/// y's values first when the sums continue (`first` is 0). Sets *stride to the row stride.
static inline float *pg_edge_begin(
    float *y, int y_stride, int rows, int columns, int first, float *edge, int *stride) {
    if (columns >= PG_PANEL_WIDTH) {
        *stride = y_stride;
        return y;
    }
    memset(edge, 0, (size_t)rows * PG_PANEL_WIDTH * sizeof(float));
    if (!first) {
        for (int r = 0; r < rows; r++) {
            memcpy(edge + r * PG_PANEL_WIDTH, y + (size_t)r * y_stride, columns * sizeof(float));
        }
    }
    *stride = PG_PANEL_WIDTH;
    return edge;
}

/// Copies a staged edge block's columns back into y (nothing when y was used directly).
static inline void pg_edge_end(
    float *y, int y_stride, int rows, int columns, const float *edge) {
    if (columns >= PG_PANEL_WIDTH) return;
    for (int r = 0; r < rows; r++) {
        memcpy(y + (size_t)r * y_stride, edge + r * PG_PANEL_WIDTH, columns * sizeof(float));
    }
}

#endif
