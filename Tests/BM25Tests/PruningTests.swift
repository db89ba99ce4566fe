import XCTest

@testable import BM25

/// MaxScore and accumulator retrieval against the plain exhaustive reference: same documents,
/// same scores to the bit, same order, ties broken by corpus order.
final class PruningTests: XCTestCase {
    /// A small deterministic generator (SplitMix64), so failures reproduce.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func assertSame(
        _ index: BM25Index, _ query: [String], k: Int, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let exhaustive = index.searchExhaustively(terms: query, k: k)
        let pruned = index.search(terms: query, k: k, strategy: .maxScore)
        XCTAssertEqual(pruned, exhaustive, "query \(query) k \(k)", file: file, line: line)
        let accumulated = index.search(terms: query, k: k, strategy: .accumulators)
        XCTAssertEqual(accumulated, exhaustive, "query \(query) k \(k)", file: file, line: line)
        // One document scored alone gets the very score retrieval gave it.
        for hit in exhaustive.prefix(5) {
            XCTAssertEqual(index.score(terms: query, document: hit.document), hit.score,
                           file: file, line: line)
        }
    }

    func testRandomQueriesOnRealText() throws {
        let documents = Fixtures.reference.documents
        let vocabulary = Array(Set(documents.joined())).sorted()
        let index = try Fixtures.referenceIndex()
        var generator = Generator(state: 7)
        for _ in 0..<300 {
            let length = Int.random(in: 1...8, using: &generator)
            let query = (0..<length).map { _ -> String in
                // Half the terms from a random document, so that queries match something.
                if Bool.random(using: &generator) {
                    return vocabulary.randomElement(using: &generator)!
                }
                return documents.randomElement(using: &generator)!.randomElement(using: &generator)!
            }
            for k in [1, 3, 10, 100] { assertSame(index, query, k: k) }
        }
    }

    func testManyTiesOnASyntheticCorpus() throws {
        // Twenty words and short documents: many documents share exactly the same score.
        var generator = Generator(state: 11)
        let words = (0..<20).map { "w\($0)" }
        for variant in BM25Variant.allCases {
            let builder = try BM25IndexBuilder(
                analyzer: Analyzer(language: "en", removeStopwords: false, stem: false),
                parameters: BM25Parameters(k1: 0.9, b: 0.4, variant: variant))
            for number in 0..<3000 {
                let length = Int.random(in: 1...6, using: &generator)
                let terms = (0..<length).map { _ in
                    words[min(Int.random(in: 0..<20, using: &generator),
                              Int.random(in: 0..<20, using: &generator))]
                }
                builder.add(id: "d\(number)", terms: terms)
            }
            let index = builder.finish()
            for _ in 0..<100 {
                let query = (0..<Int.random(in: 1...5, using: &generator)).map { _ in
                    words.randomElement(using: &generator)!
                }
                for k in [1, 7, 50, 1000, 5000] { assertSame(index, query, k: k) }
            }
        }
    }

    func testParallelSearchEqualsSequentialSearch() throws {
        let builder = try BM25IndexBuilder(analyzer: Analyzer(language: "pt"))
        let texts = Fixtures.reference.documents.map { $0.joined(separator: " ") }
        for (number, text) in texts.enumerated() { builder.add(id: "p\(number)", text: text) }
        let index = builder.finish()
        let queries = texts.prefix(60).map { String($0.prefix(40)) }
        let parallel = index.search(queries: queries, k: 20, threads: 4)
        XCTAssertEqual(parallel, queries.map { index.search($0, k: 20) })
        XCTAssertFalse(parallel[0].isEmpty)
    }
}
