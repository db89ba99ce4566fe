import Foundation
import XCTest

/// `pairgen bench fast` and `bench generate` on the tiny fixture: they run, and bad input gets
/// a clear error.
final class BenchCLITests: XCTestCase {
    private let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("MT5Tests/Fixtures/tiny").path

    private func file(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("pairgen-bench-\(UUID().uuidString).txt")
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testBenchFastComparesEachPartOfTheFastMode() throws {
        let input = try file("Um texto sobre futebol.\nOutro texto, sobre política.\n")
        let result = try runPairGen([
            "bench", "fast", "--model", model, "--input", input.path, "--steps", "4",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        let rows = result.standardOutput.split(separator: "\n").map(String.init)
        for variant in ["trimming", "8-bit", "fast (both)"] {
            let row = try XCTUnwrap(rows.first { $0.hasPrefix(variant) }, result.standardOutput)
            XCTAssertTrue(row.contains("of 2"), row)
        }
        // 8-bit weights score every token: none is missing, and the error is measured.
        let eightBit = rows.first { $0.hasPrefix("8-bit") }!
            .split(separator: " ", omittingEmptySubsequences: true)
        XCTAssertEqual(eightBit[1], "32128")
        XCTAssertEqual(eightBit[2], "0")
        XCTAssertNotNil(Double(eightBit[3]))
    }

    func testBadInputGetsAClearError() throws {
        let empty = try file("")
        let some = try file("Um texto.\n")
        let cases: [([String], Int32, String)] = [
            (["bench", "fast", "--model", model, "--input", empty.path], 1, "no passages"),
            (["bench", "generate", "--model", model, "--input", empty.path], 1, "no passages"),
            (["bench", "fast", "--model", model, "--input", some.path, "extra"], 2,
                "unexpected argument 'extra'"),
            (["bench", "generate", "--model", model], 2, "--input is required"),
            (["bench", "fast", "--model", some.path, "--input", some.path], 1,
                "is a file; --model needs a checkpoint directory"),
        ]
        for (arguments, status, message) in cases {
            let result = try runPairGen(arguments)
            XCTAssertEqual(result.status, status, "\(arguments): \(result.standardError)")
            XCTAssertTrue(result.standardError.contains(message),
                "\(arguments): \(result.standardError)")
        }
    }
}
