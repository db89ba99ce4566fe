import Foundation

/// Reads the table of tensors of a safetensors file.
///
/// Follows the format of https://github.com/huggingface/safetensors: an unsigned 64-bit
/// little-endian header length N, N bytes of JSON mapping each tensor name to
/// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the byte after the
/// header), an optional "__metadata__" object of strings, then the tensor data.
enum SafetensorsFile {
    /// The largest header we accept; the reference implementation refuses larger ones too.
    static let maximumHeaderLength = 100_000_000

    /// The tensors of `file`, whose index in the store is `fileIndex`; only the header is read.
    static func tensors(in file: MappedFile, fileIndex: Int) throws -> [TensorLocation] {
        let path = file.path
        var reader = ByteReader(
            file.bytes, path: path, label: "safetensors file", overrunIsTruncation: true)
        let declaredLength = try reader.read(UInt64.self)
        guard declaredLength <= UInt64(maximumHeaderLength) else {
            throw MT5Error.malformedFile(
                path: path,
                reason: "safetensors header length \(declaredLength) is implausible "
                    + "(at most \(maximumHeaderLength))")
        }
        let headerLength = Int(declaredLength)
        guard headerLength <= file.bytes.count - 8 else {
            throw MT5Error.truncatedFile(
                path: path,
                reason: "the safetensors header of \(headerLength) bytes ends at byte "
                    + "\(8 + headerLength) but the file has only \(file.bytes.count) bytes")
        }
        let headerBytes = try reader.readBytes(headerLength)
        let dataStart = 8 + headerLength
        let dataLength = file.bytes.count - dataStart

        let header: [String: Any]
        do {
            let json = try JSONSerialization.jsonObject(with: Data(headerBytes))
            guard let object = json as? [String: Any] else {
                throw MT5Error.malformedFile(
                    path: path, reason: "safetensors header is not a JSON object")
            }
            header = object
        } catch let error as MT5Error {
            throw error
        } catch {
            throw MT5Error.malformedFile(
                path: path, reason: "safetensors header is not valid JSON (a damaged file?)")
        }

        var tensors: [TensorLocation] = []
        for (name, value) in header where name != "__metadata__" {
            let entry = try Entry(name: name, value: value, path: path)
            guard entry.end <= dataLength else {
                throw MT5Error.truncatedFile(
                    path: path,
                    reason: "tensor '\(name)' ends at data byte \(entry.end) "
                        + "but the file holds only \(dataLength) bytes of data")
            }
            tensors.append(
                TensorLocation(
                    name: name, fileIndex: fileIndex, dtypeName: entry.dtype,
                    shape: entry.shape, byteOffset: dataStart + entry.begin, strides: nil))
        }
        return tensors
    }

    /// One tensor's header entry, checked for consistency but not yet against the file size.
    private struct Entry {
        var dtype: String
        var shape: [Int]
        var begin: Int
        var end: Int

        init(name: String, value: Any, path: String) throws {
            func malformed(_ reason: String) -> MT5Error {
                .malformedFile(path: path, reason: "tensor '\(name)': \(reason)")
            }
            guard let fields = value as? [String: Any] else {
                throw malformed("header entry is not a JSON object")
            }
            guard let dtype = fields["dtype"] as? String else {
                throw malformed("'dtype' is missing or not a string")
            }
            guard let shape = integers(fields["shape"]) else {
                throw malformed("'shape' is missing or not a list of integers")
            }
            guard let offsets = integers(fields["data_offsets"]), offsets.count == 2 else {
                throw malformed("'data_offsets' is missing or not two integers")
            }
            guard let count = checkedProduct(shape) else {
                throw malformed("shape \(shape) is negative or too large")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end else {
                throw malformed("data_offsets [\(begin), \(end)] are not an ascending range")
            }
            if let itemSize = itemSize(ofDTypeNamed: dtype) {
                let (needed, overflow) = count.multipliedReportingOverflow(by: itemSize)
                guard !overflow, needed == end - begin else {
                    throw malformed(
                        "data_offsets [\(begin), \(end)] hold \(end - begin) bytes "
                            + "but shape \(shape) of \(dtype) needs \(count) x \(itemSize)")
                }
            }
            self.dtype = dtype
            self.shape = shape
            self.begin = begin
            self.end = end
        }
    }
}

/// The integers of a JSON array, or nil if `value` is not an array of integers.
func integers(_ value: Any?) -> [Int]? {
    guard let array = value as? [Any] else { return nil }
    var result: [Int] = []
    result.reserveCapacity(array.count)
    for element in array {
        if let integer = element as? Int {
            result.append(integer)
        } else if let number = element as? NSNumber, let exact = Int(exactly: number.doubleValue)
        {
            result.append(exact)
        } else {
            return nil
        }
    }
    return result
}
