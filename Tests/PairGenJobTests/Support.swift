import Corpus
import Foundation
import MT5
import XCTest
@testable import PairGenJob

/// A fresh directory removed after the test.
func scratchDirectory(_ test: XCTestCase) throws -> URL {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("pairgen-job-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    return directory
}

/// A generator that needs no model: each query is a few words of the passage picked with the
/// passage's seed, so that it is deterministic and depends on nothing else.
final class FakeQueryWriter: QueryWriting {
    let perPassage: Int
    var calls = 0
    init(perPassage: Int = 3) { self.perPassage = perPassage }
    var modelFingerprint: String { "fake-model" }
    var tokenizerFingerprint: String { "fake-tokenizer" }

    func queries(for texts: [String], seeds: [UInt64]) throws -> [[GeneratedQuery]] {
        calls += 1
        return zip(texts, seeds).map { text, seed in
            var generator = SplitMix64(seed: seed)
            let words = text.split(separator: " ")
            return (0..<perPassage).map { _ in
                let picked = (0..<3).map { _ in String(words[generator.below(words.count)]) }
                return GeneratedQuery(text: picked.joined(separator: " "), tokenIDs: [0],
                    score: -1)
            }
        }
    }
}

/// Sixty Portuguese-like passages sharing some words, so BM25 has rankings to mine.
func writeSmallCorpus(to url: URL, count: Int = 60) throws {
    let vocabulary = [
        "casa", "rio", "governo", "eleição", "futebol", "cidade", "banco", "mercado",
        "escola", "saúde", "polícia", "praia", "música", "cinema", "livro", "empresa", "preço",
        "trabalho", "jogo", "presidente"]
    var generator = SplitMix64(seed: 7)
    var lines: [String] = []
    for number in 0..<count {
        let words = (0..<24).map { _ in vocabulary[generator.below(vocabulary.count)] }
        let text = "Passagem \(number) fala de " + words.joined(separator: " ") + "."
        lines.append(#"{"_id": "p\#(number)", "title": "T\#(number)", "text": "\#(text)"}"#)
    }
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
}
