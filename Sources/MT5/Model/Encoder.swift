import CBLAS
import Foundation

/// A passage after the encoder: what every decoder step of its sequences attends to.
///
/// Cross-attention keys and values are computed once here and shared, not copied, by all the
/// passage's beams or samples. They sit in buffers that the passages of one encoder batch
/// share, at this passage's rows.
final class EncodedPassage: @unchecked Sendable {
    /// Input tokens, `</s>` last.
    let length: Int
    /// Per decoder layer, [batch rows, heads·d_kv]: EncDecAttention k and v of the encoder
    /// output, this passage's rows starting at `firstRow`.
    private let keys: [FloatBuffer]
    private let values: [FloatBuffer]
    private let firstRow: Int
    private let rowSize: Int

    init(length: Int, keys: [FloatBuffer], values: [FloatBuffer], firstRow: Int, rowSize: Int) {
        self.length = length
        self.keys = keys
        self.values = values
        self.firstRow = firstRow
        self.rowSize = rowSize
    }

    /// EncDecAttention k(encoder output) of decoder layer `layer`: [length, heads·d_kv].
    func crossKeys(_ layer: Int) -> UnsafePointer<Float> {
        UnsafePointer(keys[layer].pointer + firstRow * rowSize)
    }

    /// EncDecAttention v(encoder output) of decoder layer `layer`: [length, heads·d_kv].
    func crossValues(_ layer: Int) -> UnsafePointer<Float> {
        UnsafePointer(values[layer].pointer + firstRow * rowSize)
    }
}

/// The encoder stack of HF transformers' T5Stack over unpadded passages.
///
/// The passages of a batch run through every linear layer together, their rows stacked (a
/// row's result does not depend on its neighbours); attention runs per passage and head.
struct Encoder {
    let weights: MT5Weights
    let threads: Int

    /// Runs the encoder over one passage's tokens.
    func encode(_ tokens: [Int32]) -> EncodedPassage { encode(batch: [tokens])[0] }

    /// Runs the encoder over each passage's tokens and projects its output for every decoder
    /// layer's cross-attention.
    func encode(batch: [[Int32]]) -> [EncodedPassage] {
        let config = weights.config
        let lengths = batch.map(\.count)
        let firstRows = lengths.reduce(into: [0]) { $0.append($0.last! + $1) }
        let rows = firstRows.last!
        let model = config.modelDimension
        let inner = config.attentionInnerDimension
        let heads = config.headCount
        let epsilon = config.layerNormEpsilon
        let hidden = FloatBuffer(count: rows * model)  // [rows, d_model]
        for (row, token) in batch.joined().enumerated() {
            (hidden.pointer + row * model).update(
                from: weights.embedding.baseAddress! + Int(token) * model, count: model)
        }

        // Per passage [heads, q, k], and its place in the scores scratch.
        let biases = lengths.map { weights.encoderRelativeBias.encoderBias(length: $0) }
        let scoreStarts = lengths.reduce(into: [0]) { $0.append($0.last! + heads * $1 * $1) }
        let normed = FloatBuffer(count: rows * model)
        let queries = FloatBuffer(count: rows * inner)
        let keys = FloatBuffer(count: rows * inner)
        let values = FloatBuffer(count: rows * inner)
        let context = FloatBuffer(count: rows * inner)
        let scores = FloatBuffer(count: scoreStarts.last!)
        let projected = FloatBuffer(count: rows * model)
        let feedForward = FeedForwardScratch(capacity: rows, config: config)

        for layer in weights.encoderLayers {
            rmsNorm(hidden.pointer, rows: rows, dimension: model,
                weight: layer.selfAttentionNorm.baseAddress!, epsilon: epsilon,
                into: normed.pointer)
            let attention = layer.selfAttention
            attention.projectQueriesKeysValues(
                normed.pointer, rows: rows, config: config, queries: queries, keys: keys,
                values: values, threads: threads)
            parallelTasks(batch.count * heads, threads: threads) { task in
                let passage = task / heads
                let head = task % heads
                let length = lengths[passage]
                let offset = firstRows[passage] * inner
                biases[passage].withUnsafeBufferPointer { bias in
                    attend(
                        head: head, length: length, queries: queries.pointer + offset,
                        keys: keys.pointer + offset, values: values.pointer + offset,
                        bias: bias.baseAddress!,
                        scores: scores.pointer + scoreStarts[passage] + head * length * length,
                        into: context.pointer + offset)
                }
            }
            attention.output.apply(
                context.pointer, rows: rows, into: projected.pointer, threads: threads)
            addInPlace(hidden.pointer, projected.pointer, count: rows * model)

            rmsNorm(hidden.pointer, rows: rows, dimension: model,
                weight: layer.feedForwardNorm.baseAddress!, epsilon: epsilon,
                into: normed.pointer)
            feedForward.apply(
                layer.feedForward, rows: rows, input: normed.pointer,
                into: projected.pointer, threads: threads)
            addInPlace(hidden.pointer, projected.pointer, count: rows * model)
        }
        rmsNorm(hidden.pointer, rows: rows, dimension: model,
            weight: weights.encoderFinalNorm.baseAddress!, epsilon: epsilon,
            into: hidden.pointer)

        var crossKeys: [FloatBuffer] = []
        var crossValues: [FloatBuffer] = []
        for layer in weights.decoderLayers {
            let layerKeys = FloatBuffer(count: rows * inner, zeroed: false)
            let layerValues = FloatBuffer(count: rows * inner, zeroed: false)
            layer.crossAttention.key.apply(
                hidden.pointer, rows: rows, into: layerKeys.pointer, threads: threads)
            layer.crossAttention.value.apply(
                hidden.pointer, rows: rows, into: layerValues.pointer, threads: threads)
            crossKeys.append(layerKeys)
            crossValues.append(layerValues)
        }
        return lengths.indices.map { passage in
            EncodedPassage(
                length: lengths[passage], keys: crossKeys, values: crossValues,
                firstRow: firstRows[passage], rowSize: inner)
        }
    }

