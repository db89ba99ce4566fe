import CBLAS
import Foundation

/// The decoder of HF transformers' T5Stack, one token per row per step, with a KV cache.
///
/// Rows are the live sequences (beams or samples) of one or more passages, grouped by passage
/// in ascending order, so that each passage's rows attend to its shared cross-attention keys
/// and values (never copied) with one matrix product per head.
final class DecoderState {
    let weights: MT5Weights
    let passages: [EncodedPassage]
    /// The passage each row belongs to; non-decreasing.
    private(set) var rowPassage: [Int]
    /// Tokens fed so far to every row (the same for all rows).
    private(set) var step = 0
    let capacity: Int
    /// Per layer, self-attention keys and values: [rows, heads, capacity, d_kv].
    private var selfKeys: [FloatBuffer]
    private var selfValues: [FloatBuffer]
    /// Causal bias by distance: [heads, capacity].
    private let bias: [Float]
    /// Scratch for one step, sized for the most rows this state ever holds.
    private let hidden: FloatBuffer  // [rows, d_model]
    private let normed: FloatBuffer  // [rows, d_model]
    private let queries: FloatBuffer  // [rows, heads·d_kv]
    private let keys: FloatBuffer  // [rows, heads·d_kv]
    private let values: FloatBuffer  // [rows, heads·d_kv]
    private let context: FloatBuffer  // [rows, heads·d_kv]
    private let projected: FloatBuffer  // [rows, d_model]
    private let scores: FloatBuffer  // [rows, capacity]: self-attention
    private let scoresPerRow: Int
    /// The tokens scored by the final projection.
    let vocabulary: OutputVocabulary
    private let crossScores: FloatBuffer  // [rows · heads, longest passage, padded to 16]
    private let crossScoresPerRow: Int
    let threads: Int
    private let logits: FloatBuffer  // [rows, vocab]
    private let maximumRows: Int
    private let feedForward: FeedForwardScratch

    /// Starts empty rows: `rowPassage[i]` is row i's passage index; at most `capacity` steps
    /// and `maximumRows` rows (by default the rows it starts with).
    init(
        weights: MT5Weights, passages: [EncodedPassage], rowPassage: [Int], capacity: Int,
        threads: Int, vocabulary: OutputVocabulary, maximumRows: Int? = nil
    ) {
        self.threads = threads
        self.vocabulary = vocabulary
        precondition(zip(rowPassage, rowPassage.dropFirst()).allSatisfy { $0 <= $1 })
        self.weights = weights
        self.passages = passages
        self.rowPassage = rowPassage
        self.capacity = capacity
        self.maximumRows = max(maximumRows ?? rowPassage.count, rowPassage.count)
        let size = rowPassage.count * weights.config.attentionInnerDimension * capacity
        // Written before read, like the scratch below: recycled memory needs no clearing.
        selfKeys = weights.decoderLayers.map { _ in FloatBuffer(count: size, zeroed: false) }
        selfValues = weights.decoderLayers.map { _ in FloatBuffer(count: size, zeroed: false) }
        bias = weights.decoderRelativeBias.decoderBias(maxSteps: capacity)
        let config = weights.config
        let rows = self.maximumRows
        hidden = FloatBuffer(count: rows * config.modelDimension)
        normed = FloatBuffer(count: rows * config.modelDimension)
        queries = FloatBuffer(count: rows * config.attentionInnerDimension)
        keys = FloatBuffer(count: rows * config.attentionInnerDimension)
        values = FloatBuffer(count: rows * config.attentionInnerDimension)
        context = FloatBuffer(count: rows * config.attentionInnerDimension)
        projected = FloatBuffer(count: rows * config.modelDimension)
        crossScoresPerRow = alignedStride(passages.map(\.length).max() ?? 1)
        scoresPerRow = alignedStride(capacity)
        scores = FloatBuffer(count: rows * scoresPerRow)
        crossScores = FloatBuffer(count: rows * config.headCount * crossScoresPerRow)
        logits = FloatBuffer(count: rows * vocabulary.count, zeroed: false)
        feedForward = FeedForwardScratch(capacity: rows, config: config)
    }

