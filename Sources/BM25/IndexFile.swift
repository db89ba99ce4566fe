import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The index is one little-endian file, read in place through mmap:
//
//   0   magic "PGBM25\0\n"            56  reserved (0)
//   8   format version (1)            64  bytes of document ids
//   16  checksum of bytes 24..<end    72  bytes of terms
//   24  file length                   80  total document length (sum of dl)
//   32  document count N              88  settings length S
//   40  term count V                  96  settings: JSON of analyzer and parameters (S bytes)
//   48  posting count P
//
// then, each section starting on an 8-byte boundary:
//   document lengths [UInt32 N], document-id offsets [UInt64 N+1], document-id bytes,
//   term offsets [UInt64 V+1], term bytes (terms sorted by their UTF-8 bytes),
//   posting starts [UInt64 V+1], largest posting weight per term [Float32 V],
//   posting documents [UInt32 P], posting weights [Float32 P].
//
// A posting is 8 bytes: its document (4) and its weight (4), the tf part of the BM25 formula
// (see BM25Variant) computed in Float64 at build time and stored as Float32, as bm25s stores
// its scores: a score is then off by at most 6e-8 of itself (one Float32 rounding per term),
// and scoring a posting is a multiply-add. The idf is computed per query from df.

/// The fixed-size counts at the head of an index file, from which every section's place follows.
struct IndexCounts: Equatable {
    static let magic: [UInt8] = Array("PGBM25\0\n".utf8)
    static let formatVersion: UInt64 = 1
    static let headerSize = 96

    var documentCount: Int
    var termCount: Int
    var postingCount: Int
    var documentIDBytes: Int
    var termBytes: Int
    var totalLength: UInt64
    var settingsLength: Int
}

/// Byte offsets of every section of an index file.
struct IndexLayout {
    let documentLengths: Int
    let documentIDOffsets: Int
    let documentIDBytes: Int
    let termOffsets: Int
    let termBytes: Int
    let postingStarts: Int
    let termMaxWeights: Int
    let postingDocuments: Int
    let postingWeights: Int
    let fileLength: Int

    init(_ counts: IndexCounts) {
        var offset = IndexCounts.headerSize
        func section(_ bytes: Int) -> Int {
            let start = offset
            offset = (offset + bytes + 7) & ~7
            return start
        }
        _ = section(counts.settingsLength)
        documentLengths = section(4 * counts.documentCount)
        documentIDOffsets = section(8 * (counts.documentCount + 1))
        documentIDBytes = section(counts.documentIDBytes)
        termOffsets = section(8 * (counts.termCount + 1))
        termBytes = section(counts.termBytes)
        postingStarts = section(8 * (counts.termCount + 1))
        termMaxWeights = section(4 * counts.termCount)
        postingDocuments = section(4 * counts.postingCount)
        postingWeights = section(4 * counts.postingCount)
        fileLength = offset
    }
}

/// Raw bytes of an index: either allocated by the builder or mapped from a file.
final class IndexStorage: @unchecked Sendable {
    let base: UnsafeRawPointer
    let length: Int
    private let release: () -> Void

    private init(base: UnsafeRawPointer, length: Int, release: @escaping () -> Void) {
        self.base = base
        self.length = length
        self.release = release
    }

    deinit { release() }

    /// Zeroed, 16-byte aligned memory for the builder to fill.
    static func allocate(length: Int) -> (IndexStorage, UnsafeMutableRawPointer) {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(length, 16), alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: max(length, 16))
        let storage = IndexStorage(base: UnsafeRawPointer(memory), length: length) {
            memory.deallocate()
        }
        return (storage, memory)
    }

    /// The file mapped read-only.
    static func map(path: String) throws -> IndexStorage {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw BM25Error.io(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw BM25Error.io(path: path, reason: String(cString: strerror(errno)))
        }
        let length = Int(status.st_size)
        guard length >= IndexCounts.headerSize else {
            throw BM25Error.corruptIndex(
                path: path, reason: "\(length) bytes is shorter than the header")
        }
        guard let memory = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0),
            memory != MAP_FAILED
        else {
            throw BM25Error.io(path: path, reason: "mmap: " + String(cString: strerror(errno)))
        }
        return IndexStorage(base: UnsafeRawPointer(memory), length: length) {
            munmap(memory, length)
        }
    }

    /// The UInt64 at a byte offset (aligned by construction).
    func word(at offset: Int) -> UInt64 {
        base.load(fromByteOffset: offset, as: UInt64.self).littleEndian
    }
}

/// A 64-bit checksum of a byte range: four multiply-rotate lanes over 8-byte words.
///
/// Not cryptographic; it only has to notice truncation, bit flips and overwritten blocks.
func indexChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    let prime: UInt64 = 0x9E37_79B9_7F4A_7C15
    var lanes: (UInt64, UInt64, UInt64, UInt64) = (1, 2, 3, 4)
    let words = bytes.count / 8
    let base = bytes.baseAddress!
    var index = 0
    @inline(__always) func mix(_ lane: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = (lane ^ word) &* prime
        return (mixed << 31) | (mixed >> 33)
    }
    while index + 4 <= words {
        let offset = index * 8
        lanes.0 = mix(lanes.0, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        lanes.1 = mix(lanes.1, base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        lanes.2 = mix(lanes.2, base.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
        lanes.3 = mix(lanes.3, base.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
        index += 4
    }
    var hash = mix(mix(mix(lanes.0, lanes.1), lanes.2), lanes.3)
    for offset in stride(from: index * 8, to: bytes.count, by: 1) {
        hash = mix(hash, UInt64(bytes[offset]) | 0x100)
    }
    return mix(hash, UInt64(bytes.count))
}
