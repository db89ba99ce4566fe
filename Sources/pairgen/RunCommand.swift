import Foundation
import MT5
import PairGenJob

#if canImport(Glibc)
    import Glibc
#endif

/// `pairgen run` and `pairgen resume` (the main job, issue 4).
enum RunCommand {
    static let runUsage = """
        usage: pairgen run RECIPE.json [flags]

        Runs the job of RECIPE.json; on a run directory of the same job it resumes.
          --model DIR|ORG/NAME    checkpoint directory or Hugging Face id (recipe: model)
          --out DIR               run directory (recipe: output)
          --corpus FILE           corpus file, repeatable; replaces the recipe's list
          --sample-size N|all     passages sampled (recipe: sample.size)
          --seed S                job seed (recipe: seed)
          --decoding sample|beam|greedy   (recipe: generation.decoding)
          --num-queries N         queries per passage (recipe: generation.num_queries)
          --num-negatives N       negatives per pair (recipe: mining.num_negatives)
          --shard-size N          pairs per shard (recipe: shards.pairs_per_shard)
          --set KEY=VALUE         any recipe field by dotted path, repeatable
                                  (e.g. --set mining.strategy=top --set filters.round_trip_top_k=10)
          --threads T             generator threads (default: all cores)
          --batch-passages P      passages generated together (default 16)
          --restart               delete a run of a different job in the run directory first
        """

    static let resumeUsage = """
        usage: pairgen resume RUNDIR [--model DIR|ORG/NAME] [--threads T] [--batch-passages P]

        Continues the run in RUNDIR with the recipe its manifest.json records, and with the
        batch size it recorded (--batch-passages counts only for runs that recorded none).
        """

    private static let namedFlags: [(flag: String, key: String)] = [
        ("--model", "model"), ("--out", "output"), ("--sample-size", "sample.size"),
        ("--seed", "seed"), ("--decoding", "generation.decoding"),
        ("--num-queries", "generation.num_queries"), ("--num-negatives", "mining.num_negatives"),
        ("--shard-size", "shards.pairs_per_shard"),
    ]

    static func run(_ arguments: [String]) throws -> Int32 {
        let parsed = try ParsedArguments(arguments,
            valueFlags: Set(namedFlags.map(\.flag) + ["--corpus", "--set", "--threads",
                "--batch-passages"]),
            switchFlags: ["--restart"], usage: runUsage)
        guard parsed.positionals.count == 1 else {
            throw UsageError(message: "run needs exactly one recipe file", usage: runUsage)
        }
        var overrides: [(key: String, value: String)] = []
        for (flag, key) in namedFlags {
            if let value = parsed.string(flag) {
                // Strings stay strings ("--model 123" is a directory name, not a number).
                let isText = ["model", "output", "generation.decoding"].contains(key)
                overrides.append((key, isText ? jsonString(value) : value))
            }
        }
        let corpus = parsed.strings("--corpus")
        if !corpus.isEmpty {
            overrides.append(("corpus", "[" + corpus.map(jsonString).joined(separator: ",") + "]"))
        }
        for setting in parsed.strings("--set") {
            guard let equals = setting.firstIndex(of: "=") else {
                throw UsageError(message: "--set needs KEY=VALUE, got '\(setting)'",
                    usage: runUsage)
            }
            overrides.append((String(setting[..<equals]),
                String(setting[setting.index(after: equals)...])))
        }
        let path = parsed.positionals[0]
        var recipe = try Recipe.load(from: URL(fileURLWithPath: path)).applying(overrides)
        // Relative corpus paths are relative to the current directory; the manifest keeps them
        // absolute so that `pairgen resume` works from anywhere.
        recipe.corpus = recipe.corpus.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        // A value out of range may come from the file or from a flag: say both.
        let source = path + (overrides.isEmpty ? "" : " (with flags)")
        return try execute(
            recipe, source: source, parsed: parsed, restart: parsed.has("--restart"))
    }

    static func resume(_ arguments: [String]) throws -> Int32 {
        let parsed = try ParsedArguments(arguments,
            valueFlags: ["--model", "--threads", "--batch-passages"], usage: resumeUsage)
        guard parsed.positionals.count == 1 else {
            throw UsageError(message: "resume needs exactly one run directory",
                usage: resumeUsage)
        }
        let directory = URL(fileURLWithPath: parsed.positionals[0])
        let manifest = try Manifest.load(from: directory)
        var recipe = manifest.recipe
        recipe.output = directory.path
        recipe.model = parsed.string("--model") ?? manifest.model.directory
        return try execute(
            recipe, source: directory.appendingPathComponent(Manifest.fileName).path,
            parsed: parsed, restart: false)
    }