    /// One head of bidirectional self-attention over one passage. T5 does not scale by
    /// 1/√d_kv:
    ///   scores[q, k] = Q_h[q] · K_h[k] + bias[h, q, k];  context_h = softmax(scores) · V_h.
    /// queries, keys, values and context are the passage's [length, heads·d_kv]; scores is
    /// [length, length].
    private func attend(
        head: Int, length: Int, queries: UnsafePointer<Float>, keys: UnsafePointer<Float>,
        values: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        scores: UnsafeMutablePointer<Float>, into context: UnsafeMutablePointer<Float>
    ) {
        let inner = weights.config.attentionInnerDimension
        let headDimension = weights.config.keyValueDimension
        let offset = head * headDimension
        scores.update(from: bias + head * length * length, count: length * length)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(length), Int32(length),
            Int32(headDimension), 1, queries + offset, Int32(inner),
            keys + offset, Int32(inner), 1, scores, Int32(length))
        for query in 0..<length {
            softmaxInPlace(scores + query * length, count: length)
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(length), Int32(headDimension),
            Int32(length), 1, scores, Int32(length), values + offset, Int32(inner), 0,
            context + offset, Int32(inner))
    }
}

/// x += y over `count` floats.
@inline(__always)
func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { x[i] += y[i] }
}

/// Scratch memory for a feed-forward block over at most `capacity` rows.
struct FeedForwardScratch {
    let capacity: Int
    let config: MT5Config
    let activations: FloatBuffer  // [rows, d_ff]
    let gates: FloatBuffer  // [rows, d_ff]

    init(capacity: Int, config: MT5Config) {
        self.capacity = capacity
        self.config = config
        activations = FloatBuffer(count: capacity * config.feedForwardDimension)
        gates = FloatBuffer(count: capacity * config.feedForwardDimension)
    }

    /// output[rows, d_model] = wo(gelu_new(wi_0 x) · wi_1 x), or wo(relu(wi x)).
    func apply(
        _ weights: FeedForwardWeights, rows: Int, input: UnsafePointer<Float>,
        into output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        precondition(rows <= capacity)
        let hidden = config.feedForwardDimension
        let count = rows * hidden
        weights.input.apply(input, rows: rows, into: activations.pointer, threads: threads)
        if let gate = weights.gate {
            gate.apply(input, rows: rows, into: gates.pointer, threads: threads)
            let activations = activations.pointer
            let gates = gates.pointer
            parallelFor(threads, threads: threads) { block in
                let start = count * block / threads
                let end = count * (block + 1) / threads
                geluGate(activations + start, gates + start, count: end - start)
            }
        } else {
            for i in 0..<count { activations.pointer[i] = max(activations.pointer[i], 0) }
        }
        weights.output.apply(activations.pointer, rows: rows, into: output, threads: threads)
    }
}
