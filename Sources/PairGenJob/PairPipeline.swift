import Corpus
import Foundation
import MT5

/// Generate, filter and mine for a batch of sampled passages, in sample order.
///
/// The pipeline remembers the queries it has turned into pairs, for the job-wide duplicate
/// filter; a query counts as written only once it has a pair, so that the set can be rebuilt
/// from the shards on resume.
struct PairPipeline {
    /// One passage's outcome.
    struct PassageResult {
        var pairs: [PairRecord]
        var generated: Int
        var filtered: [FilterReason: Int]
    }

    private let recipe: Recipe
    private let writer: QueryWriting
    private let store: PassageStore
    private let filter: QueryFilter
    private let miner: NegativeMiner
    private var written: Set<String>
    private var generateSeconds = 0.0
    private var mineSeconds = 0.0

    init(recipe: Recipe, writer: QueryWriting, scan: CorpusScan.Result, written: Set<String>)
        throws
    {
        self.recipe = recipe
        self.writer = writer
        store = scan.store
        filter = QueryFilter(settings: recipe.filters)
        miner = NegativeMiner(index: scan.index, settings: recipe.mining,
            roundTripTopK: recipe.filters.roundTripTopK)
        self.written = written
    }

    /// Seconds spent generating since the last call.
    mutating func takeGenerateSeconds() -> Double {
        defer { generateSeconds = 0 }
        return generateSeconds
    }

    /// Seconds spent filtering and mining since the last call.
    mutating func takeMineSeconds() -> Double {
        defer { mineSeconds = 0 }
        return mineSeconds
    }

    /// Generates queries for the whole batch and filters and mines those of its passages after
    /// the first `skipping`, whose results are returned in order.
    mutating func pairs(for batch: [SampledPassage], skipping: Int = 0) throws
        -> [PassageResult]
    {
        let start = Date()
        let seeds = batch.map {
            StableSeed.passage(jobSeed: recipe.seed, passageID: $0.passage.id)
        }
        // The model reads what the positive will hold: title + " " + text, as BEIR's and GPL's
        // query generation do.
        let queries = try writer.queries(
            for: batch.map { CorpusScan.indexedText($0.passage) }, seeds: seeds)
        precondition(queries.count == batch.count, "the generator returned the wrong count")
        let generated = Date()
        generateSeconds += generated.timeIntervalSince(start)
        var results: [PassageResult] = []
        for (sampled, passageQueries) in zip(batch, queries).dropFirst(skipping) {
            results.append(try process(sampled, passageQueries))
        }
        mineSeconds += Date().timeIntervalSince(generated)
        return results
    }

    private mutating func process(_ sampled: SampledPassage, _ queries: [GeneratedQuery]) throws
        -> PassageResult
    {
        let passage = sampled.passage
        var result = PassageResult(pairs: [], generated: queries.count, filtered: [:])
        var earlier = Set<String>()
        for (number, query) in queries.enumerated() {
            let normalized = QueryFilter.normalize(query.text)
            defer { earlier.insert(normalized) }
            if let reason = filter.verdict(query: query.text, passageTitle: passage.title,
                passageText: passage.text, earlier: earlier, written: written)
            {
                result.filtered[reason, default: 0] += 1
                continue
            }
            let queryText = query.text.trimmingCharacters(in: .whitespacesAndNewlines)
            let seed = StableSeed.derive(["pairgen.mine", String(recipe.seed), passage.id,
                String(number)])
            switch miner.mine(query: queryText, positives: [sampled.document], seed: seed) {
            case .failedRoundTrip:
                result.filtered[.roundTrip, default: 0] += 1
            case .tooFewCandidates:
                result.filtered[.noNegatives, default: 0] += 1
            case .mined(let mined):
                let negatives = try mined.negatives.map { try store.passage($0.document) }
                result.pairs.append(PairRecord(
                    query: queryText, positive: CorpusScan.indexedText(passage),
                    negatives: negatives.map {
                        $0.title.isEmpty ? $0.text : $0.title + " " + $0.text
                    },
                    queryID: "\(passage.id)/q\(number)", positiveID: passage.id,
                    negativeIDs: negatives.map(\.id), positiveScore: mined.positiveScore,
                    negativeScores: mined.negatives.map(\.score)))
                written.insert(normalized)
            }
        }
        return result
    }
}
