import Corpus
import Foundation

/// manifest.json: what a run is (recipe, corpus, model), what it has written and where it goes
/// on. It is replaced atomically after every shard, so it always describes complete shards.
public struct Manifest: Codable, Equatable, Sendable {
    /// Bumped when the layout changes.
    public var formatVersion = 1
    /// "running" until the last shard is written, then "complete".
    public var status: String = "running"
    /// The resolved recipe, every default filled in.
    public var recipe: Recipe
    /// `recipe.identityHash`.
    public var recipeHash: String
    /// The corpus files' sizes and checksums.
    public var corpus: CorpusFingerprint
    /// The model and tokenizer.
    public var model: ModelFingerprint
    /// The shards written so far, in order.
    public var shards: [ShardEntry] = []
    /// Where the next shard begins.
    public var next = Cursor()
    /// Passages sampled for generation.
    public var sampleSize = 0
    /// What happened to passages and queries so far.
    public var counters = Counters()
    /// Seconds spent in each stage, summed over every process that worked on the run.
    public var stageSeconds: [String: Double] = [:]
    /// Passages generated together. Batching can move scores in their last bits, so a run
    /// keeps the batch size it started with; nil in manifests written before it was recorded.
    public var batchPassages: Int?

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", status, recipe, recipeHash = "recipe_hash"
        case corpus, model, shards, next, sampleSize = "sample_size", counters
        case stageSeconds = "stage_seconds", batchPassages = "batch_passages"
    }

    /// A new run's manifest.
    public init(recipe: Recipe, corpus: CorpusFingerprint, model: ModelFingerprint) {
        self.recipe = recipe
        recipeHash = recipe.identityHash
        self.corpus = corpus
        self.model = model
    }

    /// The manifest's file name in a run directory.
    public static let fileName = "manifest.json"

    /// Reads a run directory's manifest.
    public static func load(from directory: URL) throws -> Manifest {
        let url = directory.appendingPathComponent(fileName)
        guard let data = try? Data(contentsOf: url) else {
            throw JobError.badManifest(path: url.path, reason: "missing or unreadable")
        }
        do {
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            // The shards beside it are still whole; only the user can say whether to drop them.
            throw JobError.badManifest(path: url.path, reason: "not a readable PairGen manifest "
                + "(damaged?); move it away, or start the run over with `pairgen run RECIPE "
                + "--restart`")
        }
    }

    /// Replaces the run directory's manifest atomically.
    public func save(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        try AtomicFile.write(data + Data("\n".utf8), to: directory.appendingPathComponent(
            Self.fileName))
    }

    /// What differs between this run and a run of `other` (recipe, corpus, model), in words.
    public func differences(from other: Manifest) -> [String] {
        var found: [String] = []
        if recipeHash != other.recipeHash {
            let mine = Self.flatten(recipe)
            let theirs = Self.flatten(other.recipe)
            for key in Set(mine.keys).union(theirs.keys).sorted()
            where mine[key] != theirs[key] && !["output", "model", "corpus"].contains(key) {
                found.append("recipe \(key): \(mine[key] ?? "unset") -> \(theirs[key] ?? "unset")")
            }
            if found.isEmpty { found.append("recipe hash \(recipeHash) -> \(other.recipeHash)") }
        }
        if corpus.fingerprint != other.corpus.fingerprint {
            found.append("corpus: \(corpus.summary) -> \(other.corpus.summary)")
        }
        if model.fingerprint != other.model.fingerprint {
            found.append("model: \(model.fingerprint.prefix(16)) (\(model.directory)) -> "
                + "\(other.model.fingerprint.prefix(16)) (\(other.model.directory))")
        }
        if model.tokenizerFingerprint != other.model.tokenizerFingerprint {
            found.append("tokenizer: \(model.tokenizerFingerprint.prefix(16)) -> "
                + "\(other.model.tokenizerFingerprint.prefix(16))")
        }
        return found
    }

    /// The recipe as "group.key" -> JSON text of the value.
    private static func flatten(_ recipe: Recipe) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: recipe.canonicalJSON())
            as? [String: Any]
        else { return [:] }
        var flat: [String: String] = [:]
        func visit(_ value: Any, _ path: String) {
            if let group = value as? [String: Any] {
                for (key, child) in group { visit(child, path.isEmpty ? key : path + "." + key) }
            } else if let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])
            {
                flat[path] = String(decoding: data, as: UTF8.self)
            }
        }
        visit(object, "")
        return flat
    }
}

/// The corpus files a run read, by content.
public struct CorpusFingerprint: Codable, Equatable, Sendable {
    /// One file.
    public struct File: Codable, Equatable, Sendable {
        public var path: String
        public var bytes: Int64
        public var sha256: String
    }

    /// The files, in reading order.
    public var files: [File]
    /// SHA-256 over the files' checksums, in order.
    public var fingerprint: String

