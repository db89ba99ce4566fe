import Foundation
import XCTest

@testable import BM25

/// The committed fixtures (made by Fixtures/make_bm25_reference.py).
enum Fixtures {
    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// bm25s_scores.json: bm25s tokens of 300 Machado paragraphs and 40 Bosque titles, with
    /// bm25s's float64 top-50 (document, score) pairs per variant.
    struct Reference: Decodable {
        let documents: [[String]]
        let queries: [[String]]
        let lucene: [[[Double]]]
        let robertson: [[[Double]]]
        let atire: [[[Double]]]

        func results(_ variant: BM25Variant) -> [[[Double]]] {
            switch variant {
            case .lucene: return lucene
            case .robertson: return robertson
            case .atire: return atire
            }
        }
    }

    static let reference: Reference = {
        let data = try! Data(contentsOf: url("bm25s_scores.json"))
        return try! JSONDecoder().decode(Reference.self, from: data)
    }()

    /// An index over the reference documents, analysed by bm25s.
    static func referenceIndex(_ parameters: BM25Parameters = .init()) throws -> BM25Index {
        let builder = try BM25IndexBuilder(
            analyzer: Analyzer(language: "pt", removeStopwords: false, stem: false),
            parameters: parameters)
        for (number, terms) in reference.documents.enumerated() {
            builder.add(id: "doc\(number)", terms: terms)
        }
        return builder.finish()
    }

    /// A temporary directory removed at the end of the test.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("bm25-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }
}
