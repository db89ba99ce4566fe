import Foundation
import XCTest
@testable import MT5

/// Properties of generation that HF's references cannot show: seeds, batching, file formats.
final class GenerationTests: XCTestCase {
    private var samplingOptions: GenerationOptions {
        var options = GenerationOptions.modelCardSampling
        options.maxLength = 12
        return options
    }

    func testSameSeedRepeatsAndDifferentSeedsDiffer() throws {
        let generator = try Fixtures.generator("tiny")
        let passages = Array(Fixtures.passages.prefix(3))
        let first = try generator.generate(
            passages: passages, options: samplingOptions, seeds: [1, 2, 3])
        let again = try generator.generate(
            passages: passages, options: samplingOptions, seeds: [1, 2, 3])
        let other = try generator.generate(
            passages: passages, options: samplingOptions, seeds: [4, 5, 6])
        XCTAssertEqual(first, again)
        XCTAssertNotEqual(first.map { $0.map(\.tokenIDs) }, other.map { $0.map(\.tokenIDs) })
        // The five samples of one passage are not all the same sequence.
        XCTAssertGreaterThan(Set(first[0].map(\.tokenIDs)).count, 1)
        XCTAssertEqual(first.map(\.count), [5, 5, 5])
    }

    func testBatchingAndThreadsDoNotChangeAPassagesQueries() throws {
        let generator = try Fixtures.generator("odd")
        let singleThreaded = try QueryGenerator(
            modelDirectory: Fixtures.checkpoint("odd"), threads: 1)
        let passages = Array(Fixtures.passages.prefix(4))
        let seeds: [UInt64] = [11, 12, 13, 14]
        for options in [samplingOptions, GenerationOptions.modelCardBeam] {
            let batched = try generator.generate(
                passages: passages, options: options, seeds: seeds)
            // The thread count never changes a value.
            let oneThread = try singleThreaded.generate(
                passages: passages, options: options, seeds: seeds)
            XCTAssertEqual(oneThread, batched)
            // A batch's size and a row's place in it may change how OpenBLAS rounds the row's
            // products in the last bits (the job keeps batches in place for that reason): the
            // same tokens, scores within float noise.
            for index in passages.indices {
                let alone = try generator.generate(
                    passages: [passages[index]], options: options, seeds: [seeds[index]])
                XCTAssertEqual(alone[0].map(\.tokenIDs), batched[index].map(\.tokenIDs))
                for (one, other) in zip(alone[0], batched[index]) {
                    XCTAssertEqual(one.score, other.score, accuracy: 1e-4)
                }
            }
        }
    }

    func testPickleAndSafetensorsCopiesGiveIdenticalOutput() throws {
        let safetensors = try Fixtures.generator("odd")
        let pickle = try Fixtures.generator("odd-bin")
        XCTAssertTrue(pickle.weights.store.files.map(\.lastPathComponent)
            .contains("pytorch_model.bin"))
        let passages = Array(Fixtures.passages.prefix(3))
        for options in [samplingOptions, GenerationOptions.modelCardBeam, GenerationOptions()] {
            XCTAssertEqual(
                try safetensors.generate(passages: passages, options: options, seeds: [1, 2, 3]),
                try pickle.generate(passages: passages, options: options, seeds: [1, 2, 3]))
        }
    }

    func testModelCardRecipesRunAsWritten() throws {
        let generator = try Fixtures.generator("tiny")
        let passage = [Fixtures.passages[1]]
        let beam = try generator.generate(
            passages: passage, options: .modelCardBeam, seeds: [0])
        XCTAssertEqual(beam[0].count, 5)
        XCTAssertTrue(beam[0].allSatisfy { $0.tokenIDs.first == 0 && $0.tokenIDs.count <= 64 })
        // Scores come best first.
        XCTAssertEqual(beam[0].map(\.score), beam[0].map(\.score).sorted(by: >))
        let sampled = try generator.generate(
            passages: passage, options: .modelCardSampling, seeds: [0])
        XCTAssertEqual(sampled[0].count, 5)
    }

    func testMinAndMaxNewTokensBoundTheLength() throws {
        let generator = try Fixtures.generator("odd")
        var options = samplingOptions
        options.minNewTokens = 6
        options.maxNewTokens = 6
        let results = try generator.generate(
            passages: Array(Fixtures.passages.prefix(3)), options: options, seeds: [7, 8, 9])
        for query in results.joined() {
            XCTAssertEqual(query.tokenIDs.count, 7, "\(query.tokenIDs)")
        }
    }

    func testDecodingSkipsSpecialAndOutOfVocabularyIDs() throws {
        let tokenizer = try Fixtures.generator("tiny").tokenizer
        // 32099 is a sentinel slot and 32100..<32128 are embedding rows the tokenizer lacks.
        let plain = tokenizer.decode([500, 7, 8])
        XCTAssertEqual(tokenizer.decode([0, 500, 32099, 7, 32127, 1, 8, 2]), plain)
        XCTAssertEqual(tokenizer.decode([32100, -1, 999_999]), "")
    }

    func testBadOptionsAreNamed() throws {
        var options = GenerationOptions()
        options.decoding = .beam
        options.numBeams = 2
        options.numReturnSequences = 3
        XCTAssertThrowsError(try options.validate()) { error in
            XCTAssertTrue("\(error)".contains("num_return_sequences"), "\(error)")
        }
        options = GenerationOptions()
        options.topP = 0
        XCTAssertThrowsError(try options.validate()) { error in
            XCTAssertTrue("\(error)".contains("top_p"), "\(error)")
        }
    }
}

/// A trimmed vocabulary small enough for the processors to ban every token.
final class ExhaustedVocabularyTests: XCTestCase {
    func testEveryDecodingEndsTheQueryWhenEveryTokenIsBanned() throws {
        let generator = try QueryGenerator(
            modelDirectory: Fixtures.checkpoint("tiny"), threads: 2, quantized: true)
        // "a" leaves a handful of tokens; with no token allowed twice they run out.
        let kept = try generator.restrictOutputVocabulary(toTokensOf: ["a"])
        XCTAssertLessThan(kept, 8)
        for decoding in [GenerationOptions.Decoding.sample, .greedy, .beam] {
            var options = decoding == .beam ? GenerationOptions.modelCardBeam
                : GenerationOptions.modelCardSampling
            options.decoding = decoding
            if decoding == .greedy { options.numReturnSequences = 1 }
            options.noRepeatNgramSize = 1
            options.maxNewTokens = 12
            options.minNewTokens = 3
            let results = try generator.generate(passages: ["a", "a a"], options: options,
                seeds: [1, 2])
            for query in results.joined() {
                XCTAssertEqual(query.tokenIDs.first, generator.config.decoderStartTokenID,
                    "\(decoding)")
                XCTAssertEqual(query.tokenIDs.last, generator.config.endOfSequenceTokenID,
                    "\(decoding): \(query.tokenIDs)")
                XCTAssertLessThanOrEqual(query.tokenIDs.count, kept + 1, "\(decoding)")
                XCTAssertTrue(query.score.isFinite, "\(decoding)")
            }
        }
    }
}
