import Foundation

/// The table of contents of a zip archive, read from its central directory.
///
/// Follows PKWARE's APPNOTE.TXT (sections 4.3.7 local header, 4.3.12 central directory header,
/// 4.3.14-4.3.16 end records, 4.5.3 Zip64 extra field). torch.save writes such an archive with
/// every entry stored uncompressed, so entries are handed out as slices of the mapped file.
struct ZipArchive {
    /// One file inside the archive, as its central directory header describes it.
    struct Entry {
        var name: String
        var flags: UInt16
        var method: UInt16
        var compressedSize: Int
        var uncompressedSize: Int
        var localHeaderOffset: Int
    }

    /// The archive's file.
    let file: MappedFile

    /// The entries in the order of the central directory.
    private(set) var entries: [Entry] = []

    /// Entry index by name.
    private var indexByName: [String: Int] = [:]

    private static let localHeaderSignature: UInt32 = 0x0403_4B50
    private static let centralHeaderSignature: UInt32 = 0x0201_4B50
    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let saturated32: UInt32 = 0xFFFF_FFFF

    /// The size of the smallest archive: an end-of-central-directory record alone.
    static let minimumSize = 22

    /// Whether `bytes` begin like a zip archive.
    static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4B
            && (bytes[2] == 0x03 || bytes[2] == 0x05) && (bytes[3] == 0x04 || bytes[3] == 0x06)
    }

    /// Reads the central directory of `file`.
    init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        let reader = ByteReader(
            file.bytes, path: path, label: "zip archive", overrunIsTruncation: true)

        guard let endOffset = Self.findEndRecord(file.bytes) else {
            if Self.looksLikeZip(file.bytes) {
                throw MT5Error.truncatedFile(
                    path: path,
                    reason: "zip archive has no end-of-central-directory record (cut short?)")
            }
            throw MT5Error.malformedFile(path: path, reason: "not a zip archive")
        }
        var entryCount = Int(try reader.peek(UInt16.self, at: endOffset + 10))
        var directorySize = Int(try reader.peek(UInt32.self, at: endOffset + 12))
        var directoryOffset = Int(try reader.peek(UInt32.self, at: endOffset + 16))

        // Archives past 4 GiB or 65535 entries keep the true values in the Zip64 end record.
        let locatorOffset = endOffset - 20
        if locatorOffset >= 0,
            try reader.peek(UInt32.self, at: locatorOffset) == Self.zip64LocatorSignature
        {
            let recordOffset = try Self.integer(
                reader.peek(UInt64.self, at: locatorOffset + 8), path: path)
            guard try reader.peek(UInt32.self, at: recordOffset) == Self.zip64EndSignature else {
                throw MT5Error.malformedFile(
                    path: path, reason: "Zip64 end record missing at byte \(recordOffset)")
            }
            entryCount = try Self.integer(
                reader.peek(UInt64.self, at: recordOffset + 32), path: path)
            directorySize = try Self.integer(
                reader.peek(UInt64.self, at: recordOffset + 40), path: path)
            directoryOffset = try Self.integer(
                reader.peek(UInt64.self, at: recordOffset + 48), path: path)
        }
        try reader.require(directorySize, at: directoryOffset)

        var directory = ByteReader(
            UnsafeRawBufferPointer(
                rebasing: file.bytes[directoryOffset..<(directoryOffset + directorySize)]),
            path: path, label: "zip central directory", overrunIsTruncation: false)
        for _ in 0..<entryCount {
            let entry = try Self.readCentralHeader(&directory, path: path)
            indexByName[entry.name] = entries.count
            entries.append(entry)
        }
    }

    /// The entry called `name`, if any.
    func entry(named name: String) -> Entry? {
        indexByName[name].map { entries[$0] }
    }

    /// The bytes of a stored (uncompressed, unencrypted) entry, as a slice of the mapped file.
    func contents(of entry: Entry) throws -> UnsafeRawBufferPointer {
        let path = file.path
        guard entry.flags & 1 == 0 else {
            throw MT5Error.malformedFile(path: path, reason: "zip entry \(entry.name) is encrypted")
        }
        guard entry.method == 0, entry.compressedSize == entry.uncompressedSize else {
            throw MT5Error.malformedFile(
                path: path,
                reason: "zip entry \(entry.name) is compressed (method \(entry.method)); "
                    + "torch.save stores entries uncompressed, re-save the checkpoint with torch")
        }
        let reader = ByteReader(
            file.bytes, path: path, label: "zip entry \(entry.name)", overrunIsTruncation: true)
        let header = entry.localHeaderOffset
        guard try reader.peek(UInt32.self, at: header) == Self.localHeaderSignature else {
            throw MT5Error.malformedFile(
                path: path, reason: "zip entry \(entry.name) has no local header at byte \(header)")
        }
        // The local extra field may differ from the central one: torch pads it for alignment.
        let nameLength = Int(try reader.peek(UInt16.self, at: header + 26))
        let extraLength = Int(try reader.peek(UInt16.self, at: header + 28))
        let start = header + 30 + nameLength + extraLength
        try reader.require(entry.uncompressedSize, at: start)
        return UnsafeRawBufferPointer(
            rebasing: file.bytes[start..<(start + entry.uncompressedSize)])
    }

    /// The offset of the end-of-central-directory record, searched backwards past any comment.
    private static func findEndRecord(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= minimumSize else { return nil }
        let last = bytes.count - minimumSize
        let first = max(0, last - Int(UInt16.max))
        for offset in stride(from: last, through: first, by: -1) {
            let word = UInt32(
                littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            if word == endSignature { return offset }
        }
        return nil
    }

    private static func readCentralHeader(_ reader: inout ByteReader, path: String) throws -> Entry
    {
        let start = reader.position
        guard try reader.read(UInt32.self) == centralHeaderSignature else {
            throw MT5Error.malformedFile(
                path: path, reason: "zip central directory header missing at its byte \(start)")
        }
        reader.position = start + 8
        let flags = try reader.read(UInt16.self)
        let method = try reader.read(UInt16.self)
        reader.position = start + 20
        let compressed32 = try reader.read(UInt32.self)
        let uncompressed32 = try reader.read(UInt32.self)
        let nameLength = Int(try reader.read(UInt16.self))
        let extraLength = Int(try reader.read(UInt16.self))
        let commentLength = Int(try reader.read(UInt16.self))
        reader.position = start + 42
        let offset32 = try reader.read(UInt32.self)
        let name = String(decoding: try reader.readBytes(nameLength), as: UTF8.self)
        var extra = ByteReader(
            try reader.readBytes(extraLength), path: path, label: "zip extra field of \(name)",
            overrunIsTruncation: false)
        _ = try reader.readBytes(commentLength)

        var compressed = Int(compressed32)
        var uncompressed = Int(uncompressed32)
        var offset = Int(offset32)
        while !extra.isAtEnd {
            let tag = try extra.read(UInt16.self)
            let size = Int(try extra.read(UInt16.self))
            var field = ByteReader(
                try extra.readBytes(size), path: path, label: "Zip64 field of \(name)",
                overrunIsTruncation: false)
            guard tag == 0x0001 else { continue }
            if uncompressed32 == saturated32 {
                uncompressed = try integer(field.read(UInt64.self), path: path)
            }
            if compressed32 == saturated32 {
                compressed = try integer(field.read(UInt64.self), path: path)
            }
            if offset32 == saturated32 {
                offset = try integer(field.read(UInt64.self), path: path)
            }
        }
        return Entry(
            name: name, flags: flags, method: method, compressedSize: compressed,
            uncompressedSize: uncompressed, localHeaderOffset: offset)
    }

    private static func integer(_ value: UInt64, path: String) throws -> Int {
        guard let result = Int(exactly: value) else {
            throw MT5Error.malformedFile(
                path: path, reason: "zip size or offset \(value) is too large")
        }
        return result
    }
}
