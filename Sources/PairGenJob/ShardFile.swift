import Corpus
import Foundation

/// Shard files: zstd-compressed JSON lines of `PairRecord`, written atomically.
public enum ShardFile {
    /// Compresses `records` into shard `index` of `directory` (temporary file, fsync, rename,
    /// fsync of the directory) and returns its manifest entry.
    static func write(
        _ records: [PairRecord], index: Int, directory: URL, level: Int32, next: Cursor
    ) throws -> ShardEntry {
        var text = ""
        for record in records { text += record.jsonLine() }
        let compressed = try Compressor.zstd(Data(text.utf8), level: level)
        let name = ShardEntry.name(index)
        try AtomicFile.write(compressed, to: directory.appendingPathComponent(name))
        return ShardEntry(name: name, records: records.count, bytes: compressed.count,
            sha256: SHA256Hasher.hex(compressed), next: next)
    }

    /// The records of a shard file.
    public static func read(_ url: URL) throws -> [PairRecord] {
        guard let compressed = try? Data(contentsOf: url) else {
            throw JobError.badManifest(path: url.path, reason: "shard is missing or unreadable "
                + "(`pairgen resume` writes it again)")
        }
        let data: Data
        do {
            data = try Compressor.unzstd(compressed)
        } catch {
            throw JobError.badManifest(path: url.path, reason: "shard is damaged: \(error) "
                + "(`pairgen resume` writes it again)")
        }
        let text = String(decoding: data, as: UTF8.self)
        return try text.split(separator: "\n").enumerated().map { number, line in
            guard let record = PairRecord(jsonLine: line) else {
                throw JobError.badManifest(path: url.path,
                    reason: "line \(number + 1) is not a pair record")
            }
            return record
        }
    }
}
