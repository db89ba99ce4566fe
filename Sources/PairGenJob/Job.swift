import Corpus
import Foundation
import MT5

/// Runs a recipe in a run directory: scan, generate, filter, mine and write shards, resuming
/// from the manifest when the directory holds an interrupted run of the same job.
///
/// Shard k holds pairs k x size ..< (k + 1) x size of the job's pair sequence, and that sequence
/// depends only on the recipe, the corpus and the model: passages are processed in corpus order
/// and each one's queries depend only on the job seed and its id. So a resumed run writes the
/// same bytes as an uninterrupted one. A shard that was being written when the process died is
/// simply written again from the cursor of the shard before it.
public final class Job {
    /// Called after each shard file is renamed into place, before the manifest names it (the
    /// command line uses it for PAIRGEN_TEST_KILL_AFTER); the argument is the shard index.
    public var afterShardFile: ((Int) throws -> Void)?
    /// Called after the manifest is saved with a new shard; the argument is the shard index.
    public var afterManifest: ((Int) throws -> Void)?
    /// Test hook: called once the first manifest is saved, before the scan.
    public var afterStart: (() throws -> Void)?
    /// Passages handed to the generator at once.
    public var batchPassages = 16

    private let recipe: Recipe
    private let files: [URL]
    private let directory: URL
    private let writer: QueryWriting
    private let modelDirectory: String
    private let makeIndexBuilder: () throws -> CandidateIndexBuilding
    private weak var observer: JobObserver?

    /// A job; nothing is read or written until `run`.
    public init(
        recipe: Recipe, writer: QueryWriting, modelDirectory: String,
        indexBuilder: @escaping () throws -> CandidateIndexBuilding, observer: JobObserver?
    ) {
        self.recipe = recipe
        files = recipe.corpus.map { URL(fileURLWithPath: $0) }
        directory = URL(fileURLWithPath: recipe.output)
        self.writer = writer
        self.modelDirectory = modelDirectory
        makeIndexBuilder = indexBuilder
        self.observer = observer
    }