    /// Reads every file once to checksum it.
    public init(files urls: [URL]) throws {
        files = try urls.map { url in
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            guard let size = (attributes?[.size] as? NSNumber)?.int64Value else {
                throw CorpusError.cannotOpen(path: url.path, reason: "no such file")
            }
            if attributes?[.type] as? FileAttributeType == .typeDirectory {
                throw CorpusError.cannotOpen(
                    path: url.path, reason: "is a directory (list the corpus files in it)")
            }
            let digest: String
            do {
                digest = try SHA256Hasher.hex(ofFileAt: url)
            } catch {
                throw CorpusError.cannotOpen(path: url.path, reason: "\(error)")
            }
            return File(path: url.path, bytes: size, sha256: digest)
        }
        fingerprint = SHA256Hasher.hex(Data(files.map(\.sha256).joined(separator: "\n").utf8))
    }

    /// "2 files, 1,234,567 bytes, sha256 ab12..."
    var summary: String {
        let bytes = files.reduce(0) { $0 + $1.bytes }
        return "\(files.count) file(s), \(bytes) bytes, sha256 \(fingerprint.prefix(12))"
    }
}

/// The model a run used.
public struct ModelFingerprint: Codable, Equatable, Sendable {
    /// Where the checkpoint was found.
    public var directory: String
    /// The mT5 core's fingerprint of config and weights.
    public var fingerprint: String
    /// The tokenizer's fingerprint.
    public var tokenizerFingerprint: String

    enum CodingKeys: String, CodingKey {
        case directory, fingerprint, tokenizerFingerprint = "tokenizer_fingerprint"
    }

    /// Makes a fingerprint record.
    public init(directory: String, fingerprint: String, tokenizerFingerprint: String) {
        self.directory = directory
        self.fingerprint = fingerprint
        self.tokenizerFingerprint = tokenizerFingerprint
    }
}

/// A complete shard.
public struct ShardEntry: Codable, Equatable, Sendable {
    /// train-00000.jsonl.zst and on.
    public var name: String
    /// Pairs in it.
    public var records: Int
    /// Its size on disk.
    public var bytes: Int
    /// SHA-256 of the file.
    public var sha256: String
    /// Where the shard after it begins.
    public var next: Cursor
    /// The generation counters when it was written, restored when a damaged shard after it
    /// sends the job back here.
    public var progress: GenerationProgress = GenerationProgress()

    enum CodingKeys: String, CodingKey {
        case name, records, bytes, sha256, next, progress
    }

    /// The name of shard `index`.
    public static func name(_ index: Int) -> String {
        "train-" + String(repeating: "0", count: max(0, 5 - String(index).count)) + "\(index)"
            + ".jsonl.zst"
    }
}

/// A position in the job: the sampled passage next to generate for, and how many of its pairs
/// already went into earlier shards.
public struct Cursor: Codable, Equatable, Sendable {
    /// Index into the sample (corpus order).
    public var passage = 0
    /// Pairs of that passage already written.
    public var pairOffset = 0

    enum CodingKeys: String, CodingKey {
        case passage, pairOffset = "pair_offset"
    }

    /// The start of the job.
    public init(passage: Int = 0, pairOffset: Int = 0) {
        self.passage = passage
        self.pairOffset = pairOffset
    }
}

/// The counters of the generate, filter and mine stages at one point of the job.
public struct GenerationProgress: Codable, Equatable, Sendable {
    /// Passages whose queries had been generated.
    public var passagesGenerated = 0
    /// Queries the model had written.
    public var queriesGenerated = 0
    /// Queries dropped, by reason.
    public var queriesFiltered: [String: Int] = [:]

    enum CodingKeys: String, CodingKey {
        case passagesGenerated = "passages_generated", queriesGenerated = "queries_generated"
        case queriesFiltered = "queries_filtered"
    }

    /// All zero.
    public init() {}
}

/// What happened to passages and queries.
public struct Counters: Codable, Equatable, Sendable {
    /// Passages and skipped lines read from the corpus.
    public var passagesRead = 0
    /// Passages skipped, by reason (bad input, too short, too long, duplicate...).
    public var passagesSkipped: [String: Int] = [:]
    /// Passages eligible for sampling and indexed for mining.
    public var passagesEligible = 0
    /// Passages whose queries have been generated.
    public var passagesGenerated = 0
    /// Queries the model wrote.
    public var queriesGenerated = 0
    /// Queries dropped, by reason.
    public var queriesFiltered: [String: Int] = [:]
    /// Pairs in complete shards.
    public var pairsWritten = 0

    enum CodingKeys: String, CodingKey {
        case passagesRead = "passages_read", passagesSkipped = "passages_skipped"
        case passagesEligible = "passages_eligible", passagesGenerated = "passages_generated"
        case queriesGenerated = "queries_generated", queriesFiltered = "queries_filtered"
        case pairsWritten = "pairs_written"
    }

    /// All zero.
    public init() {}

    /// The generation part of the counters.
    public var generation: GenerationProgress {
        get {
            var progress = GenerationProgress()
            progress.passagesGenerated = passagesGenerated
            progress.queriesGenerated = queriesGenerated
            progress.queriesFiltered = queriesFiltered
            return progress
        }
        set {
            passagesGenerated = newValue.passagesGenerated
            queriesGenerated = newValue.queriesGenerated
            queriesFiltered = newValue.queriesFiltered
        }
    }
}
