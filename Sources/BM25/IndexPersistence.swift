import Foundation

extension BM25Index {
    /// Writes the index to one file (atomically: a temporary file renamed into place).
    public func save(to url: URL) throws {
        let data = Data(
            bytesNoCopy: UnsafeMutableRawPointer(mutating: storage.base), count: layout.fileLength,
            deallocator: .none)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw BM25Error.io(
                path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Maps an index file read-only; a wrong magic, version, length or checksum, or sections
    /// that do not fit together, throw `BM25Error.corruptIndex`.
    public static func load(from url: URL) throws -> BM25Index {
        let path = url.path
        let storage = try IndexStorage.map(path: path)
        func corrupt(_ reason: String) -> BM25Error { .corruptIndex(path: path, reason: reason) }

        let magic = UnsafeRawBufferPointer(start: storage.base, count: 8)
        guard Array(magic) == IndexCounts.magic else { throw corrupt("wrong magic bytes") }
        guard storage.word(at: 8) == IndexCounts.formatVersion else {
            throw corrupt("format version \(storage.word(at: 8)), expected 1")
        }
        guard storage.word(at: 24) == UInt64(storage.length) else {
            throw corrupt("header says \(storage.word(at: 24)) bytes, file has \(storage.length)")
        }
        let checksum = indexChecksum(
            UnsafeRawBufferPointer(start: storage.base + 24, count: storage.length - 24))
        guard checksum == storage.word(at: 16) else { throw corrupt("checksum mismatch") }

        let fields = (0..<8).map { storage.word(at: 32 + 8 * $0) }
        guard fields.enumerated().allSatisfy({ $0.offset == 6 || $0.element < UInt64(1 << 40) })
        else { throw corrupt("implausible counts in the header") }
        let counts = IndexCounts(
            documentCount: Int(fields[0]), termCount: Int(fields[1]),
            postingCount: Int(fields[2]),
            documentIDBytes: Int(fields[4]), termBytes: Int(fields[5]), totalLength: fields[6],
            settingsLength: Int(fields[7]))
        let layout = IndexLayout(counts)
        guard layout.fileLength == storage.length else {
            throw corrupt("sections need \(layout.fileLength) bytes, file has \(storage.length)")
        }
        let settingsBytes = Data(
            UnsafeRawBufferPointer(start: storage.base + IndexCounts.headerSize,
                                   count: counts.settingsLength))
        let settings: IndexSettings
        do {
            settings = try JSONDecoder().decode(IndexSettings.self, from: settingsBytes)
            try settings.parameters.validate()
        } catch {
            throw corrupt("settings: \(error)")
        }
        try checkStructure(storage, counts: counts, layout: layout, corrupt: corrupt)
        return BM25Index(storage: storage, settings: settings, counts: counts, layout: layout)
    }

    /// Offsets ascending and ending where their sections end, documents ascending within each
    /// posting list and below N: what search relies on to stay in bounds.
    private static func checkStructure(
        _ storage: IndexStorage, counts: IndexCounts, layout: IndexLayout,
        corrupt: (String) -> BM25Error
    ) throws {
        func ascending(_ offset: Int, count: Int, last: Int, name: String) throws {
            let values = (storage.base + offset).assumingMemoryBound(to: UInt64.self)
            guard values[0] == 0, values[count - 1] == UInt64(last) else {
                throw corrupt("\(name) do not span their section")
            }
            for index in 1..<count where values[index] < values[index - 1] {
                throw corrupt("\(name) decrease at \(index)")
            }
        }
        try ascending(layout.documentIDOffsets, count: counts.documentCount + 1,
                      last: counts.documentIDBytes, name: "document-id offsets")
        try ascending(layout.termOffsets, count: counts.termCount + 1,
                      last: counts.termBytes, name: "term offsets")
        try ascending(layout.postingStarts, count: counts.termCount + 1,
                      last: counts.postingCount, name: "posting starts")

        let starts = (storage.base + layout.postingStarts).assumingMemoryBound(to: UInt64.self)
        let documents = (storage.base + layout.postingDocuments)
            .assumingMemoryBound(to: UInt32.self)
        let limit = UInt32(clamping: counts.documentCount)
        for term in 0..<counts.termCount {
            var previous: Int64 = -1
            for position in Int(starts[term])..<Int(starts[term + 1]) {
                let document = documents[position]
                guard document < limit, Int64(document) > previous else {
                    throw corrupt("posting list \(term) is out of order or out of range")
                }
                previous = Int64(document)
            }
        }
    }
}