    /// Runs or resumes the job; with `restart`, a run directory of another job is emptied
    /// first instead of refused. Returns the final manifest.
    @discardableResult
    public func run(restart: Bool = false) throws -> Manifest {
        try recipe.validate()
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true)
        } catch {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(
                atPath: directory.path, isDirectory: &isDirectory)
            throw JobError.writeFailed(
                path: directory.path,
                reason: exists && !isDirectory.boolValue
                    ? "a file is in the way of the run directory"
                    : "cannot create the run directory (\(error.localizedDescription))")
        }
        let lock = try RunLock(directory: directory)
        defer { withExtendedLifetime(lock) {} }
        AtomicFile.removeLeftovers(in: directory)

        var manifest = Manifest(recipe: recipe, corpus: try CorpusFingerprint(files: files),
            model: ModelFingerprint(directory: modelDirectory,
                fingerprint: writer.modelFingerprint,
                tokenizerFingerprint: writer.tokenizerFingerprint))
        let manifestURL = directory.appendingPathComponent(Manifest.fileName)
        if FileManager.default.fileExists(atPath: manifestURL.path) {
            let previous: Manifest
            do {
                previous = try Manifest.load(from: directory)
            } catch where restart {
                // An unreadable manifest cannot be resumed; --restart clears it like any run.
                previous = manifest
            }
            let differences = previous.differences(from: manifest)
            if !differences.isEmpty {
                guard restart else {
                    throw JobError.runMismatch(directory: directory.path,
                        differences: differences)
                }
                try clearRun()
            } else if restart {
                try clearRun()
            } else {
                manifest.shards = previous.shards
                manifest.next = previous.next
                manifest.counters = previous.counters
                manifest.stageSeconds = previous.stageSeconds
                manifest.status = previous.status
                manifest.sampleSize = previous.sampleSize
                if let recorded = previous.batchPassages, recorded != batchPassages {
                    observer?.notice("resuming with --batch-passages \(recorded), the run's own "
                        + "(without AVX2, OpenBLAS rounds a passage's scores by its batch)")
                    batchPassages = recorded
                }
                // A complete run with intact shards has nothing left to do: skip the scan.
                if manifest.status == "complete" {
                    try verifyShards(&manifest)
                    if manifest.status == "complete" {
                        observer?.notice("\(directory.path) is already complete; "
                            + "every shard matches its checksum")
                        return previous
                    }
                }
            }
        }

        // Saved before the scan, so that a run killed at any moment leaves a manifest (recipe,
        // fingerprints, batch size) that `resume` can start from.
        manifest.batchPassages = batchPassages
        try manifest.save(to: directory)
        try afterStart?()

        let scanStart = Date()
        observer?.stageBegan("scan", total: nil)
        let scan = try CorpusScan(recipe: recipe, files: files, runDirectory: directory)
            .run(builder: try makeIndexBuilder(), observer: observer)
        let scanSeconds = Date().timeIntervalSince(scanStart)
        observer?.stageEnded("scan", seconds: scanSeconds)
        manifest.stageSeconds["scan", default: 0] += scanSeconds
        manifest.sampleSize = scan.sample.count
        let resumedCounters = manifest.counters
        manifest.counters = scan.counters
        manifest.counters.generation = resumedCounters.generation

        try verifyShards(&manifest)
        manifest.counters.pairsWritten = manifest.shards.reduce(0) { $0 + $1.records }
        manifest.status = "running"
        try manifest.save(to: directory)

        if recipe.generation.fast { try trimVocabulary(store: scan.store) }
        var pipeline = try PairPipeline(recipe: recipe, writer: writer, scan: scan,
            written: try writtenQueries(manifest))
        try generate(&manifest, pipeline: &pipeline, sample: scan.sample)
        try? FileManager.default.removeItem(at: scan.store.url)
        return manifest
    }

    /// Fast mode: queries may use only the word pieces of the corpus's passages (all of them,
    /// not just the sample, so that a resumed run trims to the same tokens).
    private func trimVocabulary(store: PassageStore) throws {
        let start = Date()
        observer?.stageBegan("vocabulary", total: store.count)
        let kept = try writer.restrictVocabulary { visit in
            for document in 0..<store.count {
                let passage = try store.passage(document)
                try visit(passage.title.isEmpty
                    ? passage.text : passage.title + " " + passage.text)
            }
        }
        observer?.stageEnded("vocabulary", seconds: Date().timeIntervalSince(start))
        if let kept {
            observer?.notice("fast mode: queries use only the \(kept) word pieces of the corpus")
        }
    }

    /// Deletes what this job writes in the run directory, and nothing else.
    private func clearRun() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names
        where (name.hasPrefix("train-") && name.hasSuffix(".jsonl.zst"))
            || [Manifest.fileName, CorpusScan.errorsFileName, ".passages.store"].contains(name)
        {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        observer?.notice("--restart: removed the previous run in \(directory.path)")
    }

    /// Checks each recorded shard's size and SHA-256; from the first bad or missing one on,
    /// shards are dropped from the manifest so that they are written again.
    private func verifyShards(_ manifest: inout Manifest) throws {
        for (index, shard) in manifest.shards.enumerated() {
            let url = directory.appendingPathComponent(shard.name)
            let digest = try? SHA256Hasher.hex(ofFileAt: url)
            guard digest != shard.sha256 else { continue }
            let problem = digest == nil ? "is missing" : "does not match its checksum"
            observer?.notice("\(url.path) \(problem) (manifest sha256 \(shard.sha256.prefix(12))"
                + "); regenerating it and the shards after it")
            manifest.shards.removeSubrange(index...)
            manifest.next = manifest.shards.last?.next ?? Cursor()
            manifest.counters.generation = manifest.shards.last?.progress ?? GenerationProgress()
            manifest.status = "running"
            return
        }
    }

    /// The normalized queries of the pairs already written, except the pairs of the passage
    /// at the cursor, which will be generated again.
    private func writtenQueries(_ manifest: Manifest) throws -> Set<String> {
        guard recipe.filters.dedupAcrossJob else { return [] }
        var queries = Set<String>()
        for (index, shard) in manifest.shards.enumerated() {
            var records = try ShardFile.read(directory.appendingPathComponent(shard.name))
            if index == manifest.shards.count - 1 {
                records.removeLast(min(records.count, manifest.next.pairOffset))
            }
            for record in records { queries.insert(QueryFilter.normalize(record.query)) }
        }
        return queries
    }

    private func generate(
        _ manifest: inout Manifest, pipeline: inout PairPipeline, sample: [SampledPassage]
    ) throws {
        let size = recipe.shards.pairsPerShard
        let resumeAt = manifest.next
        var pending: [PairRecord] = []
        var passage = resumeAt.passage
        var shardIndex = manifest.shards.count
        observer?.stageBegan("generate", total: sample.count)
        let started = Date()

        func writeShard(_ records: ArraySlice<PairRecord>, next: Cursor) throws {
            let writeStart = Date()
            var entry = try ShardFile.write(Array(records), index: shardIndex,
                directory: directory, level: Int32(recipe.shards.zstdLevel), next: next)
            entry.progress = manifest.counters.generation
            try afterShardFile?(shardIndex)
            manifest.shards.append(entry)
            manifest.next = next
            manifest.counters.pairsWritten += entry.records
            manifest.stageSeconds["write", default: 0] += Date().timeIntervalSince(writeStart)
            manifest.stageSeconds["generate", default: 0] += pipeline.takeGenerateSeconds()
            manifest.stageSeconds["filter_and_mine", default: 0] += pipeline.takeMineSeconds()
            try manifest.save(to: directory)
            try afterManifest?(shardIndex)
            shardIndex += 1
        }

        manifest.batchPassages = batchPassages
        while passage < sample.count {
            // Batches sit at fixed places in the sample, so a resumed run decodes every passage
            // in the same company as the first run did; passages before the cursor are decoded
            // again and dropped.
            let batchStart = passage / batchPassages * batchPassages
            let batchEnd = min(sample.count, batchStart + batchPassages)
            let results = try pipeline.pairs(
                for: Array(sample[batchStart..<batchEnd]), skipping: passage - batchStart)
            for (offset, result) in results.enumerated() {
                let current = passage + offset
                var pairs = result.pairs[...]
                if current == resumeAt.passage && resumeAt.pairOffset > 0 {
                    // Counted and partly written before the restart.
                    pairs = pairs.dropFirst(resumeAt.pairOffset)
                } else {
                    manifest.counters.passagesGenerated += 1
                    manifest.counters.queriesGenerated += result.generated
                    for (reason, count) in result.filtered {
                        manifest.counters.queriesFiltered[reason.rawValue, default: 0] += count
                    }
                }
                pending.append(contentsOf: pairs)
                while pending.count >= size {
                    let left = pending.count - size
                    let next = left == 0
                        ? Cursor(passage: current + 1)
                        : Cursor(passage: current, pairOffset: result.pairs.count - left)
                    try writeShard(pending.prefix(size), next: next)
                    pending.removeFirst(size)
                }
            }
            passage = batchEnd
            observer?.stageProgress("generate", done: passage, total: sample.count)
        }
        if !pending.isEmpty {
            try writeShard(pending[...], next: Cursor(passage: sample.count))
        }
        manifest.stageSeconds["generate", default: 0] += pipeline.takeGenerateSeconds()
        manifest.stageSeconds["filter_and_mine", default: 0] += pipeline.takeMineSeconds()
        manifest.next = Cursor(passage: sample.count)
        manifest.status = "complete"
        try manifest.save(to: directory)
        observer?.stageEnded("generate", seconds: Date().timeIntervalSince(started))
    }
}
