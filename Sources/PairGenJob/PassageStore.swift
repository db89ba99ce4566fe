import Corpus
import Foundation

/// The eligible passages of the corpus on disk, fetched by document number when a negative's
/// text is needed, so that mining over the whole corpus does not hold its text in memory.
///
/// Layout: for each passage, three fields (id, title, text), each a little-endian UInt32 byte
/// count followed by UTF-8 bytes. Only the offsets (8 bytes a passage) stay in memory.
final class PassageStore {
    let url: URL
    private var offsets: [UInt64] = [0]
    private let handle: FileHandle
    private var pending = Data()

    /// Creates (or empties) the store file.
    init(creating url: URL) throws {
        self.url = url
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        do {
            handle = try FileHandle(forUpdating: url)
            try handle.truncate(atOffset: 0)
        } catch {
            throw JobError.writeFailed(path: url.path, reason: "\(error)")
        }
    }

    deinit { try? handle.close() }

    /// Passages stored.
    var count: Int { offsets.count - 1 }

    /// Appends a passage; its document number is the count before the call.
    func append(_ passage: Passage) throws {
        for field in [passage.id, passage.title, passage.text] {
            var length = UInt32(field.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { pending.append(contentsOf: $0) }
            pending.append(contentsOf: field.utf8)
        }
        offsets.append(offsets.last! + UInt64(pending.count) - pendingBase)
        pendingBase = UInt64(pending.count)
        if pending.count >= 1 << 20 { try flush() }
    }

    private var pendingBase: UInt64 = 0

    /// Writes what is buffered; call before reading.
    func flush() throws {
        guard !pending.isEmpty else { return }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: pending)
        } catch {
            throw JobError.writeFailed(path: url.path, reason: "\(error)")
        }
        pending.removeAll(keepingCapacity: true)
        pendingBase = 0
    }

    /// The id, title and text of a document.
    func passage(_ document: Int) throws -> (id: String, title: String, text: String) {
        precondition(document >= 0 && document < count, "document \(document) out of range")
        let start = offsets[document]
        let length = Int(offsets[document + 1] - start)
        let data: Data
        do {
            try handle.seek(toOffset: start)
            data = try handle.read(upToCount: length) ?? Data()
        } catch {
            throw JobError.badManifest(path: url.path, reason: "cannot read: \(error)")
        }
        guard data.count == length else {
            throw JobError.badManifest(path: url.path, reason: "shorter than expected")
        }
        var fields: [String] = []
        var position = data.startIndex
        for _ in 0..<3 {
            let size = data[position..<position + 4].enumerated().reduce(0) {
                $0 | (Int($1.element) << (8 * $1.offset))
            }
            position += 4
            fields.append(String(decoding: data[position..<position + size], as: UTF8.self))
            position += size
        }
        return (fields[0], fields[1], fields[2])
    }
}
