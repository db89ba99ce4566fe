import Foundation

/// Splits a byte stream into lines without ever holding more than one line and one buffer.
///
/// A line longer than `maxLineBytes` is not kept: it comes back as `.tooLong` with its length,
/// so a file of one enormous line cannot exhaust memory.
final class LineReader {
    /// One line, without its "\n" (nor a "\r" before it).
    enum Line {
        case bytes([UInt8])
        case tooLong(byteCount: Int)
    }

    private let stream: ByteStream
    private let maxLineBytes: Int
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var finished = false
    private var pending: [UInt8] = []
    private var pendingLength = 0
    /// The 1-based number of the line returned last.
    private(set) var lineNumber = 0

    init(stream: ByteStream, maxLineBytes: Int, bufferSize: Int = 1 << 20) {
        self.stream = stream
        self.maxLineBytes = maxLineBytes
        buffer = .allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next line, or nil at the end of the stream.
    func next() throws -> Line? {
        while true {
            if start < end {
                let base = buffer.baseAddress!.advanced(by: start)
                if let found = memchr(base, 0x0A, end - start) {
                    let length = base.distance(to: found)
                    append(base, length)
                    start += length + 1
                    return takeLine()
                }
                append(base, end - start)
                start = end
            }
            if finished {
                if pendingLength == 0 { return nil }
                return takeLine()
            }
            start = 0
            end = try stream.read(into: buffer)
            if end == 0 { finished = true }
        }
    }

    private func append(_ base: UnsafeMutableRawPointer, _ length: Int) {
        pendingLength += length
        guard pendingLength <= maxLineBytes, length > 0 else {
            if pendingLength > maxLineBytes { pending.removeAll(keepingCapacity: false) }
            return
        }
        pending.append(
            contentsOf: UnsafeRawBufferPointer(start: base, count: length))
    }

    private func takeLine() -> Line {
        lineNumber += 1
        defer {
            pending.removeAll(keepingCapacity: pending.count <= 1 << 16)
            pendingLength = 0
        }
        if pendingLength > maxLineBytes { return .tooLong(byteCount: pendingLength) }
        if pending.last == 0x0D { pending.removeLast() }
        return .bytes(pending)
    }
}