    var rowCount: Int { rowPassage.count }

    /// Keeps the rows listed (a row may be listed more than once, as beam search does) in the
    /// order given, which must keep passages grouped in ascending order.
    func reorder(_ rows: [Int]) {
        let newPassages = rows.map { rowPassage[$0] }
        precondition(zip(newPassages, newPassages.dropFirst()).allSatisfy { $0 <= $1 })
        if rows == Array(0..<rowCount) { return }
        let rowSize = weights.config.attentionInnerDimension * capacity
        let used = weights.config.headCount
        func gather(_ buffer: FloatBuffer) -> FloatBuffer {
            let result = FloatBuffer(count: rows.count * rowSize, zeroed: false)
            for (target, source) in rows.enumerated() {
                for head in 0..<used {
                    let headSize = capacity * weights.config.keyValueDimension
                    let stepsUsed = step * weights.config.keyValueDimension
                    (result.pointer + target * rowSize + head * headSize).update(
                        from: buffer.pointer + source * rowSize + head * headSize,
                        count: stepsUsed)
                }
            }
            return result
        }
        selfKeys = selfKeys.map(gather)
        selfValues = selfValues.map(gather)
        rowPassage = newPassages
    }

    /// Feeds one token per row and returns the next-token logits, [rows, scored tokens]; the
    /// buffer is reused by the next step.
    func advance(tokens: [Int32]) -> FloatBuffer {
        precondition(tokens.count == rowCount && rowCount <= maximumRows && step < capacity)
        let config = weights.config
        let rows = rowCount
        let model = config.modelDimension
        let epsilon = config.layerNormEpsilon

        for (row, token) in tokens.enumerated() {
            (hidden.pointer + row * model).update(
                from: weights.embedding.baseAddress! + Int(token) * model, count: model)
        }

        let groups = passageGroups()
        for (index, layer) in weights.decoderLayers.enumerated() {
            rmsNorm(hidden.pointer, rows: rows, dimension: model,
                weight: layer.selfAttentionNorm.baseAddress!, epsilon: epsilon,
                into: normed.pointer)
            let attention = layer.selfAttention
            attention.projectQueriesKeysValues(
                normed.pointer, rows: rows, config: config, queries: queries, keys: keys,
                values: values, threads: threads)
            parallelFor(rows, threads: threads) { row in
                selfAttend(layer: index, row: row)
            }
            attention.output.apply(
                context.pointer, rows: rows, into: projected.pointer, threads: threads)
            addInPlace(hidden.pointer, projected.pointer, count: rows * model)

            rmsNorm(hidden.pointer, rows: rows, dimension: model,
                weight: layer.crossAttentionNorm.baseAddress!, epsilon: epsilon,
                into: normed.pointer)
            layer.crossAttention.query.apply(
                normed.pointer, rows: rows, into: queries.pointer, threads: threads)
            let heads = config.headCount
            parallelFor(groups.count * heads, threads: threads) { task in
                crossAttend(layer: index, group: groups[task / heads], head: task % heads)
            }
            layer.crossAttention.output.apply(
                context.pointer, rows: rows, into: projected.pointer, threads: threads)
            addInPlace(hidden.pointer, projected.pointer, count: rows * model)

            rmsNorm(hidden.pointer, rows: rows, dimension: model,
                weight: layer.feedForwardNorm.baseAddress!, epsilon: epsilon,
                into: normed.pointer)
            feedForward.apply(
                layer.feedForward, rows: rows, input: normed.pointer, into: projected.pointer,
                threads: threads)
            addInPlace(hidden.pointer, projected.pointer, count: rows * model)
        }
        rmsNorm(hidden.pointer, rows: rows, dimension: model,
            weight: weights.decoderFinalNorm.baseAddress!, epsilon: epsilon,
            into: hidden.pointer)
        if config.scalesDecoderOutput {
            let scale = 1 / Float(model).squareRoot()
            for i in 0..<(rows * model) { hidden.pointer[i] *= scale }
        }
        vocabulary.head.apply(hidden.pointer, rows: rows, into: logits.pointer, threads: threads)
        step += 1
        return logits
    }

