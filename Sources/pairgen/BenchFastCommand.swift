import Foundation
import MT5

/// `pairgen bench fast`: what the fast mode's two parts (vocabulary trimming and 8-bit
/// weights), alone and together, do to the output.
enum BenchFastCommand {
    static let usage = """
        usage: pairgen bench fast --model DIR --input FILE [--passages N] [--steps L]
                                  [--threads T]

        Compares the exact model with three variants on the first N passages of the input
        (default 20): the vocabulary trimmed to the tokens of the whole input file, the 8-bit
        weights, and both (what --fast runs). For each: the per-step log-probability error of
        the exact greedy token and the top-10 agreement over L steps (default 16) along the
        exact greedy path, and how many greedy and beam outputs (the model card's beam recipe,
        L new tokens) change.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        let parsed = try ParsedArguments(
            arguments, valueFlags: ["--model", "--input", "--passages", "--steps", "--threads"],
            usage: usage)
        try parsed.rejectPositionals()
        let model = try parsed.required("--model")
        let input = try parsed.required("--input")
        let count = try parsed.int("--passages", in: 1...100_000) ?? 20
        let steps = try parsed.int("--steps", in: 1...1024) ?? 16
        let threads = try parsed.int("--threads", in: 1...1024)
            ?? ProcessInfo.processInfo.activeProcessorCount
        let modelURL = try GenerateCommand.modelDirectory(model)
        let texts = try GenerateCommand.allTexts(input)
        guard !texts.isEmpty else { throw CommandFailure("\(input): no passages") }
        let exact = try QueryGenerator(modelDirectory: modelURL, threads: threads)
        let passages = Array(texts.prefix(count))

        var greedy = GenerationOptions()
        greedy.maxNewTokens = steps
        var beam = GenerationOptions.modelCardBeam
        beam.maxNewTokens = steps
        let seeds = passages.map { _ in UInt64(0) }
        let exactGreedy = try exact.generate(passages: passages, options: greedy, seeds: seeds)
        let exactBeam = try exact.generate(passages: passages, options: beam, seeds: seeds)

        let quantized = try QueryGenerator(
            modelDirectory: modelURL, threads: threads, quantized: true)
        print("passages: \(passages.count), steps: \(steps), vocabulary: "
            + "\(exact.config.vocabularySize) tokens")
        print("variant          tokens  missing  logp err mean    max  top-10  greedy changed"
            + "  beam changed")
        for variant in ["trimming", "8-bit", "fast (both)"] {
            let fast = variant == "trimming" ? exact : quantized
            if variant == "8-bit" {
                fast.useFullOutputVocabulary()
            } else {
                try fast.restrictOutputVocabulary(toTokensOf: texts)
            }
            let fastGreedy = try fast.generate(passages: passages, options: greedy, seeds: seeds)
            let fastBeam = try fast.generate(passages: passages, options: beam, seeds: seeds)
            var effect = FastModeEffect()
            for passage in passages {
                effect.merge(try exact.fastModeEffect(
                    of: fast, passage: passage, steps: steps,
                    maxInputTokens: greedy.maxInputTokens))
            }
            let greedyChanged = zip(exactGreedy, fastGreedy).filter {
                $0.0.map(\.tokenIDs) != $0.1.map(\.tokenIDs)
            }.count
            let beamChanged = zip(exactBeam.joined(), fastBeam.joined()).filter {
                $0.0.tokenIDs != $0.1.tokenIDs
            }.count
            // Error figures exist only for steps whose exact token the variant can score.
            let measured = effect.steps > effect.stepsWithTokenMissing
            func error(_ value: Double, _ format: String, _ width: Int) -> String {
                measured ? String(format: format, value)
                    : String(repeating: " ", count: width - 3) + "n/a"
            }
            let cells = [
                variant.padding(toLength: 15, withPad: " ", startingAt: 0),
                String(format: "%7d", fast.outputVocabularySize),
                String(format: "%8d", effect.stepsWithTokenMissing),
                error(effect.meanLogProbabilityError, "%14.4f", 14),
                error(effect.maxLogProbabilityError, "%6.4f", 6),
                String(format: "%6.1f%%", effect.meanTop10Agreement * 100),
                String(format: "%10d of %-3d", greedyChanged, passages.count),
                String(format: "%6d of %d", beamChanged, exactBeam.joined().count),
            ]
            print(cells.joined(separator: " "))
        }
        print("missing: steps whose exact greedy token is outside the trimmed vocabulary "
            + "(of \(passages.count * steps) at most); the log-probability errors are over the "
            + "other steps")
        return ExitStatus.success
    }
}
