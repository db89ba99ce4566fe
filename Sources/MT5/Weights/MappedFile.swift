import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole checkpoint file mapped read-only into memory (mmap(2)), unmapped when released.
///
/// Only the pages that are touched are read from disk, so opening a file of gigabytes costs
/// no more than parsing its header.
final class MappedFile: @unchecked Sendable {
    /// The file as the caller named it.
    let url: URL

    /// The whole file; empty (with a nil base address) for a file of zero bytes.
    let bytes: UnsafeRawBufferPointer

    /// The path used in error messages.
    var path: String { url.path }

    /// Maps `url` read-only; a missing file is `missingFile`, anything else `unreadableFile`.
    init(url: URL) throws {
        self.url = url
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw MT5Error.missingFile(path: path) }
            throw MT5Error.unreadableFile(path: path, reason: String(cString: strerror(code)))
        }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw MT5Error.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw MT5Error.unreadableFile(path: path, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }

        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw MT5Error.unreadableFile(
                path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}

/// Little-endian reads from a byte range that check every access against the range's end.
///
/// An overrun becomes `truncatedFile` when the range is the end of a file and `malformedFile`
/// when it is a record inside the file (a pickle, a zip entry) whose stated size is too small.
struct ByteReader {
    /// The bytes being read.
    let bytes: UnsafeRawBufferPointer

    /// The file the bytes come from, for errors.
    let path: String

    /// What the bytes are ("safetensors header", "data.pkl"), for errors.
    let label: String

    /// Whether running past the end means the file was cut short.
    let overrunIsTruncation: Bool

    /// The offset of the next read.
    var position = 0

    init(
        _ bytes: UnsafeRawBufferPointer, path: String, label: String,
        overrunIsTruncation: Bool
    ) {
        self.bytes = bytes
        self.path = path
        self.label = label
        self.overrunIsTruncation = overrunIsTruncation
    }

    /// Whether every byte has been read.
    var isAtEnd: Bool { position >= bytes.count }

    /// Throws unless `count` bytes starting at `offset` lie inside the range.
    func require(_ count: Int, at offset: Int) throws {
        guard count >= 0, offset >= 0, offset <= bytes.count, count <= bytes.count - offset
        else {
            let reason = "\(label) needs bytes \(offset)..<\(offset &+ count) "
                + "but has only \(bytes.count)"
            if overrunIsTruncation {
                throw MT5Error.truncatedFile(path: path, reason: reason)
            }
            throw MT5Error.malformedFile(path: path, reason: reason)
        }
    }

    /// Reads a `T` stored little-endian at `offset`, without moving `position`.
    func peek<T: FixedWidthInteger>(_: T.Type, at offset: Int) throws -> T {
        try require(MemoryLayout<T>.size, at: offset)
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads a `T` stored little-endian at `position` and moves past it.
    mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let value = try peek(type, at: position)
        position += MemoryLayout<T>.size
        return value
    }

    /// Returns the next `count` bytes as a slice of the range and moves past them.
    mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        try require(count, at: position)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        return slice
    }

    /// Reads bytes up to (not including) the next `terminator` and moves past the terminator.
    mutating func readLine(terminator: UInt8 = 0x0A) throws -> UnsafeRawBufferPointer {
        var end = position
        while end < bytes.count, bytes[end] != terminator { end += 1 }
        try require(end + 1 - position, at: position)
        let line = UnsafeRawBufferPointer(rebasing: bytes[position..<end])
        position = end + 1
        return line
    }
}

/// The product of `dimensions`, or nil if a dimension is negative or the product overflows.
func checkedProduct(_ dimensions: [Int]) -> Int? {
    var product = 1
    for dimension in dimensions {
        guard dimension >= 0 else { return nil }
        let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
        if overflow { return nil }
        product = next
    }
    return product
}

/// Memory the store owns for a converted tensor.
///
/// Buffers of several megabytes are mapped anonymously with MAP_POPULATE, which makes the
/// kernel supply all their pages in one call: converting a whole F16 checkpoint otherwise takes
/// half a million page faults, one per 4 KiB page written.
struct ConvertedBuffer {
    /// The elements; uninitialized until the conversion writes them.
    let floats: UnsafeMutableBufferPointer<Float>

    /// The length of the anonymous mapping, or 0 when the memory came from the allocator.
    private let mappedLength: Int

    private static let mappingThreshold = 4 << 20

    /// Allocates room for `count` floats.
    init(count: Int) {
        let length = count * MemoryLayout<Float>.stride
        #if os(Linux)
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE
        #else
        let flags = MAP_PRIVATE | MAP_ANONYMOUS
        #endif
        if length >= Self.mappingThreshold,
            let address = mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0),
            address != UnsafeMutableRawPointer(bitPattern: -1)
        {
            floats = UnsafeMutableBufferPointer(
                start: address.bindMemory(to: Float.self, capacity: count), count: count)
            mappedLength = length
        } else {
            floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            mappedLength = 0
        }
    }

    /// Returns the memory; the buffer must not be used afterwards.
    func release() {
        if mappedLength > 0 {
            munmap(UnsafeMutableRawPointer(floats.baseAddress!), mappedLength)
        } else {
            floats.deallocate()
        }
    }
}
