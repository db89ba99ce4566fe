import XCTest

@testable import BM25

/// Saving, memory-mapped loading, determinism and corruption detection.
final class PersistenceTests: XCTestCase {
    private func build(threads: Int = 4) throws -> BM25Index {
        let builder = try BM25IndexBuilder(
            analyzer: Analyzer(language: "pt", foldAccents: true),
            parameters: BM25Parameters(k1: 1.5, b: 0.6, variant: .atire))
        builder.analysisThreads = threads
        for (number, terms) in Fixtures.reference.documents.enumerated() {
            builder.add(id: "machado-\(number)", text: terms.joined(separator: " "))
        }
        // A term frequency above what 16 bits hold takes the large-frequency table.
        builder.add(id: "long", terms: Array(repeating: "eco", count: 70_000) + ["fim"])
        return builder.finish()
    }

    func testSavedIndexLoadsWithTheSameAnswers() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let index = try build()
        let file = directory.appendingPathComponent("index.bm25")
        try index.save(to: file)
        let loaded = try BM25Index.load(from: file)

        XCTAssertEqual(loaded.documentCount, index.documentCount)
        XCTAssertEqual(loaded.analyzer, index.analyzer)
        XCTAssertEqual(loaded.parameters, index.parameters)
        XCTAssertEqual(loaded.documentID(0), "machado-0")
        XCTAssertEqual(loaded.documentID(index.documentCount - 1), "long")
        for query in Fixtures.reference.queries {
            let text = query.joined(separator: " ")
            XCTAssertEqual(loaded.search(text, k: 10), index.search(text, k: 10))
        }
        let long = index.documentCount - 1
        XCTAssertEqual(loaded.score("eco", document: long), index.score("eco", document: long))
        XCTAssertGreaterThan(loaded.score("eco", document: long), 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        XCTAssertEqual((attributes[.size] as! NSNumber).intValue, index.byteCount)
    }

    func testSameInputGivesTheSameBytesOnAnyThreadCount() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let first = directory.appendingPathComponent("a.bm25")
        let second = directory.appendingPathComponent("b.bm25")
        try build(threads: 4).save(to: first)
        try build(threads: 1).save(to: second)
        XCTAssertEqual(try Data(contentsOf: first), try Data(contentsOf: second))
    }

    func testCorruptionIsDetected() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let file = directory.appendingPathComponent("index.bm25")
        try build().save(to: file)
        let good = try Data(contentsOf: file)

        var cases: [(String, Data)] = []
        for offset in [0, 20, 40, 200, good.count / 2, good.count - 1] {
            var flipped = good
            flipped[offset] ^= 0x10
            cases.append(("byte \(offset) flipped", flipped))
        }
        cases.append(("truncated", good.prefix(good.count - 8)))
        cases.append(("header only", good.prefix(96)))
        cases.append(("empty", Data()))
        cases.append(("extended", good + Data([0, 0, 0, 0, 0, 0, 0, 0])))
        for (name, bytes) in cases {
            let damaged = directory.appendingPathComponent("damaged.bm25")
            try bytes.write(to: damaged)
            XCTAssertThrowsError(try BM25Index.load(from: damaged), name) { error in
                guard case .corruptIndex(let path, _) = error as? BM25Error else {
                    return XCTFail("\(name): unexpected \(error)")
                }
                XCTAssertEqual(path, damaged.path, name)
            }
        }
    }

    func testEmptyIndexSavesLoadsAndFindsNothing() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let file = directory.appendingPathComponent("empty.bm25")
        try BM25IndexBuilder(analyzer: Analyzer(language: "en")).finish().save(to: file)
        let loaded = try BM25Index.load(from: file)
        XCTAssertEqual(loaded.documentCount, 0)
        XCTAssertEqual(loaded.search("anything at all", k: 10), [])
    }

    func testMissingFileNamesThePath() {
        let missing = URL(fileURLWithPath: "/nonexistent/index.bm25")
        XCTAssertThrowsError(try BM25Index.load(from: missing)) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/index.bm25"), "\(error)")
        }
    }
}
