import Corpus
import Foundation
import MT5
import PairGenJob

/// `pairgen generate`: queries for every passage of a file, one JSON line per passage on
/// stdout, in input order.
enum GenerateCommand {
    static let usage = """
        usage: pairgen generate --model DIR|ORG/NAME --input FILE [options]

          --model DIR|ORG/NAME     checkpoint directory (config.json, spiece.model and
                                   model.safetensors, its index, or pytorch_model.bin), or a
                                   Hugging Face id found in the local cache
          --input FILE             .txt (one passage per line) or .jsonl (text, optional
                                   title, optional _id or id); .gz and .zst too
          --decoding MODE          greedy | beam | sample (default greedy)
          --num-queries N          sequences returned per passage (num_return_sequences)
          --num-beams B            beams for beam search (default: the number of queries)
          --no-repeat-ngram N      an n-gram occurs at most once per query (default 0: off)
          --max-length L           longest output, decoder start token included (default 64)
          --max-new-tokens L       most generated tokens (instead of --max-length)
          --min-new-tokens L       fewest generated tokens before end of sequence (default 0)
          --max-input-tokens L     input word pieces kept, </s> included (default 320)
          --top-k K                sampling: keep the K most likely tokens (default 50; 0: all)
          --top-p P                sampling: keep the smallest set with probability P (1.0)
          --temperature T          sampling: divide logits by T (default 1.0)
          --length-penalty X       beam: score / length^X (default 1.0)
          --early-stopping         beam: stop once num_beams hypotheses are finished
          --seed S                 sampling seed; a passage's queries depend on S and its id
          --threads T              compute threads (default: all cores)
          --batch-passages P       passages decoded together (default 16)
          --fast                   fast mode: 8-bit weights, and only tokens that occur in
                                   the input file can be generated (vocabulary trimming);
                                   faster, not exact

        Output, one line per passage:
          {"id": ..., "queries": [{"text": ..., "token_ids": [...], "score": ...}, ...]}
        token_ids start with the decoder start token; score is the beam score for beam
        search and the summed log-probability of the chosen tokens otherwise.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        let parsed = try ParsedArguments(
            arguments,
            valueFlags: [
                "--model", "--input", "--decoding", "--num-queries", "--num-beams",
                "--no-repeat-ngram", "--max-length", "--max-new-tokens", "--min-new-tokens",
                "--max-input-tokens", "--top-k", "--top-p", "--temperature", "--length-penalty",
                "--seed", "--threads", "--batch-passages",
            ],
            switchFlags: ["--early-stopping", "--fast"], usage: usage)
        guard parsed.positionals.isEmpty else {
            throw UsageError(
                message: "unexpected argument '\(parsed.positionals[0])'", usage: usage)
        }
        guard let model = parsed.string("--model") else {
            throw UsageError(message: "--model is required", usage: usage)
        }
        guard let input = parsed.string("--input") else {
            throw UsageError(message: "--input is required", usage: usage)
        }
        let options = try generationOptions(parsed)
        let seed = try parsed.uint64("--seed") ?? 0
        let threads = try parsed.int("--threads", in: 1...1024)
            ?? ProcessInfo.processInfo.activeProcessorCount
        let batchSize = try parsed.int("--batch-passages", in: 1...4096) ?? 16

        let modelURL = try modelDirectory(model)
        let generator = try QueryGenerator(
            modelDirectory: modelURL, threads: threads, quantized: parsed.has("--fast"))
        if let warning = generator.tokenizerMismatchWarning {
            printError("pairgen generate: warning: \(warning)")
        }
        if parsed.has("--fast") {
            try generator.restrictOutputVocabulary(toTokensOf: try allTexts(input))
        }
        let reader = try CorpusReader(files: [URL(fileURLWithPath: input)])
        var batch: [Passage] = []
        var skipped = 0
        var written = 0

        func flush() throws {
            guard !batch.isEmpty else { return }
            let texts = batch.map { $0.title.isEmpty ? $0.text : $0.title + " " + $0.text }
            let seeds = batch.map { StableSeed.passage(jobSeed: seed, passageID: $0.id) }
            let results = try generator.generate(passages: texts, options: options, seeds: seeds)
            var lines = Data()
            for (passage, queries) in zip(batch, results) {
                lines.append(try encodeLine(id: passage.id, queries: queries))
            }
            try writeToStandardOutput(lines)
            written += batch.count
            batch.removeAll(keepingCapacity: true)
        }

        while let record = try reader.next() {
            switch record {
            case .passage(let passage):
                batch.append(passage)
                if batch.count == batchSize { try flush() }
            case .skipped(let issue):
                skipped += 1
                printError("pairgen generate: skipped \(issue)")
            }
        }
        try flush()
        if written == 0 {
            printError("pairgen generate: error: \(input): no usable passage "
                + "(\(skipped) skipped)")
            return ExitStatus.failure
        }
        return ExitStatus.success
    }

    /// The checkpoint directory of --model: a directory is used as it is (its errors name its
    /// files); anything else but a file is looked up as a Hugging Face id, as `pairgen run`
    /// does.
    static func modelDirectory(_ model: String) throws -> URL {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CommandFailure("\(model) is a file; --model needs a checkpoint "
                    + "directory (config.json, spiece.model, weights) or a Hugging Face id")
            }
            return URL(fileURLWithPath: model)
        }
        return try ModelLocator.resolve(model)
    }

    /// Every passage text of a file, for the fast mode's vocabulary.
    static func allTexts(_ path: String) throws -> [String] {
        let reader = try CorpusReader(files: [URL(fileURLWithPath: path)])
        var texts: [String] = []
        while let record = try reader.next() {
            if case .passage(let passage) = record {
                texts.append(passage.title.isEmpty ? passage.text
                    : passage.title + " " + passage.text)
            }
        }
        return texts
    }

    /// Generation options from flags, each checked with an error naming the flag.
    static func generationOptions(_ parsed: ParsedArguments) throws -> GenerationOptions {
        var options = GenerationOptions()
        if let decoding = parsed.string("--decoding") {
            guard let mode = GenerationOptions.Decoding(rawValue: decoding) else {
                throw UsageError(
                    message: "--decoding must be greedy, beam or sample, got '\(decoding)'",
                    usage: usage)
            }
            options.decoding = mode
        }
        let queries = try parsed.int("--num-queries", in: 1...1000)
        options.numReturnSequences = queries ?? 1
        if options.decoding == .beam {
            options.numBeams = try parsed.int("--num-beams", in: 1...1000)
                ?? max(options.numReturnSequences, 1)
        } else if let beams = try parsed.int("--num-beams", in: 1...1000), beams != 1 {
            throw UsageError(
                message: "--num-beams needs --decoding beam", usage: usage)
        }
        options.noRepeatNgramSize = try parsed.int("--no-repeat-ngram", in: 0...64) ?? 0
        if parsed.string("--max-length") != nil && parsed.string("--max-new-tokens") != nil {
            throw UsageError(
                message: "give --max-length or --max-new-tokens, not both", usage: usage)
        }
        options.maxLength = try parsed.int("--max-length", in: 2...4096) ?? 64
        options.maxNewTokens = try parsed.int("--max-new-tokens", in: 1...4095)
        options.minNewTokens = try parsed.int("--min-new-tokens", in: 0...4095) ?? 0
        options.maxInputTokens = try parsed.int("--max-input-tokens", in: 2...65536) ?? 320
        options.topK = try parsed.int("--top-k", in: 0...1_000_000) ?? 50
        options.topP = try parsed.double("--top-p", in: 0.000001...1) ?? 1
        options.temperature = try parsed.double("--temperature", in: 0.000001...1000) ?? 1
        options.lengthPenalty = try parsed.double("--length-penalty") ?? 1
        options.earlyStopping = parsed.has("--early-stopping")
        do {
            try options.validate()
        } catch let error as MT5Error {
            throw UsageError(message: "\(error)", usage: usage)
        }
        return options
    }

    /// One output line, keys in the documented order.
    static func encodeLine(id: String, queries: [GeneratedQuery]) throws -> Data {
        var line = "{\"id\":" + JSONText.string(id) + ",\"queries\":["
        line += queries.map { query in
            "{\"text\":" + JSONText.string(query.text)
                + ",\"token_ids\":[" + query.tokenIDs.map(String.init).joined(separator: ",")
                + "],\"score\":" + (query.score.isFinite ? "\(query.score)" : "null") + "}"
        }.joined(separator: ",")
        line += "]}\n"
        return Data(line.utf8)
    }
}
