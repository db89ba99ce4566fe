import Foundation

/// T5's relative position buckets (Raffel et al., 2020; HF `_relative_position_bucket`).
///
/// Distances below max_exact get a bucket each; longer ones share logarithmically wider
/// buckets up to max_distance:
///   bucket = max_exact + ⌊log(d / max_exact) / log(max_distance / max_exact)
///            · (buckets − max_exact)⌋, capped at buckets − 1.
/// Bidirectional (encoder) attention halves the buckets and gives keys after the query the
/// upper half. The float32 arithmetic follows HF's so that boundaries land alike.
struct RelativePositionBuckets {
    let bucketCount: Int
    let maxDistance: Int
    let bidirectional: Bool

    /// The bucket of `relative = key position − query position`.
    func bucket(relative: Int) -> Int {
        var buckets = bucketCount
        var result = 0
        var distance: Int
        if bidirectional {
            buckets /= 2
            if relative > 0 { result += buckets }
            distance = abs(relative)
        } else {
            distance = -min(relative, 0)
        }
        let maxExact = buckets / 2
        if distance < maxExact { return result + distance }
        let logRatio = logf(Float(distance) / Float(maxExact))
        let logRange = Float(log(Double(maxDistance) / Double(maxExact)))
        let large = maxExact + Int(logRatio / logRange * Float(buckets - maxExact))
        return result + min(large, buckets - 1)
    }
}

/// The learned bias per (head, bucket): weight `relative_attention_bias.weight`, [buckets, heads].
struct RelativeAttentionBias {
    let weight: UnsafeBufferPointer<Float>
    let headCount: Int
    let buckets: RelativePositionBuckets

    /// Bias for every (query, key) pair of a bidirectional self-attention over `length` tokens,
    /// laid out [heads, query, key].
    func encoderBias(length: Int) -> [Float] {
        var bias = [Float](repeating: 0, count: headCount * length * length)
        for query in 0..<length {
            for key in 0..<length {
                let bucket = buckets.bucket(relative: key - query)
                for head in 0..<headCount {
                    bias[(head * length + query) * length + key] = weight[bucket * headCount + head]
                }
            }
        }
        return bias
    }

    /// Bias of a causal decoder query looking back `distance` steps, laid out
    /// [heads, distance] for distance in 0..<maxSteps.
    func decoderBias(maxSteps: Int) -> [Float] {
        var bias = [Float](repeating: 0, count: headCount * maxSteps)
        for distance in 0..<maxSteps {
            let bucket = buckets.bucket(relative: -distance)
            for head in 0..<headCount {
                bias[head * maxSteps + distance] = weight[bucket * headCount + head]
            }
        }
        return bias
    }
}
