import XCTest

@testable import BM25

/// Scores against bm25s 0.3.16 (float64) for the same tokens, on real Portuguese text.
final class ReferenceScoreTests: XCTestCase {
    func testScoresMatchBM25sForEveryVariant() throws {
        let reference = Fixtures.reference
        XCTAssertEqual(reference.documents.count, 300)
        XCTAssertEqual(reference.queries.count, 40)
        for variant in BM25Variant.allCases {
            let index = try Fixtures.referenceIndex(BM25Parameters(variant: variant))
            var compared = 0
            for (query, expected) in zip(reference.queries, reference.results(variant)) {
                // bm25s's own scores for its listed documents, one at a time.
                for pair in expected {
                    let score = index.score(terms: query, document: Int(pair[0]))
                    XCTAssertEqual(score, pair[1], accuracy: 1e-5, "\(variant) \(query)")
                    compared += 1
                }
                // The same ranking: equal score sequences, and equal documents where the
                // scores are not tied (bm25s orders ties arbitrarily).
                let found = index.search(terms: query, k: 50)
                XCTAssertEqual(found.count, expected.count, "\(variant) \(query)")
                for (hit, pair) in zip(found, expected) {
                    XCTAssertEqual(hit.score, pair[1], accuracy: 1e-5, "\(variant) \(query)")
                    let tied = expected.filter { abs($0[1] - pair[1]) < 1e-9 }.count > 1
                    if !tied { XCTAssertEqual(hit.document, Int(pair[0]), "\(variant) \(query)") }
                }
            }
            XCTAssertGreaterThan(compared, 400)
        }
    }

    func testUnknownTermsAndEmptyQueriesFindNothing() throws {
        let index = try Fixtures.referenceIndex()
        XCTAssertEqual(index.search(terms: ["zzzz-not-a-term"], k: 10), [])
        XCTAssertEqual(index.search(terms: [], k: 10), [])
        XCTAssertEqual(index.search(terms: Fixtures.reference.queries[0], k: 0), [])
        XCTAssertEqual(index.score(terms: ["zzzz"], document: 0), 0)
    }

    func testRepeatedQueryTermsCountOncePerOccurrence() throws {
        let index = try Fixtures.referenceIndex()
        let term = Fixtures.reference.documents[0][0]
        let once = index.score(terms: [term], document: 0)
        XCTAssertGreaterThan(once, 0)
        XCTAssertEqual(index.score(terms: [term, term], document: 0), 2 * once)
    }
}
