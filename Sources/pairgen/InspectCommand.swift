import Corpus
import Foundation
import PairGenJob

/// `pairgen inspect RUNDIR` (the main job, issue 4): totals, shards, sample pairs, histograms.
enum InspectCommand {
    static let usage = """
        usage: pairgen inspect RUNDIR [--sample N] [--seed S] [--shard K]

        Prints the run's totals and shards from manifest.json, N random pairs (default 3; from
        shard K only with --shard) and histograms of query length and of the margin between
        the positive's BM25 score and the best negative's. Every shard is checked against its
        checksum in the manifest: pairs come only from intact shards, and a missing or damaged
        shard makes the exit status 1.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        let parsed = try ParsedArguments(arguments, valueFlags: ["--sample", "--seed", "--shard"],
            usage: usage)
        guard parsed.positionals.count == 1 else {
            throw UsageError(message: "inspect needs exactly one run directory", usage: usage)
        }
        let directory = URL(fileURLWithPath: parsed.positionals[0])
        let manifest = try Manifest.load(from: directory)
        let sampleCount = try parsed.int("--sample", in: 0...10_000) ?? 3
        let seed = try parsed.uint64("--seed") ?? 0
        let onlyShard = try parsed.int("--shard", in: 0...Int.max)
        if let onlyShard, onlyShard >= manifest.shards.count {
            throw UsageError(message: "--shard \(onlyShard): the run has "
                + "\(manifest.shards.count) shard(s)", usage: usage)
        }

        let checks = manifest.shards.map { shard in
            check(directory.appendingPathComponent(shard.name), expected: shard.sha256)
        }
        var out = totals(manifest, directory: directory)
        out += "\n" + shardTable(manifest, checks: checks)
        var records: [PairRecord] = []
        for (index, shard) in manifest.shards.enumerated()
        where (onlyShard == nil || onlyShard == index) && checks[index] == "ok" {
            records += try ShardFile.read(directory.appendingPathComponent(shard.name))
        }
        out += "\n" + samplePairs(records, count: sampleCount, seed: seed)
        out += "\n" + histogram(
            title: "query length (characters)",
            values: records.map { Double($0.query.count) }, integer: true)
        out += "\n" + histogram(
            title: "BM25 margin: positive score - best negative score",
            values: records.map { $0.positiveScore - ($0.negativeScores.max() ?? 0) },
            integer: false)
        print(out, terminator: "")
        let damaged = zip(manifest.shards, checks).filter { $0.1 != "ok" }
        for (shard, problem) in damaged {
            printError("pairgen inspect: \(directory.appendingPathComponent(shard.name).path) "
                + "is \(problem): its pairs are not shown; `pairgen resume \(directory.path)` "
                + "writes it again")
        }
        return damaged.isEmpty ? ExitStatus.success : ExitStatus.failure
    }

    /// "ok", "missing", "unreadable" or "damaged" (its bytes do not match the manifest's
    /// checksum).
    private static func check(_ url: URL, expected: String) -> String {
        guard FileManager.default.fileExists(atPath: url.path) else { return "missing" }
        guard let digest = try? SHA256Hasher.hex(ofFileAt: url) else { return "unreadable" }
        return digest == expected ? "ok" : "damaged"
    }

    private static func totals(_ manifest: Manifest, directory: URL) -> String {
        let counters = manifest.counters
        func reasons(_ counts: [String: Int]) -> String {
            counts.isEmpty ? "none" : counts.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        var text = "run \(directory.path): \(manifest.status)\n"
        text += "  model        \(manifest.model.directory)\n"
        text += "  recipe hash  \(manifest.recipeHash.prefix(16))\n"
        text += "  passages     \(counters.passagesRead) read, \(counters.passagesEligible) "
            + "eligible, \(manifest.sampleSize) sampled, \(counters.passagesGenerated) generated\n"
        text += "  skipped      \(reasons(counters.passagesSkipped))\n"
        text += "  queries      \(counters.queriesGenerated) generated; filtered: "
            + "\(reasons(counters.queriesFiltered))\n"
        text += "  pairs        \(counters.pairsWritten) in \(manifest.shards.count) shard(s)\n"
        if !manifest.stageSeconds.isEmpty {
            text += "  seconds      " + manifest.stageSeconds.sorted { $0.key < $1.key }
                .map { String(format: "%@ %.1f", $0.key, $0.value) }.joined(separator: ", ")
                + "\n"
        }
        return text
    }

    private static func shardTable(_ manifest: Manifest, checks: [String]) -> String {
        var text = "shard                      pairs       bytes  sha256            check\n"
        for (shard, check) in zip(manifest.shards, checks) {
            text += shard.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                + String(format: "%9d %11d  ", shard.records, shard.bytes)
                + shard.sha256.prefix(16) + "  " + check + "\n"
        }
        return text
    }

    private static func samplePairs(_ records: [PairRecord], count: Int, seed: UInt64) -> String {
        guard !records.isEmpty, count > 0 else { return "no pairs to show\n" }
        var generator = SplitMix64(seed: seed)
        var positions = Array(records.indices)
        let shown = min(count, records.count)
        for i in 0..<shown { positions.swapAt(i, i + generator.below(positions.count - i)) }
        var text = ""
        for position in positions.prefix(shown) {
            let record = records[position]
            text += "query     \(record.query)   [\(record.queryID)]\n"
            text += "positive  " + opening(record.positive)
                + String(format: "   (%.2f)\n", record.positiveScore)
            for (index, negative) in record.negatives.enumerated() {
                let score = index < record.negativeScores.count ? record.negativeScores[index] : 0
                text += "negative  " + opening(negative) + String(format: "   (%.2f)\n", score)
            }
            text += "\n"
        }
        return text
    }

    private static func opening(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count <= 80 ? flat : String(flat.prefix(77)) + "..."
    }

    /// Ten equal bins between the smallest and largest value, bars of up to 40 characters.
    static func histogram(title: String, values: [Double], integer: Bool) -> String {
        var text = title + "\n"
        guard let low = values.min(), let high = values.max() else { return text + "  (none)\n" }
        let bins = 10
        let width = high > low ? (high - low) / Double(bins) : 1
        var counts = [Int](repeating: 0, count: bins)
        for value in values {
            counts[min(bins - 1, Int((value - low) / width))] += 1
        }
        let largest = max(1, counts.max()!)
        for (bin, count) in counts.enumerated() {
            let from = low + Double(bin) * width
            let label = integer
                ? String(format: "%6.0f-%-6.0f", from, from + width)
                : String(format: "%7.2f-%-7.2f", from, from + width)
            text += "  \(label) " + String(repeating: "#", count: count * 40 / largest)
                + (count > 0 ? " \(count)" : "") + "\n"
            if high == low { break }
        }
        return text
    }
}
