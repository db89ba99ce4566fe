import Foundation

/// Reads the tensors of a pytorch_model.bin written by torch.save (torch >= 1.6), without Python.
///
/// Follows torch/serialization.py (_save, _load): the file is a zip archive holding
/// ARCHIVE/data.pkl, a pickle of the state dict in which every tensor is
/// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...) and every storage
/// a persistent id ('storage', torch.FloatStorage, key, location, numel) whose little-endian
/// bytes are the stored zip entry ARCHIVE/data/<key>. Tensors sharing a storage (tied weights,
/// views) point into the same entry.
enum TorchCheckpoint {
    /// The tensors of `file`, whose index in the store is `fileIndex`.
    static func tensors(in file: MappedFile, fileIndex: Int) throws -> [TensorLocation] {
        let path = file.path
        guard file.bytes.count >= ZipArchive.minimumSize else {
            throw MT5Error.truncatedFile(
                path: path, reason: "\(file.bytes.count) bytes is too short for a zip archive")
        }
        guard ZipArchive.looksLikeZip(file.bytes) else {
            throw MT5Error.malformedFile(
                path: path,
                reason: "not a zip archive; torch checkpoints from before torch 1.6 are not "
                    + "supported (re-save with torch.save or convert to safetensors)")
        }
        let archive = try ZipArchive(file: file)

        let pickles = archive.entries.filter {
            $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl")
        }
        guard let pickle = pickles.first else {
            throw MT5Error.malformedFile(path: path, reason: "zip archive holds no data.pkl")
        }
        guard pickles.count == 1 else {
            throw MT5Error.malformedFile(
                path: path, reason: "zip archive holds several data.pkl entries")
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))

        if let order = archive.entry(named: prefix + "byteorder") {
            let text = String(decoding: try archive.contents(of: order), as: UTF8.self)
            guard text.trimmingCharacters(in: .whitespacesAndNewlines) == "little" else {
                throw MT5Error.malformedFile(
                    path: path, reason: "tensors are stored with byte order '\(text)', not little")
            }
        }

        let machine = PickleMachine(persistentLoad: storage(from:), call: call)
        let root = try machine.run(
            try archive.contents(of: pickle), path: path, label: pickle.name)
        guard case .dict(let stateDict) = root else {
            throw MT5Error.malformedFile(
                path: path, reason: "\(pickle.name) does not hold a dict of tensors")
        }

        var tensors: [TensorLocation] = []
        let resolver = Resolver(
            archive: archive, prefix: prefix, fileIndex: fileIndex, path: path)
        try resolver.collect(stateDict, namePrefix: "", into: &tensors)
        return tensors
    }

    /// A storage named by a persistent id: its zip key, element type and element count.
    struct Storage {
        var key: String
        var dtypeName: String
        var count: Int
    }

    /// A tensor as _rebuild_tensor_v2 describes it.
    struct Tensor {
        var storage: Storage
        var offset: Int
        var shape: [Int]
        var strides: [Int]
    }

    /// A call the checkpoint makes that we do not model, e.g. a quantized tensor.
    struct UnmodelledObject {
        var callable: String
    }

    /// torch's storage class names, with the safetensors names of their element types.
    static let dtypeNames: [String: String] = [
        "FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16",
        "DoubleStorage": "F64", "LongStorage": "I64", "IntStorage": "I32",
        "ShortStorage": "I16", "CharStorage": "I8", "ByteStorage": "U8", "BoolStorage": "BOOL",
    ]

    private static func storage(from persistentID: PickleValue) throws -> PickleValue {
        guard case .tuple(let fields) = persistentID, fields.count >= 5,
            case .string("storage") = fields[0],
            case .global(_, let storageType) = fields[1],
            case .int(let count) = fields[4], count >= 0
        else {
            return .opaque(UnmodelledObject(callable: "persistent id \(persistentID)"))
        }
        let key: String
        switch fields[2] {
        case .string(let text): key = text
        case .int(let number): key = String(number)
        default: return .opaque(UnmodelledObject(callable: "storage with a non-string key"))
        }
        let dtypeName = dtypeNames[storageType] ?? storageType
        return .opaque(Storage(key: key, dtypeName: dtypeName, count: count))
    }

    private static func call(_ module: String, _ name: String, _ arguments: [PickleValue]) throws
        -> PickleValue
    {
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"):
            return .dict(PickleDict())
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            guard arguments.count >= 4,
                case .opaque(let object) = arguments[0], let storage = object as? Storage,
                case .int(let offset) = arguments[1],
                let shape = integers(of: arguments[2]), let strides = integers(of: arguments[3])
            else {
                return .opaque(UnmodelledObject(callable: "\(module).\(name) with odd arguments"))
            }
            return .opaque(Tensor(storage: storage, offset: offset, shape: shape, strides: strides))
        case ("torch._utils", "_rebuild_parameter"),
            ("torch._utils", "_rebuild_parameter_with_state"):
            return arguments.first ?? .none
        case ("torch._tensor", "_rebuild_from_type_v2"):
            // (function, subclass, arguments, state): the plain tensor is function(arguments).
            guard arguments.count >= 3, case .global(let innerModule, let innerName) = arguments[0],
                case .tuple(let inner) = arguments[2]
            else { return .opaque(UnmodelledObject(callable: "\(module).\(name)")) }
            return try call(innerModule, innerName, inner)
        default:
            return .opaque(UnmodelledObject(callable: "\(module).\(name)"))
        }
    }

    private static func integers(of value: PickleValue) -> [Int]? {
        guard case .tuple(let items) = value else { return nil }
        var result: [Int] = []
        for item in items {
            guard case .int(let number) = item else { return nil }
            result.append(number)
        }
        return result
    }
}