    /// Runs `recipe`, read from `source` (named in errors about its values).
    private static func execute(
        _ recipe: Recipe, source: String, parsed: ParsedArguments, restart: Bool
    ) throws -> Int32 {
        do {
            try recipe.validate()
        } catch let error as JobError {
            throw error.located(in: source)
        }
        let threads = try parsed.int("--threads", in: 1...1024)
            ?? ProcessInfo.processInfo.activeProcessorCount
        let batch = try parsed.int("--batch-passages", in: 1...4096) ?? 16
        let modelDirectory = try ModelLocator.resolve(recipe.model)
        let progress = ProgressPrinter()
        progress.notice("loading \(modelDirectory.path)")
        let writer = try MT5QueryWriter(modelDirectory: modelDirectory,
            options: recipe.generation.options, threads: threads,
            quantized: recipe.generation.fast)
        if let warning = writer.generator.tokenizerMismatchWarning {
            progress.notice("warning: \(warning)")
        }
        let mining = recipe.mining
        let job = Job(recipe: recipe, writer: writer, modelDirectory: modelDirectory.path,
            indexBuilder: { try BM25CandidatesBuilder(settings: mining) }, observer: progress)
        job.batchPassages = batch
        installTestKillPoint(job)
        let manifest = try job.run(restart: restart)
        let counters = manifest.counters
        let filtered = counters.queriesFiltered.values.reduce(0, +)
        progress.notice("done: \(counters.pairsWritten) pairs in \(manifest.shards.count) "
            + "shard(s) in \(recipe.output); \(counters.passagesGenerated) passages, "
            + "\(counters.queriesGenerated) queries generated, \(filtered) filtered; "
            + "see manifest.json")
        let skipped = counters.passagesSkipped.values.reduce(0, +)
        if skipped > 0 {
            let reasons = counters.passagesSkipped.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            // Passages outside the sample's length bounds are not errors and are not listed.
            let listed = counters.passagesSkipped.keys.contains {
                $0 != "too_short" && $0 != "too_long"
            }
            progress.notice("\(skipped) input lines or passages skipped (\(reasons))"
                + (listed ? "; bad input is listed in errors.jsonl" : ""))
        }
        if counters.pairsWritten == 0 {
            // Not a failure (the run is complete and resumable), but never what was wanted.
            progress.notice("warning: no pairs were written: every query was filtered or no "
                + "passage was sampled; see the counters in manifest.json")
        }
        return ExitStatus.success
    }

    /// PAIRGEN_TEST_KILL_AFTER=shard-file:N or manifest:N ends the process abruptly (as kill -9
    /// would) right after shard N's file or the manifest naming it is written. Tests only.
    private static func installTestKillPoint(_ job: Job) {
        guard let point = ProcessInfo.processInfo.environment["PAIRGEN_TEST_KILL_AFTER"] else {
            return
        }
        if point == "start" { job.afterStart = { _exit(137) } }
        guard let colon = point.firstIndex(of: ":"),
            let shard = Int(point[point.index(after: colon)...])
        else { return }
        switch point[..<colon] {
        case "shard-file":
            job.afterShardFile = { if $0 == shard { _exit(137) } }
        case "manifest":
            job.afterManifest = { if $0 == shard { _exit(137) } }
        default:
            return
        }
    }

    private static func jsonString(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}

/// Progress on stderr: one rewritten line with rate and ETA on a terminal, a log line every
/// ten seconds otherwise.
final class ProgressPrinter: JobObserver {
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var stageStart = Date()
    private var lastPrint = Date.distantPast
    private var lineOpen = false

    func stageBegan(_ stage: String, total: Int?) {
        stageStart = Date()
        lastPrint = .distantPast
        notice("\(stage): started" + (total.map { " (\($0) passages)" } ?? ""))
    }

    func stageProgress(_ stage: String, done: Int, total: Int?) {
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= (isTerminal ? 0.2 : 10) else { return }
        lastPrint = now
        let elapsed = max(now.timeIntervalSince(stageStart), 1e-6)
        let unit = stage == "scan" ? "MB" : "passages"
        let scale = stage == "scan" ? 1e-6 : 1.0
        let rate = Double(done) * scale / elapsed
        // Megabytes with one decimal, passages as whole numbers.
        let amount = stage == "scan" ? "%.1f" : "%.0f"
        var line = String(format: "%@: \(amount) %@", stage, Double(done) * scale, unit)
        if let total, total > 0 {
            line += String(format: " of \(amount) (%.0f%%)", Double(total) * scale,
                100 * Double(done) / Double(total))
            if done > 0 {
                let eta = elapsed * Double(total - done) / Double(done)
                line += ", ETA " + Self.duration(eta)
            }
        }
        line += String(format: ", %.2f %@/s", rate, unit)
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            lineOpen = true
        } else {
            printError(line)
        }
    }

    func stageEnded(_ stage: String, seconds: Double) {
        notice(String(format: "%@: finished in %.1f s", stage, seconds))
    }

    func notice(_ message: String) {
        if lineOpen {
            FileHandle.standardError.write(Data("\n".utf8))
            lineOpen = false
        }
        printError("pairgen: " + message)
    }

    private static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        if whole >= 3600 { return "\(whole / 3600)h\(String(format: "%02d", whole % 3600 / 60))m" }
        if whole >= 60 { return "\(whole / 60)m\(String(format: "%02d", whole % 60))s" }
        return "\(whole)s"
    }
}
