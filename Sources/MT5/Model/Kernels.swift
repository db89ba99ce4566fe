import CBLAS
import Foundation

// The numeric building blocks of HF transformers' T5 (modeling_t5.py), in fp32 on OpenBLAS.
// Buffers are row-major; each function states the layout it expects.

/// y[rows, out] = x[rows, in] · W[out, in]ᵀ — a bias-free `nn.Linear`.
///
/// OpenBLAS runs single-threaded (see useSingleThreadedBLAS); the output features are cut into
/// blocks whose edges depend only on the layer's width, shared out among the threads, so that
/// every output element's arithmetic is the same whatever the thread count.
func linear(
    _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
    weight: UnsafePointer<Float>, outFeatures: Int, into y: UnsafeMutablePointer<Float>,
    threads: Int
) {
    let width = linearBlockWidth(outFeatures)
    let blocks = (outFeatures + width - 1) / width
    parallelFor(blocks, threads: threads) { block in
        let start = block * width
        let count = min(width, outFeatures - start)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(count),
            Int32(inFeatures), 1, x, Int32(inFeatures), weight + start * inFeatures,
            Int32(inFeatures), 0, y + start, Int32(outFeatures))
    }
}

/// Output columns per block of `linear`: 384 for the model's own layers, a 32nd of the
/// vocabulary projection (every block packs the input again, so few large ones are cheaper).
func linearBlockWidth(_ outFeatures: Int) -> Int {
    outFeatures > 16_384 ? (outFeatures / 32 + 15) / 16 * 16 : 384
}

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

/// gelu_new, the tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
@inline(__always)
func geluTanh(_ x: Float) -> Float {
    let c: Float = 0.7978845608028654  // √(2/π)
    let u = c * (x + 0.044715 * x * x * x)
    // tanh rounds to ±1 in float32 beyond |u| = 10; libm's tanhf would take its slow
    // overflow path there, which random and real activations both reach often.
    let t = abs(u) >= 10 ? (u > 0 ? 1 : -1) : tanhf(u)
    return 0.5 * x * (1 + t)
}

/// Softmax of one row in place; -infinity entries get probability 0.
func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
    var maximum = -Float.infinity
    for i in 0..<count where row[i] > maximum { maximum = row[i] }
    guard maximum > -Float.infinity else { return }
    // Sums run in double: over a 250k vocabulary a float sum drifts by ~1e-4.
    var sum = 0.0
    for i in 0..<count {
        let e = expf(row[i] - maximum)
        row[i] = e
        sum += Double(e)
    }
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
    var maximum = -Float.infinity
    for i in 0..<count where row[i] > maximum { maximum = row[i] }
    var sum = 0.0
    for i in 0..<count { sum += Double(expf(row[i] - maximum)) }
    return maximum + Float(log(sum))
}

/// log Σ exp(x) of one row, summed in double.
func logSumExp(_ row: UnsafePointer<Float>, count: Int) -> Double {
    var maximum = -Float.infinity
    for i in 0..<count where row[i] > maximum { maximum = row[i] }
    var sum = 0.0
    for i in 0..<count { sum += Double(expf(row[i] - maximum)) }
    return Double(maximum) + log(sum)
}

/// Makes OpenBLAS single-threaded: PairGen splits work across threads itself.
func useSingleThreadedBLAS() {
    openblas_set_num_threads(1)
}
