import Foundation
import XCTest

/// `pairgen generate` run as a user runs it, on the tiny fixture checkpoint.
final class GenerateCLITests: XCTestCase {
    private let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("MT5Tests/Fixtures/tiny").path

    private func input(_ lines: [String], suffix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("pairgen-generate-\(UUID().uuidString).\(suffix)")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true,
            encoding: .utf8)
        return url
    }

    func testJSONLInputGivesOneLinePerPassageInOrder() throws {
        let url = try input([
            #"{"_id": "a", "title": "Título", "text": "Um texto sobre futebol."}"#,
            #"{"id": 7, "text": "Outro texto, sobre política."}"#,
            "not json",
            #"{"id": "c", "text": "O terceiro texto."}"#,
        ], suffix: "jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try runPairGen([
            "generate", "--model", model, "--input", url.path, "--decoding", "beam",
            "--num-queries", "3", "--max-length", "8", "--no-repeat-ngram", "2",
            "--early-stopping", "--batch-passages", "2",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        let lines = result.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        let objects = try lines.map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(objects.map { $0["id"] as? String }, ["a", "7", "c"])
        for object in objects {
            let queries = object["queries"] as! [[String: Any]]
            XCTAssertEqual(queries.count, 3)
            XCTAssertEqual((queries[0]["token_ids"] as! [Int]).first, 0)
        }
        XCTAssertTrue(lines[0].hasPrefix(#"{"id":"a","queries":[{"text":"#))
        XCTAssertTrue(result.standardError.contains(":3:"), result.standardError)
    }

    func testSamplingWithASeedRepeats() throws {
        let url = try input(["Primeira passagem.", "Segunda passagem."], suffix: "txt")
        defer { try? FileManager.default.removeItem(at: url) }
        let arguments = [
            "generate", "--model", model, "--input", url.path, "--decoding", "sample",
            "--num-queries", "2", "--top-k", "10", "--top-p", "0.95", "--max-length", "8",
            "--seed", "5",
        ]
        let first = try runPairGen(arguments)
        let second = try runPairGen(arguments)
        XCTAssertEqual(first.status, 0, first.standardError)
        XCTAssertEqual(first.standardOutput, second.standardOutput)
        XCTAssertEqual(first.standardOutput.split(separator: "\n").count, 2)
    }

    func testBadFlagsExitWithUsage() throws {
        for arguments in [
            ["generate", "--model", model],
            ["generate", "--model", model, "--input", "x.txt", "--top-p", "1.5"],
            ["generate", "--model", model, "--input", "x.txt", "--decoding", "magic"],
            ["generate", "--model", model, "--input", "x.txt", "--frobnicate"],
            ["generate", "--model", model, "--input", "x.txt", "--decoding", "beam",
             "--num-beams", "2", "--num-queries", "3"],
        ] {
            let result = try runPairGen(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.standardError)")
            XCTAssertTrue(result.standardError.contains("usage: pairgen generate"))
        }
    }

    func testMissingModelIsARuntimeError() throws {
        let url = try input(["Uma passagem."], suffix: "txt")
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try runPairGen(["generate", "--model", "/nonexistent/model",
            "--input", url.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.standardError.contains("/nonexistent/model"))
    }
}
