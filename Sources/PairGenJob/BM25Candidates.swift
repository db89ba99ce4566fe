import BM25
import Foundation

/// The built-in BM25 index as the miner's `CandidateIndex`.
public final class BM25Candidates: CandidateIndex {
    /// The index searched.
    public let index: BM25Index

    /// Wraps a finished index.
    public init(index: BM25Index) { self.index = index }

    public func search(_ query: String, k: Int) -> [ScoredCandidate] {
        index.search(query, k: k).map { ScoredCandidate(document: $0.document, score: $0.score) }
    }

    public func score(_ query: String, document: Int) -> Double {
        index.score(query, document: document)
    }
}

/// Builds the built-in BM25 index with the recipe's analyzer and parameters.
public final class BM25CandidatesBuilder: CandidateIndexBuilding {
    private let builder: BM25IndexBuilder

    /// A builder for the recipe's mining settings; a bad language or parameter is an error
    /// naming it.
    public init(settings: MiningSettings) throws {
        let analyzer = try Analyzer(language: settings.language,
            removeStopwords: settings.removeStopwords, stem: settings.stem,
            foldAccents: settings.foldAccents)
        builder = try BM25IndexBuilder(analyzer: analyzer,
            parameters: BM25Parameters(k1: settings.k1, b: settings.b))
    }

    public func add(id: String, text: String) throws {
        builder.add(id: id, text: text)
    }

    public func finish() throws -> CandidateIndex {
        BM25Candidates(index: builder.finish())
    }
}
