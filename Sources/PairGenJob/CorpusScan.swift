import Corpus
import Foundation

/// Builds the retrieval index that mining searches; the built-in BM25 is the real one.
public protocol CandidateIndexBuilding: AnyObject {
    /// Adds the next document; documents are numbered in the order they are added.
    func add(id: String, text: String) throws
    /// The finished index.
    func finish() throws -> CandidateIndex
}

/// Reports a long stage's progress; the command line prints it, libraries never do.
public protocol JobObserver: AnyObject {
    /// A stage began; `total` is its unit count when known.
    func stageBegan(_ stage: String, total: Int?)
    /// `done` units of the stage are finished.
    func stageProgress(_ stage: String, done: Int, total: Int?)
    /// A stage ended after `seconds`.
    func stageEnded(_ stage: String, seconds: Double)
    /// Something the user should know, such as a damaged shard being regenerated.
    func notice(_ message: String)
}

/// The first stage: one pass over the corpus that indexes every eligible passage, stores its
/// text for mining, draws the sample and records bad input in errors.jsonl.
struct CorpusScan {
    let recipe: Recipe
    let files: [URL]
    let runDirectory: URL

    /// What the pass produced.
    struct Result {
        var sample: [SampledPassage]
        var index: CandidateIndex
        var store: PassageStore
        var counters: Counters
    }

    /// The errors file of a run directory.
    static let errorsFileName = "errors.jsonl"

    func run(builder: CandidateIndexBuilding, observer: JobObserver?) throws -> Result {
        let reader = try CorpusReader(files: files)
        reader.skipsDamagedFiles = true
        let totalBytes = reader.totalFileBytes
        let store = try PassageStore(
            creating: runDirectory.appendingPathComponent(".passages.store"))
        var sampler = PassageSampler(capacity: recipe.sample.size, seed: recipe.seed)
        var counters = Counters()
        var seenTexts = Set<UInt64>()
        var seenIDs = Set<UInt64>()
        let errors = try ErrorLog(directory: runDirectory)

        func skip(_ key: String) { counters.passagesSkipped[key, default: 0] += 1 }
        while let record = try reader.next() {
            counters.passagesRead += 1
            if counters.passagesRead % 2000 == 0 {
                observer?.stageProgress("scan", done: Int(reader.fileBytesRead),
                    total: Int(totalBytes))
            }
            switch record {
            case .skipped(let issue):
                skip(Self.reasonKey(issue.reason))
                try errors.append(issue)
            case .passage(let passage):
                let length = passage.text.count
                if length < recipe.sample.minChars {
                    skip("too_short")
                    continue
                }
                if length > recipe.sample.maxChars {
                    skip("too_long")
                    try errors.append(CorpusIssue(file: passage.file, line: passage.line,
                        reason: "passage of \(length) characters is longer than "
                            + "sample.max_chars (\(recipe.sample.maxChars))"))
                    continue
                }
                // Exact duplicates by text: a 64-bit SipHash per distinct passage.
                guard seenTexts.insert(StableSeed.derive([passage.text])).inserted else {
                    skip("duplicate")
                    continue
                }
                // A second passage under an id already taken would make ids ambiguous in the
                // shards (a positive could reappear among its own negatives): skip and list it.
                guard seenIDs.insert(StableSeed.derive([passage.id])).inserted else {
                    skip("duplicate_id")
                    try errors.append(CorpusIssue(file: passage.file, line: passage.line,
                        reason: "passage id '\(passage.id)' was already used; skipped"))
                    continue
                }
                let document = store.count
                try store.append(passage)
                try builder.add(id: passage.id, text: Self.indexedText(passage))
                sampler.offer(passage, document: document)
            }
        }
        try store.flush()
        try errors.finish()
        counters.passagesEligible = store.count
        guard store.count > 0 else {
            throw JobError.nothingUsable(reason: "no passage of the corpus passed the checks "
                + "(\(counters.passagesRead) lines read; see \(Self.errorsFileName))")
        }
        observer?.stageProgress("scan", done: Int(totalBytes), total: Int(totalBytes))
        return Result(sample: sampler.sample(), index: try builder.finish(), store: store,
            counters: counters)
    }

    /// The text indexed and written for a passage: title and text, as BEIR evaluates them.
    static func indexedText(_ passage: Passage) -> String {
        passage.title.isEmpty ? passage.text : passage.title + " " + passage.text
    }

    /// A counter name for a reader's reason: "malformed JSON" -> "malformed_json".
    static func reasonKey(_ reason: String) -> String {
        if reason.hasPrefix("line of ") { return "line_too_long" }
        if reason.hasPrefix("expected ") { return "wrong_field_count" }
        if reason.contains(": ") { return "damaged_file" }
        let words = reason.lowercased().split { !$0.isLetter && !$0.isNumber }
        return words.joined(separator: "_")
    }
}

/// errors.jsonl: one JSON line for each skipped input line, with file, line and reason. It is
/// written beside the run under a temporary name and renamed when the pass is complete.
final class ErrorLog {
    private let target: URL
    private let temporary: URL
    private let handle: FileHandle
    private var buffer = ""

    init(directory: URL) throws {
        target = directory.appendingPathComponent(CorpusScan.errorsFileName)
        temporary = directory.appendingPathComponent(
            AtomicFile.temporaryPrefix + CorpusScan.errorsFileName)
        _ = FileManager.default.createFile(atPath: temporary.path, contents: nil)
        do {
            handle = try FileHandle(forWritingTo: temporary)
            try handle.truncate(atOffset: 0)
        } catch {
            throw JobError.writeFailed(path: temporary.path, reason: "\(error)")
        }
    }

    func append(_ issue: CorpusIssue) throws {
        buffer += "{\"file\":" + JSONText.string(issue.file) + ",\"line\":\(issue.line)"
            + ",\"reason\":" + JSONText.string(issue.reason) + "}\n"
        if buffer.utf8.count > 1 << 16 { try flush() }
    }

    private func flush() throws {
        do {
            try handle.write(contentsOf: Data(buffer.utf8))
        } catch {
            throw JobError.writeFailed(path: temporary.path, reason: "\(error)")
        }
        buffer = ""
    }

    func finish() throws {
        try flush()
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, target.path) == 0 else {
            throw JobError.writeFailed(path: target.path, reason: String(cString: strerror(errno)))
        }
    }
}
