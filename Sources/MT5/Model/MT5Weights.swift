import Foundation

/// The four projections of one attention block: q, k, v are [heads·d_kv, d_model], o is
/// [d_model, heads·d_kv].
struct AttentionWeights {
    let query: LinearWeight
    let key: LinearWeight
    let value: LinearWeight
    let output: LinearWeight
}

extension AttentionWeights {
    /// Self-attention's q, k and v of normed states x[rows, d_model], each [rows, heads·d_kv].
    func projectQueriesKeysValues(
        _ x: UnsafePointer<Float>, rows: Int, config: MT5Config,
        queries: FloatBuffer, keys: FloatBuffer, values: FloatBuffer, threads: Int
    ) {
        for (weight, output) in [(query, queries), (key, keys), (value, values)] {
            weight.apply(x, rows: rows, into: output.pointer, threads: threads)
        }
    }
}

/// A feed-forward block: gated (wi_0, wi_1, wo) or ReLU (wi, wo).
struct FeedForwardWeights {
    /// wi_0 or wi: [d_ff, d_model].
    let input: LinearWeight
    /// wi_1 (gated only): [d_ff, d_model].
    let gate: LinearWeight?
    /// wo: [d_model, d_ff].
    let output: LinearWeight
}

/// One encoder block: self-attention then feed-forward, each after its own layer norm.
struct EncoderLayerWeights {
    let selfAttentionNorm: UnsafeBufferPointer<Float>
    let selfAttention: AttentionWeights
    let feedForwardNorm: UnsafeBufferPointer<Float>
    let feedForward: FeedForwardWeights
}

/// One decoder block: causal self-attention, cross-attention, feed-forward.
struct DecoderLayerWeights {
    let selfAttentionNorm: UnsafeBufferPointer<Float>
    let selfAttention: AttentionWeights
    let crossAttentionNorm: UnsafeBufferPointer<Float>
    let crossAttention: AttentionWeights
    let feedForwardNorm: UnsafeBufferPointer<Float>
    let feedForward: FeedForwardWeights
}

/// Every tensor of a T5 v1.1 / mT5 checkpoint, under HF transformers' names, with its shape
/// checked against config.json. The buffers point into `store`, which owns them.
final class MT5Weights: @unchecked Sendable {
    let config: MT5Config
    let store: WeightStore
    /// shared.weight (or encoder./decoder.embed_tokens.weight): [vocab, d_model].
    let embedding: UnsafeBufferPointer<Float>
    /// lm_head.weight, or the embedding when the checkpoint is tied: [vocab, d_model].
    let languageModelHead: LinearWeight
    let encoderLayers: [EncoderLayerWeights]
    let encoderFinalNorm: UnsafeBufferPointer<Float>
    let encoderRelativeBias: RelativeAttentionBias
    let decoderLayers: [DecoderLayerWeights]
    let decoderFinalNorm: UnsafeBufferPointer<Float>
    let decoderRelativeBias: RelativeAttentionBias

    /// Whether the linear layers hold the fast mode's 8-bit weights.
    let quantized: Bool

