import Foundation

/// A document and its score for a query.
public struct ScoredCandidate: Sendable, Equatable {
    /// The document number.
    public var document: Int
    /// Its BM25 score.
    public var score: Double

    /// Makes a candidate.
    public init(document: Int, score: Double) {
        self.document = document
        self.score = score
    }
}

/// The retrieval the miner needs; the built-in BM25 index is the real one.
public protocol CandidateIndex: AnyObject {
    /// The best `k` documents for a query, best first, ties in corpus order.
    func search(_ query: String, k: Int) -> [ScoredCandidate]
    /// The score of one document for a query.
    func score(_ query: String, document: Int) -> Double
}

/// The negatives chosen for one query.
public struct MinedNegatives: Sendable, Equatable {
    /// The positive's BM25 score for the query.
    public var positiveScore: Double
    /// The negatives, in the order they are written.
    public var negatives: [ScoredCandidate]
}

/// Chooses hard negatives for a query from BM25's ranking of the whole corpus.
///
/// The positives are removed from the ranking first; what is left is numbered from 1, and the
/// negatives come from ranks `range_min...range_max`, skipping candidates that the
/// false-negative guard rejects (score above `max_score`, or at least (1 - margin) x the
/// positive's score). Strategy `top` takes the best remaining candidates; `random` takes a
/// seeded random choice, written in rank order.
public struct NegativeMiner {
    /// The settings in force.
    public let settings: MiningSettings
    /// Round-trip filter depth, when on.
    public let roundTripTopK: Int?
    private let index: CandidateIndex

    /// A miner over `index`.
    public init(index: CandidateIndex, settings: MiningSettings, roundTripTopK: Int?) {
        self.index = index
        self.settings = settings
        self.roundTripTopK = roundTripTopK
    }

    /// The outcome for one query of the passage numbered `positive`.
    public enum Outcome: Sendable, Equatable {
        case mined(MinedNegatives)
        /// The round-trip filter is on and BM25 ranked the positive below its depth.
        case failedRoundTrip
        /// Fewer allowed candidates than `num_negatives`.
        case tooFewCandidates
    }

    /// Mines negatives for `query`; `seed` drives the random strategy.
    public func mine(query: String, positives: Set<Int>, seed: UInt64) -> Outcome {
        let depth = max(settings.rangeMax + positives.count, roundTripTopK ?? 0)
        let ranking = index.search(query, k: depth)
        if let roundTripTopK {
            let top = ranking.prefix(roundTripTopK)
            guard top.contains(where: { positives.contains($0.document) }) else {
                return .failedRoundTrip
            }
        }
        let positiveScore = positives.map { index.score(query, document: $0) }.max() ?? 0
        let candidates = ranking.filter { !positives.contains($0.document) }
        let allowed = candidates.enumerated().filter { rank, candidate in
            let rank = rank + 1
            guard rank >= settings.rangeMin && rank <= settings.rangeMax else { return false }
            if let maxScore = settings.maxScore, candidate.score > maxScore { return false }
            if let margin = settings.margin, positiveScore > 0,
                candidate.score >= (1 - margin) * positiveScore
            {
                return false
            }
            return true
        }.map(\.element)
        guard allowed.count >= settings.numNegatives else { return .tooFewCandidates }

        let chosen: [ScoredCandidate]
        switch settings.strategy {
        case .top:
            chosen = Array(allowed.prefix(settings.numNegatives))
        case .random:
            // A partial Fisher-Yates shuffle of positions, then back into rank order.
            var positions = Array(allowed.indices)
            var generator = SplitMix64(seed: seed)
            for i in 0..<settings.numNegatives {
                let j = i + generator.below(positions.count - i)
                positions.swapAt(i, j)
            }
            chosen = positions.prefix(settings.numNegatives).sorted().map { allowed[$0] }
        }
        return .mined(MinedNegatives(positiveScore: positiveScore, negatives: chosen))
    }
}
