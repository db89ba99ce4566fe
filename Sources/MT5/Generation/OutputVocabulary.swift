import Foundation

/// The tokens the decoder scores at each step: the whole vocabulary (exact mode), or a subset
/// for the fast mode's vocabulary trimming (Ushio et al., 2023, "An Efficient Multilingual
/// Language Model Compression through Vocabulary Trimming").
///
/// Scores are computed only for the subset, so the vocabulary projection, the largest product
/// of every decoder step, shrinks with it. Within the subset probabilities are renormalised;
/// top-k sampling stays exact whenever the true top k tokens are in the subset.
final class OutputVocabulary: @unchecked Sendable {
    /// Rows of the projection: [count, d_model].
    let head: LinearWeight
    /// Number of scored tokens.
    let count: Int
    /// Subset index to token id, ascending; nil for the whole vocabulary.
    private let ids: [Int32]?
    /// Token id to subset index, -1 when absent; nil for the whole vocabulary.
    private let indices: [Int32]?

    /// The whole vocabulary of a checkpoint.
    init(weights: MT5Weights) {
        head = weights.languageModelHead
        count = weights.config.vocabularySize
        ids = nil
        indices = nil
    }

    /// The listed tokens (plus the checkpoint's special tokens), with their projection rows
    /// copied together.
    init(weights: MT5Weights, tokens: Set<Int32>) {
        let config = weights.config
        var kept = tokens.filter { $0 >= 0 && Int($0) < config.vocabularySize }
        kept.formUnion([config.endOfSequenceTokenID, config.padTokenID])
        let sorted = kept.sorted()
        var indices = [Int32](repeating: -1, count: config.vocabularySize)
        for (index, id) in sorted.enumerated() { indices[Int(id)] = Int32(index) }
        head = LinearWeight(rows: sorted.map { Int($0) }, of: weights.languageModelHead)
        count = sorted.count
        ids = sorted
        self.indices = indices
    }

    /// The token id of a scored position.
    @inline(__always)
    func tokenID(_ index: Int) -> Int32 { ids?[index] ?? Int32(index) }

    /// The scored position of a token id, nil when the subset lacks it.
    @inline(__always)
    func index(of token: Int32) -> Int? {
        guard let indices else { return Int(token) }
        let index = indices[Int(token)]
        return index < 0 ? nil : Int(index)
    }
}
