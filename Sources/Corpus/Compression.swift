import CZlib
import CZstd
import Foundation

/// Whole-buffer compression for the files PairGen writes (shards) and for tests.
public enum Compressor {
    /// Compresses `data` into one zstd frame at `level` (1-19), recording the content size.
    public static func zstd(_ data: Data, level: Int32 = 3) throws -> Data {
        let bound = ZSTD_compressBound(data.count)
        var output = Data(count: bound)
        let written = output.withUnsafeMutableBytes { destination in
            data.withUnsafeBytes { source in
                ZSTD_compress(destination.baseAddress, bound, source.baseAddress, source.count,
                    level)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw CorpusError.compressionFailed(format: "zstd",
                reason: String(cString: ZSTD_getErrorName(written)))
        }
        output.count = written
        return output
    }

    /// Decompresses a whole zstd buffer made of one or more frames.
    public static func unzstd(_ data: Data) throws -> Data {
        let stream = ZSTD_createDStream()
        defer { ZSTD_freeDStream(stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var frameOpen = false
        try data.withUnsafeBytes { source in
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            repeat {
                let produced = try chunk.withUnsafeMutableBytes { buffer in
                    var outBuffer = ZSTD_outBuffer(
                        dst: buffer.baseAddress, size: buffer.count, pos: 0)
                    let before = inBuffer.pos
                    let hint = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    if ZSTD_isError(hint) != 0 {
                        throw CorpusError.corruptStream(path: "<memory>", format: "zstd",
                            reason: String(cString: ZSTD_getErrorName(hint)))
                    }
                    // 0 ends a frame; a call that moved nothing says nothing about frames.
                    if hint == 0 {
                        frameOpen = false
                    } else if inBuffer.pos > before || outBuffer.pos > 0 {
                        frameOpen = true
                    }
                    return outBuffer.pos
                }
                output.append(contentsOf: chunk[0..<produced])
                if produced == 0 && inBuffer.pos == inBuffer.size { break }
            } while true
        }
        if frameOpen {
            throw CorpusError.corruptStream(path: "<memory>", format: "zstd",
                reason: "unexpected end inside a frame")
        }
        return output
    }

    /// Compresses `data` as one gzip member.
    public static func gzip(_ data: Data, level: Int32 = 6) throws -> Data {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { deflateEnd(stream); stream.deallocate() }
        // 16 + MAX_WBITS asks for a gzip header and trailer.
        var status = deflateInit2_(stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8,
            Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw CorpusError.compressionFailed(format: "gzip", reason: "deflateInit2: \(status)")
        }
        let bound = Int(deflateBound(stream, uLong(data.count))) + 32
        var output = Data(count: bound)
        var input = data
        status = input.withUnsafeMutableBytes { source in
            output.withUnsafeMutableBytes { destination in
                stream.pointee.next_in = source.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = uInt(source.count)
                stream.pointee.next_out = destination.baseAddress!
                    .assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(destination.count)
                return deflate(stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            throw CorpusError.compressionFailed(format: "gzip", reason: "deflate: \(status)")
        }
        output.count = Int(stream.pointee.total_out)
        return output
    }
}
