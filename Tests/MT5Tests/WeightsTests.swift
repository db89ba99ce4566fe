import Foundation
import XCTest

@testable import MT5

/// Reads the checkpoints made by Fixtures/weights/make_weight_fixtures.py and compares every
/// tensor with expected.json; damaged copies made at run time must give named errors.
final class WeightsTests: XCTestCase {
    private var fixtures: URL {
        Fixtures.directory.appendingPathComponent("weights")
    }

    /// expected.json: file (relative to Fixtures/weights) to tensor name to shape and values.
    private struct Expected: Decodable {
        var shape: [Int]
        var values: [Double]
    }

    private func expected(_ relative: String) throws -> [String: Expected] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("expected.json"))
        let all = try JSONDecoder().decode([String: [String: Expected]].self, from: data)
        return try XCTUnwrap(all[relative], "expected.json has no \(relative)")
    }

    /// Checks that every tensor expected in `relatives` reads back exactly from `store`.
    private func assertExact(
        _ store: WeightStore, _ relatives: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        var names: [String] = []
        for relative in relatives {
            for (name, tensor) in try expected(relative) {
                names.append(name)
                let info = try XCTUnwrap(store.info(name), name, file: file, line: line)
                XCTAssertEqual(info.shape, tensor.shape, name, file: file, line: line)
                XCTAssertEqual(info.file, fixtures.appendingPathComponent(relative).path)
                let floats = try store.floats(name, shape: tensor.shape)
                XCTAssertEqual(
                    Array(floats), tensor.values.map { Float($0) }, name, file: file, line: line)
            }
        }
        XCTAssertEqual(store.tensorNames, names.sorted(), file: file, line: line)
    }

    /// Whether `buffer` points into the mapping of one of the store's files.
    private func isMapped(_ buffer: UnsafeBufferPointer<Float>, in store: WeightStore) -> Bool {
        guard let start = buffer.baseAddress.map(UnsafeRawPointer.init) else { return false }
        return store.mappedFiles.contains { file in
            guard let base = file.bytes.baseAddress else { return false }
            return start >= base && start < base + file.bytes.count
        }
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("WeightsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A copy of fixture `relative` cut to `length` bytes, in a fresh temporary directory.
    private func cutCopy(_ relative: String, length: Int, name: String? = nil) throws -> URL {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(relative))
        let url = try temporaryDirectory()
            .appendingPathComponent(name ?? (relative as NSString).lastPathComponent)
        try data.prefix(length).write(to: url)
        return url
    }

    private func assertThrows(
        _ expected: MT5Error, file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> Void
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? MT5Error, expected, file: file, line: line)
        }
    }

    // MARK: - Reading every format

    func testSafetensorsOfEveryFloatDType() throws {
        let store = try WeightStore(files: [fixtures.appendingPathComponent("mixed.safetensors")])
        try assertExact(store, ["mixed.safetensors"])
        XCTAssertEqual(store.info("decoder.half")?.dtype, .f16)
        XCTAssertEqual(store.info("decoder.bfloat")?.dtype, .bf16)
        XCTAssertEqual(store.info("encoder.weight")?.dtype, .f32)
        XCTAssertEqual(store.files, [fixtures.appendingPathComponent("mixed.safetensors")])
    }

    func testAlignedF32IsNotCopiedAndConversionsAreKept() throws {
        let store = try WeightStore(files: [fixtures.appendingPathComponent("mixed.safetensors")])
        let f32 = try store.floats("encoder.weight", shape: [3, 4])
        XCTAssertTrue(isMapped(f32, in: store))
        let half = try store.floats("decoder.half", shape: [2, 5])
        XCTAssertFalse(isMapped(half, in: store))
        XCTAssertEqual(try store.floats("decoder.half", shape: [2, 5]).baseAddress,
                       half.baseAddress)
    }

    func testUnalignedF32AndUnsupportedDType() throws {
        let url = fixtures.appendingPathComponent("unusual.safetensors")
        let store = try WeightStore(files: [url])
        try assertExact(store, ["unusual.safetensors"])
        XCTAssertFalse(isMapped(try store.floats("b.unaligned", shape: [2, 2]), in: store))
        XCTAssertNil(store.info("c.counts"))
        assertThrows(.unsupportedDType(name: "c.counts", file: url.path, dtype: "I64")) {
            _ = try store.floats("c.counts", shape: [2])
        }
    }

    func testShardedSafetensorsDirectory() throws {
        let store = try WeightStore(directory: fixtures.appendingPathComponent("sharded"))
        let shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
        try assertExact(store, shards.map { "sharded/\($0)" })
        XCTAssertEqual(
            store.files.map(\.lastPathComponent), shards)
    }

    func testTorchCheckpointDirectory() throws {
        let store = try WeightStore(directory: fixtures.appendingPathComponent("torch"))
        try assertExact(store, ["torch/pytorch_model.bin"])

        // Tied names share one storage: both read the same mapped bytes.
        let shared = try store.floats("shared.weight", shape: [3, 2])
        XCTAssertTrue(isMapped(shared, in: store))
        XCTAssertEqual(try store.floats("tied.weight", shape: [3, 2]).baseAddress,
                       shared.baseAddress)
        // A slice of a bigger storage starts inside it; a transposed view is gathered.
        XCTAssertTrue(isMapped(try store.floats("slice.weight", shape: [2, 5]), in: store))
        XCTAssertFalse(isMapped(try store.floats("transposed.weight", shape: [3, 2]), in: store))

        let path = fixtures.appendingPathComponent("torch/pytorch_model.bin").path
        assertThrows(.unsupportedDType(name: "position_ids", file: path, dtype: "I64")) {
            _ = try store.floats("position_ids", shape: [4])
        }
    }

    func testTorchCheckpointOfPickleProtocol4() throws {
        let url = fixtures.appendingPathComponent("protocol4.bin")
        try assertExact(WeightStore(files: [url]), ["protocol4.bin"])
    }

    func testTorchCheckpointInZip64Archive() throws {
        let url = fixtures.appendingPathComponent("zip64.bin")
        try assertExact(WeightStore(files: [url]), ["zip64.bin"])
    }

    func testShardedTorchDirectory() throws {
        let store = try WeightStore(directory: fixtures.appendingPathComponent("torch_sharded"))
        try assertExact(
            store,
            ["torch_sharded/pytorch_model-00001-of-00002.bin",
             "torch_sharded/pytorch_model-00002-of-00002.bin"])
    }

    func testDirectoryPrefersSafetensorsToTorch() throws {
        let directory = try temporaryDirectory()
        for (source, target) in [("mixed.safetensors", "model.safetensors"),
                                 ("torch/pytorch_model.bin", "pytorch_model.bin")] {
            try FileManager.default.copyItem(
                at: fixtures.appendingPathComponent(source),
                to: directory.appendingPathComponent(target))
        }
        let store = try WeightStore(directory: directory)
        XCTAssertEqual(store.files.map(\.lastPathComponent), ["model.safetensors"])
    }

    func testHalfConversionIsExactForEveryBitPattern() {
        for bits in 0...UInt16.max {
            let ours = floatFromHalfBits(bits)
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                XCTAssertTrue(ours.isNaN, "\(bits)")
            } else {
                XCTAssertEqual(ours.bitPattern, reference.bitPattern, "\(bits)")
            }
        }
    }

    func testPickleMachineReadsPlainValuesOfProtocols0To4() throws {
        let machine = PickleMachine(
            persistentLoad: { _ in XCTFail("no persistent ids"); return .none },
            call: { module, name, _ in
                module == "collections" && name == "OrderedDict"
                    ? .dict(PickleDict()) : .opaque("\(module).\(name)")
            })
        let expected = "{ints: [0, 1, -1, 255, 65535, -2147483648, 1099511627776, "
            + "-9223372036854775808], float: -2.5, flags: (true, false, None), "
            + "text: \"naïve\", tuple: (1, (2, 3), ())}"
        for version in [0, 2, 4] {
            let url = fixtures.appendingPathComponent("value_protocol\(version).pkl")
            let data = try Data(contentsOf: url)
            let value = try data.withUnsafeBytes {
                try machine.run($0, path: url.path, label: "value")
            }
            XCTAssertEqual(render(value), expected, "protocol \(version)")
        }
    }

    /// A Python-like rendering of a pickled value, for comparing whole structures.
    private func render(_ value: PickleValue) -> String {
        switch value {
        case .none: return "None"
        case .bool(let flag): return String(flag)
        case .int(let number): return String(number)
        case .bigInteger: return "<big>"
        case .float(let number): return String(number)
        case .string(let text): return "\"\(text)\""
        case .bytes(let bytes): return "b\(bytes)"
        case .tuple(let items): return "(" + items.map(render).joined(separator: ", ") + ")"
        case .list(let list): return "[" + list.items.map(render).joined(separator: ", ") + "]"
        case .dict(let dict):
            let entries = dict.entries.map { entry -> String in
                guard case .string(let key) = entry.key else {
                    return render(entry.key) + ": " + render(entry.value)
                }
                return key + ": " + render(entry.value)
            }
            return "{" + entries.joined(separator: ", ") + "}"
        case .global(let module, let name): return "\(module).\(name)"
        case .opaque(let object): return "<\(object)>"
        }
    }

    // MARK: - Named errors

    func testMissingTensorAndWrongShape() throws {
        let url = fixtures.appendingPathComponent("mixed.safetensors")
        let store = try WeightStore(files: [url])
        assertThrows(.missingTensor(name: "lm_head.weight", file: url.path)) {
            _ = try store.floats("lm_head.weight", shape: [3, 4])
        }
        assertThrows(
            .wrongShape(name: "encoder.weight", file: url.path, expected: [4, 3], found: [3, 4])
        ) {
            _ = try store.floats("encoder.weight", shape: [4, 3])
        }
    }

    func testTruncatedSafetensors() throws {
        let size = try Data(contentsOf: fixtures.appendingPathComponent("mixed.safetensors")).count
        for length in [0, 5, 20, size - 1] {
            let url = try cutCopy("mixed.safetensors", length: length)
            XCTAssertThrowsError(try WeightStore(files: [url]), "cut to \(length)") { error in
                guard case .truncatedFile(let path, _) = error as? MT5Error else {
                    return XCTFail("cut to \(length): \(error)")
                }
                XCTAssertEqual(path, url.path)
            }
        }
    }

    func testTruncatedTorchCheckpoint() throws {
        let relative = "torch/pytorch_model.bin"
        let size = try Data(contentsOf: fixtures.appendingPathComponent(relative)).count
        for length in [0, 100, size / 2, size - 1] {
            let url = try cutCopy(relative, length: length)
            XCTAssertThrowsError(try WeightStore(files: [url]), "cut to \(length)") { error in
                guard case .truncatedFile(let path, _) = error as? MT5Error else {
                    return XCTFail("cut to \(length): \(error)")
                }
                XCTAssertEqual(path, url.path)
            }
        }
    }

    func testMissingShardIsNamed() throws {
        let directory = try temporaryDirectory()
        for name in ["model.safetensors.index.json", "model-00001-of-00002.safetensors"] {
            try FileManager.default.copyItem(
                at: fixtures.appendingPathComponent("sharded/\(name)"),
                to: directory.appendingPathComponent(name))
        }
        let missing = directory.appendingPathComponent("model-00002-of-00002.safetensors")
        assertThrows(.missingFile(path: missing.path)) {
            _ = try WeightStore(directory: directory)
        }
    }

    func testIndexNamingATensorItsShardLacks() throws {
        let directory = try temporaryDirectory()
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        let shard = "model-00001-of-00002.safetensors"
        try FileManager.default.copyItem(
            at: fixtures.appendingPathComponent("sharded/\(shard)"),
            to: directory.appendingPathComponent(shard))
        let json = #"{"weight_map": {"shared.weight": "\#(shard)", "ghost": "\#(shard)"}}"#
        try Data(json.utf8).write(to: index)
        assertThrows(
            .missingTensor(name: "ghost", file: directory.appendingPathComponent(shard).path)
        ) {
            _ = try WeightStore(directory: directory)
        }
    }

    func testEmptyDirectoryNamesTheFileItWanted() throws {
        let directory = try temporaryDirectory()
        XCTAssertThrowsError(try WeightStore(directory: directory)) { error in
            guard case .missingFile(let path) = error as? MT5Error else {
                return XCTFail("\(error)")
            }
            let wanted = directory.appendingPathComponent("model.safetensors").path
            XCTAssertTrue(path.hasPrefix(wanted), path)
            XCTAssertTrue(path.contains("pytorch_model.bin"))
        }
    }

    func testCompressedTorchEntryIsRefused() throws {
        let url = fixtures.appendingPathComponent("compressed.bin")
        XCTAssertThrowsError(try WeightStore(files: [url])) { error in
            guard case .malformedFile(let path, let reason) = error as? MT5Error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(path, url.path)
            XCTAssertTrue(reason.contains("compressed"), reason)
        }
    }

    func testMalformedSafetensorsHeaders() throws {
        let directory = try temporaryDirectory()
        let cases: [(String, String)] = [
            ("not json", "not valid JSON"),
            (#"[1, 2]"#, "not a JSON object"),
            (#"{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}"#, "needs 2 x 4"),
            (#"{"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#, "ascending"),
            (#"{"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}"#, "negative"),
            (#"{"x": {"shape": [1], "data_offsets": [0, 4]}}"#, "'dtype'"),
            (#"{"x": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}}"#, "'shape'"),
        ]
        for (index, (header, reason)) in cases.enumerated() {
            var bytes = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) {
                bytes.append(contentsOf: $0)
            }
            bytes.append(contentsOf: Array(header.utf8) + [0, 0, 0, 0])
            let url = directory.appendingPathComponent("case\(index).safetensors")
            try bytes.write(to: url)
            XCTAssertThrowsError(try WeightStore(files: [url]), header) { error in
                guard case .malformedFile(let path, let message) = error as? MT5Error else {
                    return XCTFail("\(header): \(error)")
                }
                XCTAssertEqual(path, url.path)
                XCTAssertTrue(message.contains(reason), "\(header): \(message)")
            }
        }
    }

    /// Damaged files of every format must give an MT5Error (or, where the damage is harmless,
    /// values), never a crash: every prefix of a torch file, and seeded random byte flips.
    func testDamagedFilesNeverCrash() throws {
        let directory = try temporaryDirectory()
        var generator = SplitMix64(seed: 2026)
        for relative in ["torch/pytorch_model.bin", "zip64.bin", "mixed.safetensors"] {
            let original = try Data(contentsOf: fixtures.appendingPathComponent(relative))
            var damaged: [Data] = stride(from: 0, to: original.count, by: 11).map {
                original.prefix($0)
            }
            for _ in 0..<150 {
                var copy = original
                for _ in 0..<1 + Int(generator.next() % 4) {
                    let position = Int(generator.next() % UInt64(copy.count))
                    copy[position] = UInt8(truncatingIfNeeded: generator.next())
                }
                damaged.append(copy)
            }
            let url = directory.appendingPathComponent((relative as NSString).lastPathComponent)
            for data in damaged {
                try data.write(to: url)
                do {
                    let store = try WeightStore(files: [url])
                    for name in store.tensorNames {
                        let shape = try XCTUnwrap(store.info(name)).shape
                        _ = try store.floats(name, shape: shape)
                    }
                } catch let error as MT5Error {
                    XCTAssertFalse(error.description.isEmpty)
                }
            }
        }
    }
}

/// A small seeded generator so the damage is the same on every run.
private struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
