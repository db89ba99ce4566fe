import Corpus
import Foundation
import MT5

/// `pairgen bench generate`: times query generation on real passages with a fixed output
/// length, so that every engine does the same work, and prints one JSON line of figures.
/// Recipes/bench/generate.py runs it beside HF transformers and CTranslate2.
enum BenchGenerateCommand {
    static let usage = """
        usage: pairgen bench generate --model DIR --input FILE [options]

          --workload W          sample (10 queries, top_k 10) or beam (5 beams, 5 returned);
                                both generate exactly --new-tokens tokens (default sample)
          --passages N          passages timed (default 8)
          --new-tokens L        tokens generated per query (default 16)
          --max-input-tokens L  input pieces kept (default 256)
          --batch-passages P    passages decoded together (default 16)
          --threads T           compute threads (default: all cores)
          --warmup N            untimed batches of the same passages first (default 1):
                                the figures are those of a long job, not of a cold start
          --fast                fast mode: 8-bit weights, vocabulary trimmed to the tokens
                                of the whole input file
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        let parsed = try ParsedArguments(
            arguments,
            valueFlags: [
                "--model", "--input", "--workload", "--passages", "--new-tokens",
                "--max-input-tokens", "--batch-passages", "--threads", "--warmup",
            ], switchFlags: ["--fast"], usage: usage)
        try parsed.rejectPositionals()
        let model = try parsed.required("--model")
        let input = try parsed.required("--input")
        let workload = parsed.string("--workload") ?? "sample"
        let passageCount = try parsed.int("--passages", in: 1...100_000) ?? 8
        let newTokens = try parsed.int("--new-tokens", in: 1...1024) ?? 16
        let batchSize = try parsed.int("--batch-passages", in: 1...4096) ?? 16
        let warmup = try parsed.int("--warmup", in: 0...100) ?? 1
        let threads = try parsed.int("--threads", in: 1...1024)
            ?? ProcessInfo.processInfo.activeProcessorCount

        var options: GenerationOptions
        switch workload {
        case "sample":
            options = GenerationOptions()
            options.decoding = .sample
            options.numReturnSequences = 10
            options.topK = 10
        case "beam":
            options = GenerationOptions()
            options.decoding = .beam
            options.numBeams = 5
            options.numReturnSequences = 5
        default:
            throw UsageError(message: "--workload must be sample or beam", usage: usage)
        }
        options.maxNewTokens = newTokens
        options.minNewTokens = newTokens
        options.maxInputTokens = try parsed.int("--max-input-tokens", in: 2...65536) ?? 256

        let loadStart = Date()
        let generator = try QueryGenerator(
            modelDirectory: try GenerateCommand.modelDirectory(model), threads: threads,
            quantized: parsed.has("--fast"))
        var vocabulary = generator.outputVocabularySize
        if parsed.has("--fast") {
            vocabulary = try generator.restrictOutputVocabulary(
                toTokensOf: try GenerateCommand.allTexts(input))
        }
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let passages = try readPassages(input, count: passageCount)
        let firstBatch = Array(passages.prefix(batchSize))
        for _ in 0..<warmup {
            _ = try generator.generate(
                passages: firstBatch, options: options,
                seeds: firstBatch.indices.map { UInt64($0) })
        }

        let start = Date()
        var generatedTokens = 0
        for batchStart in stride(from: 0, to: passages.count, by: batchSize) {
            let batch = Array(passages[batchStart..<min(batchStart + batchSize, passages.count)])
            let results = try generator.generate(
                passages: batch, options: options,
                seeds: batch.indices.map { UInt64($0) })
            generatedTokens += results.joined().reduce(0) { $0 + $1.tokenIDs.count - 1 }
        }
        let seconds = Date().timeIntervalSince(start)

        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let figures: [(String, String)] = [
            ("engine", parsed.has("--fast") ? "\"pairgen fast\"" : "\"pairgen fp32\""),
            ("vocabulary", "\(vocabulary)"), ("workload", "\"\(workload)\""),
            ("passages", "\(passages.count)"), ("batch_passages", "\(batchSize)"),
            ("threads", "\(threads)"), ("warmup_batches", "\(warmup)"),
            ("load_seconds", format(loadSeconds)),
            ("seconds", format(seconds)),
            ("passages_per_second", format(Double(passages.count) / seconds)),
            ("tokens_per_second", format(Double(generatedTokens) / seconds)),
            ("peak_mb", format(Double(usage.ru_maxrss) / 1024)),
        ]
        print("{" + figures.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        return ExitStatus.success
    }

    private static func readPassages(_ path: String, count: Int) throws -> [String] {
        let reader = try CorpusReader(files: [URL(fileURLWithPath: path)])
        var passages: [String] = []
        while passages.count < count, let record = try reader.next() {
            if case .passage(let passage) = record { passages.append(passage.text) }
        }
        guard !passages.isEmpty else {
            throw CommandFailure("\(path): no passages")
        }
        return passages
    }

    private static func format(_ value: Double) -> String { String(format: "%.4f", value) }
}
