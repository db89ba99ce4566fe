import Foundation
import MT5

/// `pairgen bench trimming`: what the fast mode's vocabulary trimming does to the output.
enum BenchTrimmingCommand {
    static let usage = """
        usage: pairgen bench trimming --model DIR --input FILE [--passages N] [--steps L]
                                      [--threads T]

        Trims the vocabulary to the tokens of the whole input file, as --fast does, then on
        the first N passages (default 20) compares with the full vocabulary: the exact greedy
        path's per-step log-probability error and top-10 agreement over L steps (default 16),
        and how many greedy and beam outputs (the model card's beam recipe) change.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        let parsed = try ParsedArguments(
            arguments, valueFlags: ["--model", "--input", "--passages", "--steps", "--threads"],
            usage: usage)
        guard let model = parsed.string("--model"), let input = parsed.string("--input") else {
            throw UsageError(message: "--model and --input are required", usage: usage)
        }
        let count = try parsed.int("--passages", in: 1...100_000) ?? 20
        let steps = try parsed.int("--steps", in: 1...1024) ?? 16
        let threads = try parsed.int("--threads", in: 1...1024)
            ?? ProcessInfo.processInfo.activeProcessorCount
        let generator = try QueryGenerator(
            modelDirectory: URL(fileURLWithPath: model), threads: threads)
        let texts = try GenerateCommand.allTexts(input)
        let passages = Array(texts.prefix(count))

        var greedy = GenerationOptions()
        greedy.maxNewTokens = steps
        var beam = GenerationOptions.modelCardBeam
        beam.maxNewTokens = steps
        let seeds = passages.map { _ in UInt64(0) }
        let exactGreedy = try generator.generate(passages: passages, options: greedy, seeds: seeds)
        let exactBeam = try generator.generate(passages: passages, options: beam, seeds: seeds)

        let kept = try generator.restrictOutputVocabulary(toTokensOf: texts)
        let fastGreedy = try generator.generate(passages: passages, options: greedy, seeds: seeds)
        let fastBeam = try generator.generate(passages: passages, options: beam, seeds: seeds)
        var effect = TrimmingEffect()
        for passage in passages {
            effect.merge(try generator.trimmingEffect(
                passage: passage, steps: steps, maxInputTokens: 320))
        }

        let greedyChanged = zip(exactGreedy, fastGreedy).filter {
            $0.0.map(\.tokenIDs) != $0.1.map(\.tokenIDs)
        }.count
        let beamChanged = zip(exactBeam.joined(), fastBeam.joined()).filter {
            $0.0.tokenIDs != $0.1.tokenIDs
        }.count
        let beamTotal = exactBeam.joined().count
        print("""
            vocabulary: \(kept) of \(generator.config.vocabularySize) tokens kept
            passages: \(passages.count), steps compared: \(effect.steps)
            greedy token outside the trimmed vocabulary: \(effect.stepsWithTokenMissing) steps
            log-probability error of the greedy token: mean \
            \(String(format: "%.4f", effect.meanLogProbabilityError)), \
            max \(String(format: "%.4f", effect.maxLogProbabilityError))
            top-10 agreement per step: \(String(format: "%.1f%%", effect.meanTop10Agreement * 100))
            greedy outputs changed: \(greedyChanged) of \(passages.count)
            beam outputs changed: \(beamChanged) of \(beamTotal)
            """)
        return ExitStatus.success
    }
}
