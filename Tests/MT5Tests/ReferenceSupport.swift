import Foundation
import XCTest
@testable import MT5

/// The committed fixtures: random checkpoints and HF transformers' outputs for them, made by
/// Fixtures/make_mt5_fixtures.py.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func checkpoint(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static let passages: [String] = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("passages.json"))
        return try! JSONDecoder().decode([String].self, from: data)
    }()

    static func reference(_ name: String) throws -> Reference {
        let url = checkpoint(name).appendingPathComponent("reference.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    /// Loaded generators, shared by the tests of one process.
    nonisolated(unsafe) private static var generators: [String: QueryGenerator] = [:]
    private static let lock = NSLock()

    static func generator(_ name: String) throws -> QueryGenerator {
        lock.lock()
        defer { lock.unlock() }
        if let cached = generators[name] { return cached }
        let generator = try QueryGenerator(modelDirectory: checkpoint(name), threads: 2)
        generators[name] = generator
        return generator
    }
}

/// reference.json, as the fixture script writes it.
struct Reference: Decodable {
    struct BeamRecipe: Decodable {
        var max_length: Int?
        var max_new_tokens: Int?
        var num_beams: Int
        var num_return_sequences: Int
        var no_repeat_ngram_size: Int?
        var length_penalty: Double?
        var min_new_tokens: Int?
        var early_stopping: Bool
    }
    struct SamplingRecipe: Decodable {
        var temperature: Double
        var top_k: Int
        var top_p: Double
    }
    struct FirstStep: Decodable {
        var top_ids: [Int]
        var top_log_probs: [Float]
        var ids: [Int]
        var log_probs: [Float]
    }
    struct BeamResult: Decodable {
        var sequences: [[Int32]]
        var scores: [Double]
        var texts: [String]
    }
    struct SamplingStep: Decodable {
        var prefix: [Int32]
        var ids: [Int]
        var probs: [Float]
    }
    struct Case: Decodable {
        var passage: Int
        var input_ids: [Int32]
        var greedy: [Int32]
        var first_step: FirstStep
        var beam: [String: BeamResult]
        var sampling: [String: [SamplingStep]]
    }
    var beam_recipes: [String: BeamRecipe]
    var sampling_recipes: [String: SamplingRecipe]
    var greedy: [String: Int]
    var max_input_tokens: Int
    var cases: [Case]
}

extension Reference.BeamRecipe {
    var options: GenerationOptions {
        var options = GenerationOptions()
        options.decoding = .beam
        if let max_length { options.maxLength = max_length }
        options.maxNewTokens = max_new_tokens
        options.numBeams = num_beams
        options.numReturnSequences = num_return_sequences
        options.noRepeatNgramSize = no_repeat_ngram_size ?? 0
        options.lengthPenalty = length_penalty ?? 1
        options.minNewTokens = min_new_tokens ?? 0
        options.earlyStopping = early_stopping
        return options
    }
}