    /// `quantized` gives every linear layer (the vocabulary projection included, not the
    /// embedding lookups) 8-bit weights: the fast mode.
    init(config: MT5Config, store: WeightStore, quantized: Bool = false) throws {
        self.quantized = quantized
        self.config = config
        self.store = store
        let model = config.modelDimension
        let inner = config.attentionInnerDimension
        let vocabulary = config.vocabularySize

        func tensor(_ name: String, _ shape: [Int]) throws -> UnsafeBufferPointer<Float> {
            try store.floats(name, shape: shape)
        }
        // A packed weight no longer needs the checkpoint's copy: its memory goes back, which
        // keeps the peak near one copy of the model.
        func linear(_ name: String, _ shape: [Int]) throws -> LinearWeight {
            let weight = LinearWeight(
                try tensor(name, shape), outFeatures: shape[0], inFeatures: shape[1],
                quantized: quantized)
            if weight.isPacked { store.releaseMemory(of: name) }
            return weight
        }
        func attention(_ prefix: String) throws -> AttentionWeights {
            AttentionWeights(
                query: try linear("\(prefix).q.weight", [inner, model]),
                key: try linear("\(prefix).k.weight", [inner, model]),
                value: try linear("\(prefix).v.weight", [inner, model]),
                output: try linear("\(prefix).o.weight", [model, inner]))
        }
        func feedForward(_ prefix: String) throws -> FeedForwardWeights {
            let hidden = config.feedForwardDimension
            switch config.feedForward {
            case .gatedGelu:
                return FeedForwardWeights(
                    input: try linear("\(prefix).DenseReluDense.wi_0.weight", [hidden, model]),
                    gate: try linear("\(prefix).DenseReluDense.wi_1.weight", [hidden, model]),
                    output: try linear("\(prefix).DenseReluDense.wo.weight", [model, hidden]))
            case .relu:
                return FeedForwardWeights(
                    input: try linear("\(prefix).DenseReluDense.wi.weight", [hidden, model]),
                    gate: nil,
                    output: try linear("\(prefix).DenseReluDense.wo.weight", [model, hidden]))
            }
        }

        let embeddingName = ["shared.weight", "encoder.embed_tokens.weight",
            "decoder.embed_tokens.weight"].first { store.info($0) != nil } ?? "shared.weight"
        embedding = try tensor(embeddingName, [vocabulary, model])
        // A tied head is the embedding, which token lookups still read: only its packed copy
        // is made, nothing is given back.
        languageModelHead = store.info("lm_head.weight") != nil
            ? try linear("lm_head.weight", [vocabulary, model])
            : LinearWeight(
                embedding, outFeatures: vocabulary, inFeatures: model, quantized: quantized)

        encoderLayers = try (0..<config.encoderLayerCount).map { index in
            let block = "encoder.block.\(index).layer"
            return EncoderLayerWeights(
                selfAttentionNorm: try tensor("\(block).0.layer_norm.weight", [model]),
                selfAttention: try attention("\(block).0.SelfAttention"),
                feedForwardNorm: try tensor("\(block).1.layer_norm.weight", [model]),
                feedForward: try feedForward("\(block).1"))
        }
        encoderFinalNorm = try tensor("encoder.final_layer_norm.weight", [model])

        decoderLayers = try (0..<config.decoderLayerCount).map { index in
            let block = "decoder.block.\(index).layer"
            return DecoderLayerWeights(
                selfAttentionNorm: try tensor("\(block).0.layer_norm.weight", [model]),
                selfAttention: try attention("\(block).0.SelfAttention"),
                crossAttentionNorm: try tensor("\(block).1.layer_norm.weight", [model]),
                crossAttention: try attention("\(block).1.EncDecAttention"),
                feedForwardNorm: try tensor("\(block).2.layer_norm.weight", [model]),
                feedForward: try feedForward("\(block).2"))
        }
        decoderFinalNorm = try tensor("decoder.final_layer_norm.weight", [model])

        // Block 0 of each stack owns the relative position bias; every layer shares it.
        let buckets = config.relativeAttentionBucketCount
        let biasShape = [buckets, config.headCount]
        encoderRelativeBias = RelativeAttentionBias(
            weight: try tensor(
                "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", biasShape),
            headCount: config.headCount,
            buckets: RelativePositionBuckets(
                bucketCount: buckets, maxDistance: config.relativeAttentionMaxDistance,
                bidirectional: true))
        decoderRelativeBias = RelativeAttentionBias(
            weight: try tensor(
                "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", biasShape),
            headCount: config.headCount,
            buckets: RelativePositionBuckets(
                bucketCount: buckets, maxDistance: config.relativeAttentionMaxDistance,
                bidirectional: false))
    }
}
