import CBLAS
import Foundation
import MT5Kernels

// The numeric building blocks of HF transformers' T5 (modeling_t5.py), in fp32; the loops
// over whole rows run in MT5Kernels (AVX2) where the CPU allows. Buffers are row-major; each
// function states the layout it expects.

/// T5's layer norm: x / sqrt(mean(x²) + ε) · w, with no mean subtraction and no bias.
/// x and y are [rows, dimension]; they may be the same buffer.
func rmsNorm(
    _ x: UnsafePointer<Float>, rows: Int, dimension: Int, weight: UnsafePointer<Float>,
    epsilon: Float, into y: UnsafeMutablePointer<Float>
) {
    for row in 0..<rows {
        let input = x + row * dimension
        let output = y + row * dimension
        var sumOfSquares = 0.0
        for i in 0..<dimension { sumOfSquares += Double(input[i] * input[i]) }
        let variance = Float(sumOfSquares / Double(dimension))
        let scale = 1 / (variance + epsilon).squareRoot()
        for i in 0..<dimension { output[i] = weight[i] * (input[i] * scale) }
    }
}

/// values[i] = gelu_new(values[i]) · gates[i], gelu_new being the tanh approximation
/// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func geluGate(_ values: UnsafeMutablePointer<Float>, _ gates: UnsafePointer<Float>, count: Int) {
    pg_gelu_gate(values, gates, count)
}

/// Softmax of one row in place; -infinity entries get probability 0.
func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
    let maximum = pg_maximum(row, count)
    guard maximum > -Float.infinity else { return }
    // Sums run in double: over a 250k vocabulary a float sum drifts by ~1e-4.
    let sum = pg_exp_in_place(row, count, maximum)
    let inverse = Float(1 / sum)
    for i in 0..<count { row[i] *= inverse }
}

/// log_softmax of one row into `output`: x − max − log Σ exp(x − max).
func logSoftmax(_ row: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>) {
    let shift = logSoftmaxShift(row, count: count)
    for i in 0..<count { output[i] = row[i] - shift }
}

/// What log_softmax subtracts from every entry: max + log Σ exp(x − max), summed in double.
func logSoftmaxShift(_ row: UnsafePointer<Float>, count: Int) -> Float {
    let maximum = pg_maximum(row, count)
    return maximum + Float(log(pg_exp_sum(row, count, maximum)))
}

/// log Σ exp(x) of one row, summed in double.
func logSumExp(_ row: UnsafePointer<Float>, count: Int) -> Double {
    let maximum = pg_maximum(row, count)
    return Double(maximum) + log(pg_exp_sum(row, count, maximum))
}

/// Makes OpenBLAS single-threaded: PairGen splits work across threads itself.
func useSingleThreadedBLAS() {
    openblas_set_num_threads(1)
}
