import CZlib
import CZstd
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The bytes of one file, decompressed as they are read when its name ends in .gz or .zst.
///
/// Memory stays constant: one input buffer and the decoder's own window, whatever the file size.
final class ByteStream {
    /// How a file is stored.
    enum Compression: String {
        case none, gzip, zstd

        /// The compression its name says: .gz is gzip, .zst is zstd, anything else is plain.
        init(path: String) {
            if path.hasSuffix(".gz") {
                self = .gzip
            } else if path.hasSuffix(".zst") {
                self = .zstd
            } else {
                self = .none
            }
        }
    }

    let path: String
    let compression: Compression
    private let descriptor: Int32
    private var input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var endOfFile = false
    private var gzip: UnsafeMutablePointer<z_stream>?
    private var gzipMemberEnded = false
    private var zstd: OpaquePointer?
    private var zstdFrameOpen = false
    /// Bytes read from the file itself (compressed bytes for .gz and .zst).
    private(set) var fileBytesRead: Int64 = 0

    /// Opens `path`; throws `CorpusError.cannotOpen` naming it.
    init(path: String, inputBufferSize: Int = 1 << 20) throws {
        self.path = path
        compression = Compression(path: path)
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            throw CorpusError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        input = .allocate(byteCount: inputBufferSize, alignment: 16)
        switch compression {
        case .none:
            break
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 16 + MAX_WBITS: expect a gzip header and trailer rather than a raw zlib stream.
            let status = inflateInit2_(
                stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            gzip = stream
            if status != Z_OK {
                throw CorpusError.corruptStream(path: path, format: "gzip",
                    reason: "inflateInit2 failed (\(status))")
            }
        case .zstd:
            zstd = ZSTD_createDStream()
            if zstd == nil {
                throw CorpusError.corruptStream(path: path, format: "zstd",
                    reason: "cannot create a decompression stream")
            }
        }
    }

    deinit {
        close(descriptor)
        input.deallocate()
        if let gzip {
            inflateEnd(gzip)
            gzip.deallocate()
        }
        if let zstd { ZSTD_freeDStream(zstd) }
    }

    /// Fills `output` with the next decompressed bytes; returns how many, 0 at the end.
    func read(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        switch compression {
        case .none:
            return try readFile(into: output)
        case .gzip:
            return try inflate(into: output)
        case .zstd:
            return try decompressZstd(into: output)
        }
    }

    private func readFile(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 {
                fileBytesRead += Int64(count)
                return count
            }
            if errno == EINTR { continue }
            throw CorpusError.readFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Makes sure unread compressed input is buffered, unless the file has ended.
    private func refillInput() throws {
        guard inputStart == inputEnd, !endOfFile else { return }
        inputStart = 0
        inputEnd = try readFile(into: input)
        if inputEnd == 0 { endOfFile = true }
    }

    private func inflate(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let stream = gzip, output.count > 0 else { return 0 }
        while true {
            try refillInput()
            if gzipMemberEnded {
                // Another gzip member may follow (as `cat a.gz b.gz` makes); otherwise the end.
                if inputStart == inputEnd { return 0 }
                inflateReset(stream)
                gzipMemberEnded = false
            }
            if inputStart == inputEnd {
                throw CorpusError.corruptStream(path: path, format: "gzip",
                    reason: "unexpected end of file")
            }
            stream.pointee.next_in = input.baseAddress!.advanced(by: inputStart)
                .assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(inputEnd - inputStart)
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            inputStart = inputEnd - Int(stream.pointee.avail_in)
            let produced = output.count - Int(stream.pointee.avail_out)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                break
            case Z_STREAM_END:
                gzipMemberEnded = true
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                throw CorpusError.corruptStream(path: path, format: "gzip", reason: message)
            }
            if produced > 0 { return produced }
        }
    }

    private func decompressZstd(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let stream = zstd, output.count > 0 else { return 0 }
        while true {
            try refillInput()
            var inBuffer = ZSTD_inBuffer(
                src: input.baseAddress!.advanced(by: inputStart), size: inputEnd - inputStart,
                pos: 0)
            var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let hint = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
            if ZSTD_isError(hint) != 0 {
                throw CorpusError.corruptStream(path: path, format: "zstd",
                    reason: String(cString: ZSTD_getErrorName(hint)))
            }
            inputStart += inBuffer.pos
            // A hint of 0 means a frame has just been completed and flushed; a call that moved
            // nothing says nothing about frames (a fresh stream always asks for a header).
            if hint == 0 {
                zstdFrameOpen = false
            } else if inBuffer.pos > 0 || outBuffer.pos > 0 {
                zstdFrameOpen = true
            }
            if outBuffer.pos > 0 { return outBuffer.pos }
            if inputStart == inputEnd && endOfFile {
                if zstdFrameOpen {
                    throw CorpusError.corruptStream(path: path, format: "zstd",
                        reason: "unexpected end of file inside a frame")
                }
                return 0
            }
        }
    }
}