    /// Causal self-attention of row's newest token over its cached keys and values, all heads:
    ///   scores[s] = K_h[s] · q_h + bias[h, step − s] for s in 0...step;
    ///   context_h = softmax(scores) · V_h.
    private func selfAttend(layer: Int, row: Int) {
        let config = weights.config
        let inner = config.attentionInnerDimension
        let headDimension = config.keyValueDimension
        let headSize = capacity * headDimension
        let cachedKeys = selfKeys[layer].pointer
        let cachedValues = selfValues[layer].pointer
        let length = step + 1
        let rowScores = scores.pointer + row * scoresPerRow
        for head in 0..<config.headCount {
            let cacheOffset = row * inner * capacity + head * headSize
            let vectorOffset = row * inner + head * headDimension
            (cachedKeys + cacheOffset + step * headDimension).update(
                from: keys.pointer + vectorOffset, count: headDimension)
            (cachedValues + cacheOffset + step * headDimension).update(
                from: values.pointer + vectorOffset, count: headDimension)
            cblas_sgemv(
                CblasRowMajor, CblasNoTrans, Int32(length), Int32(headDimension), 1,
                cachedKeys + cacheOffset, Int32(headDimension),
                queries.pointer + vectorOffset, 1, 0, rowScores, 1)
            bias.withUnsafeBufferPointer { bias in
                for position in 0..<length {
                    rowScores[position] += bias[head * capacity + (step - position)]
                }
            }
            softmaxInPlace(rowScores, count: length)
            cblas_sgemv(
                CblasRowMajor, CblasTrans, Int32(length), Int32(headDimension), 1,
                cachedValues + cacheOffset, Int32(headDimension), rowScores, 1, 0,
                context.pointer + vectorOffset, 1)
        }
    }

    /// One head of cross-attention for one passage's rows over its shared keys and values:
    ///   scores[r, k] = Q_h[r] · K_h[k];  context_h[r] = softmax(scores[r]) · V_h.
    private func crossAttend(layer: Int, group: (passage: Int, start: Int, count: Int), head: Int)
    {
        let inner = weights.config.attentionInnerDimension
        let headDimension = weights.config.keyValueDimension
        let passage = passages[group.passage]
        let length = passage.length
        let offset = head * headDimension
        // Rows of different groups never overlap, and each (group, head) uses the score rows
        // of its own rows shifted by head, so tasks write disjoint memory.
        let taskScores = crossScores.pointer
            + (group.start * weights.config.headCount + head * group.count) * crossScoresPerRow
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(group.count), Int32(length),
            Int32(headDimension), 1, queries.pointer + group.start * inner + offset,
            Int32(inner), passage.crossKeys(layer) + offset, Int32(inner), 0,
            taskScores, Int32(length))
        for row in 0..<group.count {
            softmaxInPlace(taskScores + row * length, count: length)
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(group.count), Int32(headDimension),
            Int32(length), 1, taskScores, Int32(length),
            passage.crossValues(layer) + offset, Int32(inner), 0,
            context.pointer + group.start * inner + offset, Int32(inner))
    }

    /// Runs of consecutive rows that share a passage.
    private func passageGroups() -> [(passage: Int, start: Int, count: Int)] {
        var groups: [(passage: Int, start: Int, count: Int)] = []
        for (row, passage) in rowPassage.enumerated() {
            if let last = groups.last, last.passage == passage {
                groups[groups.count - 1].count += 1
            } else {
                groups.append((passage, row, 1))
            }
        }
        return groups
    }
}
