import Foundation

/// The element type of a stored tensor that the store converts to Float, by its safetensors name.
public enum WeightDType: String, Sendable {
    /// IEEE 754 binary32, read in place.
    case f32 = "F32"
    /// IEEE 754 binary16, widened exactly to Float on first access.
    case f16 = "F16"
    /// bfloat16 (the top half of a binary32), widened exactly to Float on first access.
    case bf16 = "BF16"
}

/// What a checkpoint declares about one tensor.
public struct TensorInfo: Sendable {
    /// The checkpoint's name, e.g. "shared.weight".
    public var name: String
    /// The element type as stored.
    public var dtype: WeightDType
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// The path of the file holding the tensor.
    public var file: String
}

/// All tensors of a checkpoint directory, memory-mapped.
///
/// Opening reads only headers (the safetensors JSON, or the zip directory and pickle of a torch
/// file); tensor bytes are touched when `floats` asks for them. The mappings live as long as the
/// store, and so do the buffers it returns.
public final class WeightStore: @unchecked Sendable {
    /// Which checkpoint files were read (for fingerprints): the weight files, shards in order.
    public let files: [URL]

    /// The names of the tensors whose dtype is F32, F16 or BF16, sorted. Tensors of other
    /// dtypes are left out; asking `floats` for one throws `unsupportedDType`.
    public let tensorNames: [String]

    /// The mapped files, in the order of `files`.
    let mappedFiles: [MappedFile]
    private let locations: [String: TensorLocation]
    private let checkpointDescription: String

    /// Converted copies, by stored bytes, so tied names share one; guarded by `lock`.
    private var converted: [TensorLocation.StorageKey: ConvertedBuffer] = [:]
    /// How many `floats` answers each converted copy has that are not released yet.
    private var convertedUsers: [TensorLocation.StorageKey: Int] = [:]
    private let lock = NSLock()

    /// Finds model.safetensors, else model.safetensors.index.json (sharded), else
    /// pytorch_model.bin, else pytorch_model.bin.index.json in `directory`.
    public convenience init(directory: URL) throws {
        try self.init(checkpoint: CheckpointFiles.locate(in: directory))
    }

    /// Reads explicit files: safetensors, torch .bin, or a shard index (.json) with its shards.
    public convenience init(files: [URL]) throws {
        try self.init(checkpoint: CheckpointFiles.explicit(files))
    }

    private init(checkpoint: CheckpointFiles) throws {
        var mapped: [MappedFile] = []
        var locations: [String: TensorLocation] = [:]
        for (fileIndex, url) in checkpoint.weightFiles.enumerated() {
            let file = try MappedFile(url: url)
            mapped.append(file)
            let isTorch = ZipArchive.looksLikeZip(file.bytes)
                || ["bin", "pt", "pth"].contains(url.pathExtension.lowercased())
            let tensors = isTorch
                ? try TorchCheckpoint.tensors(in: file, fileIndex: fileIndex)
                : try SafetensorsFile.tensors(in: file, fileIndex: fileIndex)

            for tensor in tensors {
                if let owner = checkpoint.shardByTensor[tensor.name], owner != file.path {
                    continue  // the index assigns this name to another shard
                }
                if let earlier = locations[tensor.name] {
                    let first = checkpoint.weightFiles[earlier.fileIndex].path
                    throw MT5Error.malformedFile(
                        path: file.path, reason: "tensor '\(tensor.name)' is also in \(first)")
                }
                locations[tensor.name] = tensor
            }
        }

        for (name, shard) in checkpoint.shardByTensor {
            guard let location = locations[name],
                checkpoint.weightFiles[location.fileIndex].path == shard
            else {
                throw MT5Error.missingTensor(name: name, file: shard)
            }
        }

        self.files = checkpoint.weightFiles
        self.mappedFiles = mapped
        self.locations = locations
        self.checkpointDescription = checkpoint.description
        self.tensorNames = locations.values.filter { $0.dtype != nil }.map(\.name).sorted()
    }

    deinit {
        for buffer in converted.values { buffer.release() }
    }

    /// The declared dtype, shape and file of `name`; nil if absent or of an unsupported dtype.
    public func info(_ name: String) -> TensorInfo? {
        guard let location = locations[name], let dtype = location.dtype else { return nil }
        return TensorInfo(
            name: name, dtype: dtype, shape: location.shape,
            file: files[location.fileIndex].path)
    }

    /// Float32 contents, row-major, checked against `shape` (throws wrongShape naming the
    /// tensor and file, or missingTensor).
    /// F32 stored data aligned to 4 bytes is returned without copying (a pointer into the mmap);
    /// F16/BF16 (and unaligned F32) are converted once into memory owned by the store.
    public func floats(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float> {
        guard let location = locations[name] else {
            throw MT5Error.missingTensor(name: name, file: checkpointDescription)
        }
        let path = files[location.fileIndex].path
        guard let dtype = location.dtype else {
            throw MT5Error.unsupportedDType(name: name, file: path, dtype: location.dtypeName)
        }
        guard location.shape == shape else {
            throw MT5Error.wrongShape(
                name: name, file: path, expected: shape, found: location.shape)
        }

        let count = location.elementCount
        let fileBase = mappedFiles[location.fileIndex].bytes.baseAddress!
        let start = fileBase + location.byteOffset
        let aligned = Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0
        if dtype == .f32, location.strides == nil, aligned {
            return UnsafeBufferPointer(start: start.bindMemory(to: Float.self, capacity: count),
                                       count: count)
        }

        lock.lock()
        defer { lock.unlock() }
        let key = location.storageKey
        convertedUsers[key, default: 0] += 1
        if let buffer = converted[key] {
            return UnsafeBufferPointer(buffer.floats)
        }
        let buffer = ConvertedBuffer(count: count)
        location.convert(fileBase: fileBase, into: buffer.floats)
        converted[key] = buffer
        return UnsafeBufferPointer(buffer.floats)
    }

    /// Gives back the memory behind one `floats(name)` answer, which its caller must not read
    /// again: a converted copy is freed once no other answer uses it; pages mapped from the
    /// file leave this process's resident memory (touching them again would read the file).
    func releaseMemory(of name: String) {
        guard let location = locations[name], location.dtype != nil else { return }
        let fileBase = mappedFiles[location.fileIndex].bytes.baseAddress!
        let start = fileBase + location.byteOffset
        lock.lock()
        defer { lock.unlock() }
        let key = location.storageKey
        if let buffer = converted[key] {
            convertedUsers[key, default: 1] -= 1
            if convertedUsers[key, default: 0] <= 0 {
                buffer.release()
                converted[key] = nil
                convertedUsers[key] = nil
            }
            return
        }
        // Only whole pages inside the tensor: its neighbours may still be in use.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytes = location.elementCount * MemoryLayout<Float>.stride
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + bytes) / page * page
        if end > first {
            _ = madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED)
        }
    }
}