/// Turns the pickled tensors of a state dict into locations inside the mapped file.
private struct Resolver {
    let archive: ZipArchive
    let prefix: String
    let fileIndex: Int
    let path: String

    func malformed(_ name: String, _ reason: String) -> MT5Error {
        .malformedFile(path: path, reason: "tensor '\(name)': \(reason)")
    }

    /// Appends the tensors of `dict`; nested dicts (e.g. {"model": state_dict}) get dotted names.
    func collect(
        _ dict: PickleDict, namePrefix: String, into tensors: inout [TensorLocation]
    ) throws {
        for (key, value) in dict.entries {
            let name: String
            switch key {
            case .string(let text): name = namePrefix + text
            case .int(let number): name = namePrefix + String(number)
            default: continue
            }
            switch value {
            case .opaque(let object as TorchCheckpoint.Tensor):
                tensors.append(try location(of: object, name: name))
            case .opaque(let object as TorchCheckpoint.UnmodelledObject):
                // Kept so that reading it names what it is instead of calling it missing.
                tensors.append(
                    TensorLocation(
                        name: name, fileIndex: fileIndex, dtypeName: object.callable, shape: [],
                        byteOffset: 0, strides: nil))
            case .dict(let inner):
                try collect(inner, namePrefix: name + ".", into: &tensors)
            default:
                continue
            }
        }
    }

    func location(of tensor: TorchCheckpoint.Tensor, name: String) throws -> TensorLocation {
        let storage = tensor.storage
        let entryName = prefix + "data/" + storage.key
        guard let entry = archive.entry(named: entryName) else {
            throw malformed(name, "its storage \(entryName) is missing from the archive")
        }
        guard let itemSize = itemSize(ofDTypeNamed: storage.dtypeName) else {
            // An unknown element type: reading it reports the dtype.
            return TensorLocation(
                name: name, fileIndex: fileIndex, dtypeName: storage.dtypeName,
                shape: tensor.shape, byteOffset: 0, strides: nil)
        }
        let contents = try archive.contents(of: entry)
        let (storageBytes, overflow) = storage.count.multipliedReportingOverflow(by: itemSize)
        guard !overflow, storageBytes <= contents.count else {
            throw malformed(
                name,
                "storage \(entryName) has \(contents.count) bytes, fewer than its "
                    + "\(storage.count) elements of \(storage.dtypeName)")
        }

        let shape = tensor.shape
        let strides = tensor.strides
        guard strides.count == shape.count, strides.allSatisfy({ $0 >= 0 }), tensor.offset >= 0,
            let count = checkedProduct(shape)
        else {
            throw malformed(
                name, "size \(shape), stride \(strides), offset \(tensor.offset) are not valid")
        }
        if count > 0 {
            // The last element read is offset + sum((size - 1) * stride).
            var last = tensor.offset
            for (size, stride) in zip(shape, strides) {
                let (step, stepOverflow) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, sumOverflow) = last.addingReportingOverflow(step)
                guard !stepOverflow, !sumOverflow else {
                    throw malformed(name, "size \(shape) with stride \(strides) overflows")
                }
                last = sum
            }
            guard last < storage.count else {
                throw malformed(
                    name,
                    "size \(shape), stride \(strides), offset \(tensor.offset) reach element "
                        + "\(last) of a storage of \(storage.count)")
            }
        }

        let rowMajor = isRowMajor(shape: shape, strides: strides)
        // A view that reads more elements than its storage holds overlaps or broadcasts itself;
        // refusing it keeps the memory a checkpoint can make us allocate within its file size.
        guard rowMajor || count <= storage.count else {
            throw malformed(
                name,
                "size \(shape) with stride \(strides) repeats elements of its storage; "
                    + "save the tensor contiguous (.contiguous()) instead")
        }

        let fileBase = archive.file.bytes.baseAddress!
        let fileStart = contents.baseAddress.map { fileBase.distance(to: $0) } ?? 0
        return TensorLocation(
            name: name, fileIndex: fileIndex, dtypeName: storage.dtypeName, shape: shape,
            byteOffset: fileStart + tensor.offset * itemSize,
            strides: rowMajor ? nil : strides)
    }

    /// Whether `strides` are those of a contiguous row-major array; dimensions of size 1 may
    /// carry any stride, and an empty tensor is always contiguous.
    func isRowMajor(shape: [Int], strides: [Int]) -> Bool {
        if shape.contains(0) { return true }
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() {
            if size != 1, stride != expected { return false }
            expected *= size
        }
        return true
    }
}
