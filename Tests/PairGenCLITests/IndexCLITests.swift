import Foundation
import XCTest

/// `pairgen index build|search|eval` run as a user runs them.
final class IndexCLITests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("pairgen-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let corpus = [
            #"{"_id": "d1", "title": "Futebol", "text": "O clube venceu o campeonato."}"#,
            #"{"_id": "d2", "title": "Política", "text": "O governo anunciou novas eleições."}"#,
            #"{"_id": "d3", "title": "Economia", "text": "A inflação e os juros subiram."}"#,
            "{broken",
        ]
        try (corpus.joined(separator: "\n") + "\n").write(
            to: scratch.appendingPathComponent("corpus.jsonl"), atomically: true, encoding: .utf8)
        let queries = [
            #"{"_id": "q1", "text": "campeonato de futebol"}"#,
            #"{"_id": "q2", "text": "eleições do governo"}"#,
        ]
        try (queries.joined(separator: "\n") + "\n").write(
            to: scratch.appendingPathComponent("queries.jsonl"), atomically: true,
            encoding: .utf8)
        try "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n".write(
            to: scratch.appendingPathComponent("qrels.tsv"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    func testBuildSearchAndEvaluate() throws {
        let build = try runPairGen([
            "index", "build", "--corpus", path("corpus.jsonl"), "--language", "pt",
            "--out", path("index"),
        ])
        XCTAssertEqual(build.status, 0, build.standardError)

        let search = try runPairGen([
            "index", "search", path("index"), "--query", "futebol campeonato", "-k", "2",
        ])
        XCTAssertEqual(search.status, 0, search.standardError)
        let line = try JSONSerialization.jsonObject(
            with: Data(search.standardOutput.split(separator: "\n")[0].utf8)) as! [String: Any]
        let hits = line["hits"] as! [[String: Any]]
        XCTAssertEqual(hits.first?["id"] as? String, "d1")

        let evaluation = try runPairGen([
            "index", "eval", path("index"), "--queries", path("queries.jsonl"),
            "--qrels", path("qrels.tsv"),
        ])
        XCTAssertEqual(evaluation.status, 0, evaluation.standardError)
        XCTAssertTrue(evaluation.standardOutput.contains("ndcg"), evaluation.standardOutput)
    }

    func testCorruptedIndexIsAnError() throws {
        _ = try runPairGen([
            "index", "build", "--corpus", path("corpus.jsonl"), "--language", "pt",
            "--out", path("index"),
        ])
        let file = scratch.appendingPathComponent("index/index.bm25")
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: file)
        let search = try runPairGen(["index", "search", path("index"), "--query", "futebol"])
        XCTAssertEqual(search.status, 1)
        XCTAssertTrue(search.standardError.contains("index.bm25"), search.standardError)
    }

    func testBadParametersExitWithUsage() throws {
        let result = try runPairGen([
            "index", "build", "--corpus", path("corpus.jsonl"), "--language", "pt",
            "--out", path("index"), "--b", "2",
        ])
        XCTAssertEqual(result.status, 2, result.standardError)
        XCTAssertTrue(result.standardError.contains("b"), result.standardError)
        let language = try runPairGen([
            "index", "build", "--corpus", path("corpus.jsonl"), "--language", "klingon",
            "--out", path("index"),
        ])
        XCTAssertNotEqual(language.status, 0)
        XCTAssertTrue(language.standardError.contains("klingon"), language.standardError)
    }
}
