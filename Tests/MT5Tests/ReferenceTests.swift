import Foundation
import XCTest
@testable import MT5

/// Our outputs against HF transformers' on the same random checkpoints and real passages.
final class ReferenceTests: XCTestCase {
    static let models = ["tiny", "odd", "tied"]

    func testTokenizerMatchesHF() throws {
        for name in Self.models {
            let reference = try Fixtures.reference(name)
            let generator = try Fixtures.generator(name)
            for testCase in reference.cases {
                let ids = try generator.tokenizer.encode(
                    Fixtures.passages[testCase.passage], maxTokens: reference.max_input_tokens)
                XCTAssertEqual(ids, testCase.input_ids, "\(name) passage \(testCase.passage)")
            }
        }
        // One passage is longer than 320 pieces, so truncation with </s> kept is exercised.
        let longest = try Fixtures.reference("tiny").cases.map(\.input_ids.count).max()
        XCTAssertEqual(longest, 320)
    }

    func testFirstStepLogProbabilitiesMatchHF() throws {
        for name in Self.models {
            let reference = try Fixtures.reference(name)
            let generator = try Fixtures.generator(name)
            for testCase in reference.cases {
                let logits = generator.nextTokenLogits(
                    inputIDs: testCase.input_ids,
                    decoderIDs: [generator.config.decoderStartTokenID])
                var logProbabilities = [Float](repeating: 0, count: logits.count)
                logits.withUnsafeBufferPointer { input in
                    logProbabilities.withUnsafeMutableBufferPointer { output in
                        logSoftmax(input.baseAddress!, count: input.count,
                            into: output.baseAddress!)
                    }
                }
                let step = testCase.first_step
                for (id, expected) in zip(step.ids + step.top_ids,
                    step.log_probs + step.top_log_probs)
                {
                    XCTAssertEqual(logProbabilities[id], expected, accuracy: 1e-4,
                        "\(name) passage \(testCase.passage) token \(id)")
                }
                let top = logProbabilities.indices.sorted {
                    logProbabilities[$0] > logProbabilities[$1]
                }.prefix(step.top_ids.count)
                XCTAssertEqual(Array(top), step.top_ids, "\(name) passage \(testCase.passage)")
            }
        }
    }

    func testGreedyTokensMatchHF() throws {
        for name in Self.models {
            let reference = try Fixtures.reference(name)
            let generator = try Fixtures.generator(name)
            var options = GenerationOptions()
            options.maxLength = reference.greedy["max_length"]!
            let passages = reference.cases.map { Fixtures.passages[$0.passage] }
            let results = try generator.generate(
                passages: passages, options: options, seeds: passages.map { _ in 0 })
            for (testCase, queries) in zip(reference.cases, results) {
                XCTAssertEqual(queries.map(\.tokenIDs), [testCase.greedy],
                    "\(name) passage \(testCase.passage)")
            }
        }
    }

    func testBeamSearchMatchesHF() throws {
        for name in Self.models {
            let reference = try Fixtures.reference(name)
            let generator = try Fixtures.generator(name)
            let passages = reference.cases.map { Fixtures.passages[$0.passage] }
            for (recipeName, recipe) in reference.beam_recipes.sorted(by: { $0.key < $1.key }) {
                // All passages in one batch: batching must not change any passage's beams.
                let results = try generator.generate(
                    passages: passages, options: recipe.options,
                    seeds: passages.map { _ in 0 })
                for (testCase, queries) in zip(reference.cases, results) {
                    let expected = testCase.beam[recipeName]!
                    let label = "\(name) \(recipeName) passage \(testCase.passage)"
                    XCTAssertEqual(queries.map(\.tokenIDs), expected.sequences, label)
                    XCTAssertEqual(queries.map(\.text), expected.texts, label)
                    for (query, score) in zip(queries, expected.scores) {
                        XCTAssertEqual(query.score, score, accuracy: 1e-4, label)
                    }
                }
            }
        }
    }

    func testSamplingDistributionsMatchHFWarpers() throws {
        for name in Self.models {
            let reference = try Fixtures.reference(name)
            let generator = try Fixtures.generator(name)
            for testCase in reference.cases {
                for (recipeName, steps) in testCase.sampling {
                    let recipe = reference.sampling_recipes[recipeName]!
                    for step in steps {
                        var scores = generator.nextTokenLogits(
                            inputIDs: testCase.input_ids, decoderIDs: step.prefix)
                        scores.withUnsafeMutableBufferPointer { buffer in
                            warpForSampling(
                                buffer.baseAddress!, count: buffer.count,
                                temperature: recipe.temperature, topK: recipe.top_k,
                                topP: recipe.top_p)
                            softmaxInPlace(buffer.baseAddress!, count: buffer.count)
                        }
                        let kept = scores.indices.filter { scores[$0] > 0 }
                        let label = "\(name) \(recipeName) passage \(testCase.passage) "
                            + "prefix \(step.prefix)"
                        XCTAssertEqual(kept, step.ids, label)
                        for (id, probability) in zip(step.ids, step.probs) {
                            XCTAssertEqual(scores[id], probability, accuracy: 1e-5, label)
                        }
                    }
                }
            }
        }
    }
}
