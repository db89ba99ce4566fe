import Foundation
import XCTest
@testable import PairGenJob

/// An index whose ranking is fixed: document d scores 100 - d, positives included.
final class FixedRankingIndex: CandidateIndex {
    let documents: Int
    init(documents: Int) { self.documents = documents }
    func search(_ query: String, k: Int) -> [ScoredCandidate] {
        (0..<min(k, documents)).map { ScoredCandidate(document: $0, score: 100 - Double($0)) }
    }
    func score(_ query: String, document: Int) -> Double { 100 - Double(document) }
}

final class MiningAndFilterTests: XCTestCase {
    func settings(_ change: (inout MiningSettings) -> Void) -> MiningSettings {
        var settings = MiningSettings()
        change(&settings)
        return settings
    }

    func negatives(_ outcome: NegativeMiner.Outcome) -> [Int] {
        if case .mined(let mined) = outcome { return mined.negatives.map(\.document) }
        return []
    }

    func testTopTakesTheRangeAfterRemovingPositives() {
        let miner = NegativeMiner(index: FixedRankingIndex(documents: 100), settings: settings {
            $0.strategy = .top
            $0.rangeMin = 3
            $0.rangeMax = 10
            $0.numNegatives = 2
        }, roundTripTopK: nil)
        // Positive 1 removed: candidates 0, 2, 3, 4... ranks 1, 2, 3, 4...
        XCTAssertEqual(negatives(miner.mine(query: "q", positives: [1], seed: 0)), [3, 4])
    }

    func testRandomIsSeededAndStaysInRange() {
        let miner = NegativeMiner(index: FixedRankingIndex(documents: 100), settings: settings {
            $0.strategy = .random
            $0.rangeMin = 5
            $0.rangeMax = 20
            $0.numNegatives = 3
        }, roundTripTopK: nil)
        let first = negatives(miner.mine(query: "q", positives: [0], seed: 11))
        XCTAssertEqual(first, negatives(miner.mine(query: "q", positives: [0], seed: 11)))
        XCTAssertEqual(first.count, 3)
        XCTAssertEqual(first, first.sorted())
        XCTAssertTrue(first.allSatisfy { (5...20).contains($0) }, "\(first)")
        let choices = Set((0..<20).map {
            negatives(miner.mine(query: "q", positives: [0], seed: UInt64($0)))
        })
        XCTAssertGreaterThan(choices.count, 10)
    }

    func testGuardSkipsCandidatesTooCloseToThePositive() {
        // Positive 10 scores 90; margin 0.05 rejects scores >= 85.5, i.e. documents 0...14.
        let miner = NegativeMiner(index: FixedRankingIndex(documents: 100), settings: settings {
            $0.strategy = .top
            $0.rangeMin = 1
            $0.rangeMax = 30
            $0.numNegatives = 2
            $0.margin = 0.05
        }, roundTripTopK: nil)
        XCTAssertEqual(negatives(miner.mine(query: "q", positives: [10], seed: 0)), [15, 16])
        let capped = NegativeMiner(index: FixedRankingIndex(documents: 100), settings: settings {
            $0.strategy = .top
            $0.rangeMin = 1
            $0.numNegatives = 1
            $0.maxScore = 97
        }, roundTripTopK: nil)
        XCTAssertEqual(negatives(capped.mine(query: "q", positives: [50], seed: 0)), [3])
    }

    func testTooFewCandidatesAndRoundTrip() {
        let small = NegativeMiner(index: FixedRankingIndex(documents: 4), settings: settings {
            $0.rangeMin = 1
            $0.numNegatives = 4
        }, roundTripTopK: nil)
        XCTAssertEqual(small.mine(query: "q", positives: [0], seed: 0), .tooFewCandidates)
        let roundTrip = NegativeMiner(index: FixedRankingIndex(documents: 100),
            settings: MiningSettings(), roundTripTopK: 5)
        XCTAssertEqual(roundTrip.mine(query: "q", positives: [7], seed: 0), .failedRoundTrip)
        XCTAssertNotEqual(roundTrip.mine(query: "q", positives: [4], seed: 0), .failedRoundTrip)
    }

    func testFiltersDropEmptyDuplicateAndCopiedQueries() {
        let filter = QueryFilter(settings: FilterSettings())
        let title = "O Título"
        let text = "o governo anunciou hoje um novo plano para a saúde pública do país"
        func verdict(_ query: String, earlier: Set<String> = [], written: Set<String> = [])
            -> FilterReason?
        {
            filter.verdict(query: query, passageTitle: title, passageText: text,
                earlier: earlier, written: written)
        }
        XCTAssertEqual(verdict("   "), .empty)
        XCTAssertEqual(verdict("Plano de  Saúde", earlier: ["plano de saúde"]),
            .duplicateInPassage)
        XCTAssertEqual(verdict("plano de saúde", written: ["plano de saúde"]), .duplicateInJob)
        XCTAssertEqual(verdict("o título"), .copiesPassage)
        XCTAssertEqual(verdict("anunciou hoje um novo plano para"), .copiesPassage)
        XCTAssertNil(verdict("novo plano"), "short phrases of the passage are fine")
        XCTAssertNil(verdict("qual é o plano do governo para a saúde?"))

        var loose = FilterSettings()
        loose.dedupAcrossJob = false
        XCTAssertNil(QueryFilter(settings: loose).verdict(query: "plano", passageTitle: "",
            passageText: text, earlier: [], written: ["plano"]))
    }
}
