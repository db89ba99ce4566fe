import Foundation

/// Reads passages from corpus files one at a time, in file order, with constant memory.
///
/// Each file's format comes from its name (see `CorpusFormat`); .gz and .zst files are
/// decompressed as they are read. A line that cannot be a passage comes back as `.skipped` with
/// its file and line; blank lines are passed over silently.
public final class CorpusReader {
    /// Lines longer than this many bytes are skipped without being held in memory.
    public static let defaultMaxLineBytes = 4 << 20

    /// The files, in reading order.
    public let files: [URL]
    /// When true, a file that breaks off part way (corrupt or truncated compressed data, a read
    /// error) yields one `.skipped` record and reading goes on with the next file; when false,
    /// `next()` throws.
    public var skipsDamagedFiles = false
    private let maxLineBytes: Int
    private var fileIndex = -1
    private var stream: ByteStream?
    private var lines: LineReader?
    private var parser: PassageParser?
    private var finishedFilesBytes: Int64 = 0

    /// Checks that every file exists and is a regular file; throws `CorpusError.cannotOpen`
    /// naming the first that is not.
    public init(files: [URL], maxLineBytes: Int = CorpusReader.defaultMaxLineBytes) throws {
        precondition(maxLineBytes > 0, "maxLineBytes must be positive")
        self.files = files
        self.maxLineBytes = maxLineBytes
        for file in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory)
            else {
                throw CorpusError.cannotOpen(path: file.path, reason: "no such file")
            }
            if isDirectory.boolValue {
                throw CorpusError.cannotOpen(path: file.path, reason: "is a directory")
            }
        }
    }

    /// The total size of the files on disk, for progress reports.
    public var totalFileBytes: Int64 {
        files.reduce(0) { sum, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size])
                as? NSNumber
            return sum + (size?.int64Value ?? 0)
        }
    }

    /// Bytes of the files (compressed, where they are) read so far.
    public var fileBytesRead: Int64 { finishedFilesBytes + (stream?.fileBytesRead ?? 0) }

    /// The next passage or skipped line; nil once every file has been read.
    public func next() throws -> CorpusRecord? {
        while true {
            if lines == nil {
                fileIndex += 1
                guard fileIndex < files.count else { return nil }
                let path = files[fileIndex].path
                let opened: ByteStream
                do {
                    opened = try ByteStream(path: path)
                } catch {
                    if skipsDamagedFiles {
                        return .skipped(CorpusIssue(file: path, line: 0, reason: "\(error)"))
                    }
                    throw error
                }
                stream = opened
                lines = LineReader(stream: opened, maxLineBytes: maxLineBytes)
                parser = PassageParser(format: CorpusFormat(path: path), path: path)
            }
            let line: LineReader.Line?
            do {
                line = try lines!.next()
            } catch {
                let lineNumber = lines!.lineNumber + 1
                let path = files[fileIndex].path
                closeFile()
                if skipsDamagedFiles {
                    return .skipped(
                        CorpusIssue(file: path, line: lineNumber, reason: "\(error)"))
                }
                throw error
            }
            guard let line else {
                closeFile()
                continue
            }
            let number = lines!.lineNumber
            switch line {
            case .tooLong(let count):
                return .skipped(CorpusIssue(file: files[fileIndex].path, line: number,
                    reason: "line of \(count) bytes is longer than \(maxLineBytes)"))
            case .bytes(let bytes):
                if let record = parser!.parse(bytes, line: number) { return record }
            }
        }
    }

    private func closeFile() {
        finishedFilesBytes += stream?.fileBytesRead ?? 0
        stream = nil
        lines = nil
        parser = nil
    }
}
