import CBLAS
import Foundation
import MT5Kernels

/// A passage after the encoder: what every decoder step of its sequences attends to.
///
/// Cross-attention keys and values are computed once here and shared, not copied, by all the
/// passage's beams or samples.
final class EncodedPassage: @unchecked Sendable {
    /// Input tokens, `</s>` last.
    let length: Int
    /// Per decoder layer, EncDecAttention k(encoder output): [length, heads·d_kv].
    let crossKeys: [FloatBuffer]
    /// Per decoder layer, EncDecAttention v(encoder output): [length, heads·d_kv].
    let crossValues: [FloatBuffer]

    init(length: Int, crossKeys: [FloatBuffer], crossValues: [FloatBuffer]) {
        self.length = length
        self.crossKeys = crossKeys
        self.crossValues = crossValues
    }
}

/// The encoder stack of HF transformers' T5Stack, for one unpadded passage.
struct Encoder {
    let weights: MT5Weights
    let threads: Int

    /// Runs the encoder over `tokens` and projects its output for every decoder layer's
    /// cross-attention.
    func encode(_ tokens: [Int32]) -> EncodedPassage {
        let config = weights.config
        let length = tokens.count
        let model = config.modelDimension
        let inner = config.attentionInnerDimension
        let heads = config.headCount
        let epsilon = config.layerNormEpsilon
        let hidden = FloatBuffer(count: length * model)  // [length, d_model]
        for (row, token) in tokens.enumerated() {
            (hidden.pointer + row * model).update(
                from: weights.embedding.baseAddress! + Int(token) * model, count: model)
        }

        let bias = weights.encoderRelativeBias.encoderBias(length: length)  // [heads, q, k]
        let normed = FloatBuffer(count: length * model)
        let queries = FloatBuffer(count: length * inner)
        let keys = FloatBuffer(count: length * inner)
        let values = FloatBuffer(count: length * inner)
        let context = FloatBuffer(count: length * inner)
        let scores = FloatBuffer(count: heads * length * length)  // [heads, q, k]
        let projected = FloatBuffer(count: length * model)
        let feedForward = FeedForwardScratch(capacity: length, config: config)

        for layer in weights.encoderLayers {
            rmsNorm(hidden.pointer, rows: length, dimension: model,
                weight: layer.selfAttentionNorm.baseAddress!, epsilon: epsilon,
                into: normed.pointer)
            let attention = layer.selfAttention
            attention.projectQueriesKeysValues(
                normed.pointer, rows: length, config: config, queries: queries, keys: keys,
                values: values, threads: threads)
            bias.withUnsafeBufferPointer { bias in
                parallelFor(heads, threads: threads) { head in
                    attend(head: head, length: length, queries: queries, keys: keys,
                        values: values, bias: bias.baseAddress!,
                        scores: scores.pointer + head * length * length, into: context)
                }
            }
            attention.output.apply(
                context.pointer, rows: length, into: projected.pointer, threads: threads)
            addInPlace(hidden.pointer, projected.pointer, count: length * model)

            rmsNorm(hidden.pointer, rows: length, dimension: model,
                weight: layer.feedForwardNorm.baseAddress!, epsilon: epsilon,
                into: normed.pointer)
            feedForward.apply(
                layer.feedForward, rows: length, input: normed.pointer,
                into: projected.pointer, threads: threads)
            addInPlace(hidden.pointer, projected.pointer, count: length * model)
        }
        rmsNorm(hidden.pointer, rows: length, dimension: model,
            weight: weights.encoderFinalNorm.baseAddress!, epsilon: epsilon,
            into: hidden.pointer)

        var crossKeys: [FloatBuffer] = []
        var crossValues: [FloatBuffer] = []
        for layer in weights.decoderLayers {
            let layerKeys = FloatBuffer(count: length * inner)
            let layerValues = FloatBuffer(count: length * inner)
            layer.crossAttention.key.apply(
                hidden.pointer, rows: length, into: layerKeys.pointer, threads: threads)
            layer.crossAttention.value.apply(
                hidden.pointer, rows: length, into: layerValues.pointer, threads: threads)
            crossKeys.append(layerKeys)
            crossValues.append(layerValues)
        }
        return EncodedPassage(length: length, crossKeys: crossKeys, crossValues: crossValues)
    }

    /// One head of bidirectional self-attention. T5 does not scale by 1/√d_kv:
    ///   scores[q, k] = Q_h[q] · K_h[k] + bias[h, q, k];  context_h = softmax(scores) · V_h.
    /// queries, keys, values and context are [length, heads·d_kv]; scores is [length, length].
    private func attend(
        head: Int, length: Int, queries: FloatBuffer, keys: FloatBuffer, values: FloatBuffer,
        bias: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>, into context: FloatBuffer
    ) {
        let inner = weights.config.attentionInnerDimension
        let headDimension = weights.config.keyValueDimension
        let offset = head * headDimension
        scores.update(from: bias + head * length * length, count: length * length)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(length), Int32(length),
            Int32(headDimension), 1, queries.pointer + offset, Int32(inner),
            keys.pointer + offset, Int32(inner), 1, scores, Int32(length))
        for query in 0..<length {
            softmaxInPlace(scores + query * length, count: length)
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(length), Int32(headDimension),
            Int32(length), 1, scores, Int32(length), values.pointer + offset, Int32(inner), 0,
            context.pointer + offset, Int32(inner))
    }
}

/// x += y over `count` floats.
@inline(__always)
func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    pg_add(x, y, count)
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
        let model = config.modelDimension
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
