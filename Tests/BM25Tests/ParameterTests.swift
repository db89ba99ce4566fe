import XCTest

@testable import BM25

/// Bad parameters are refused with errors naming the parameter and its value.
final class ParameterTests: XCTestCase {
    private func assertRejected(
        _ parameters: BM25Parameters, name: String, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try parameters.validate(), file: file, line: line) { error in
            guard case .invalidParameter(let parameter, _, _) = error as? BM25Error else {
                return XCTFail("unexpected \(error)", file: file, line: line)
            }
            XCTAssertEqual(parameter, name, file: file, line: line)
            XCTAssertTrue("\(error)".contains(name), "\(error)", file: file, line: line)
        }
        XCTAssertThrowsError(
            try BM25IndexBuilder(analyzer: Analyzer(language: "en"), parameters: parameters),
            file: file, line: line)
    }

    func testOutOfRangeParametersAreRejected() {
        assertRejected(BM25Parameters(k1: -0.1), name: "k1")
        assertRejected(BM25Parameters(k1: .nan), name: "k1")
        assertRejected(BM25Parameters(k1: .infinity), name: "k1")
        assertRejected(BM25Parameters(b: -0.01), name: "b")
        assertRejected(BM25Parameters(b: 1.5), name: "b")
        assertRejected(BM25Parameters(b: .nan), name: "b")
    }

    func testErrorNamesTheValue() {
        XCTAssertThrowsError(try BM25Parameters(k1: -2.5).validate()) { error in
            XCTAssertTrue("\(error)".contains("-2.5"), "\(error)")
        }
        XCTAssertThrowsError(try BM25Parameters(b: 1.25).validate()) { error in
            XCTAssertTrue("\(error)".contains("1.25"), "\(error)")
        }
    }

    func testLimitsAreAccepted() throws {
        for parameters in [
            BM25Parameters(k1: 0, b: 0), BM25Parameters(k1: 100, b: 1), BM25Parameters(),
        ] {
            XCTAssertNoThrow(try parameters.validate())
        }
        // k1 = 0 makes every matching term worth its idf alone.
        let builder = try BM25IndexBuilder(
            analyzer: Analyzer(language: "en", removeStopwords: false, stem: false),
            parameters: BM25Parameters(k1: 0, b: 0))
        builder.add(id: "a", terms: ["x", "x", "y"])
        builder.add(id: "b", terms: ["y"])
        let index = builder.finish()
        let idf = log(1 + (2 - 1 + 0.5) / (1 + 0.5))
        XCTAssertEqual(index.score(terms: ["x"], document: 0), idf, accuracy: 1e-12)
    }

    func testFormulasByHand() throws {
        // N = 3, avgdl = 2; document 0 has dl = 3 and tf("a") = 2; df("a") = 2.
        let documents = [["a", "a", "b"], ["a", "c"], ["d"]]
        let (k1, b) = (1.2, 0.75)
        let norm = k1 * ((1 - b) + b * 3 / 2)
        let expected: [BM25Variant: Double] = [
            .lucene: log(1 + (3 - 2 + 0.5) / (2 + 0.5)) * 2 / (norm + 2),
            .robertson: log(max(1, (3 - 2 + 0.5) / (2 + 0.5))) * 2 / (norm + 2),
            .atire: log(3.0 / 2) * 2 * (k1 + 1) / (2 + norm),
        ]
        for variant in BM25Variant.allCases {
            let builder = try BM25IndexBuilder(
                analyzer: Analyzer(language: "en", removeStopwords: false, stem: false),
                parameters: BM25Parameters(k1: k1, b: b, variant: variant))
            for (number, terms) in documents.enumerated() {
                builder.add(id: "\(number)", terms: terms)
            }
            let index = builder.finish()
            XCTAssertEqual(index.averageLength, 2)
            // Postings keep the tf part as Float32: within 6e-8 of the score (IndexFile.swift).
            XCTAssertEqual(index.score(terms: ["a"], document: 0), expected[variant]!,
                           accuracy: 1e-7 * expected[variant]!, "\(variant)")
        }
    }
}
