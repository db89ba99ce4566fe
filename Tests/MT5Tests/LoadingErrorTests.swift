import Foundation
import XCTest
@testable import MT5

/// A damaged checkpoint is refused with an error that names the file and the tensor or key.
final class LoadingErrorTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("pairgen-mt5-\(UUID().uuidString)")
        let source = Fixtures.checkpoint("tiny")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(name), to: scratch.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(
            at: Fixtures.directory.appendingPathComponent("spiece.model"),
            to: scratch.appendingPathComponent("spiece.model"))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func editConfig(_ change: (inout [String: Any]) -> Void) throws {
        let url = scratch.appendingPathComponent("config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
            as! [String: Any]
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    private func loadError() -> MT5Error? {
        do {
            _ = try QueryGenerator(modelDirectory: scratch, threads: 1)
            return nil
        } catch {
            return error as? MT5Error
        }
    }

    func testIntactCopyLoads() {
        XCTAssertNil(loadError())
    }

    func testTruncatedWeightsNameTheFile() throws {
        let url = scratch.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        guard case .truncatedFile(let path, _)? = loadError() else {
            return XCTFail("expected truncatedFile, got \(String(describing: loadError()))")
        }
        XCTAssertEqual(path, url.path)
    }

    func testMissingTensorIsNamed() throws {
        try editConfig { $0["num_layers"] = 3 }
        guard case .missingTensor(let name, let file)? = loadError() else {
            return XCTFail("expected missingTensor, got \(String(describing: loadError()))")
        }
        XCTAssertTrue(name.hasPrefix("encoder.block.2."), name)
        XCTAssertTrue(file.hasSuffix("model.safetensors"), file)
    }

    func testWrongShapeIsNamed() throws {
        try editConfig { $0["d_ff"] = 40 }
        guard case .wrongShape(let name, _, let expected, let found)? = loadError() else {
            return XCTFail("expected wrongShape, got \(String(describing: loadError()))")
        }
        XCTAssertEqual(name, "encoder.block.0.layer.1.DenseReluDense.wi_0.weight")
        XCTAssertEqual(expected, [40, 16])
        XCTAssertEqual(found, [32, 16])
    }

    func testUnsupportedAndMissingConfigKeysAreNamed() throws {
        try editConfig { $0["feed_forward_proj"] = "gated-silu" }
        guard case .unsupportedConfig(let key, let value, _, _)? = loadError() else {
            return XCTFail("expected unsupportedConfig, got \(String(describing: loadError()))")
        }
        XCTAssertEqual(key, "feed_forward_proj")
        XCTAssertEqual(value, "gated-silu")

        try editConfig { $0["feed_forward_proj"] = "gated-gelu"; $0["d_model"] = nil }
        guard case .missingConfigKey(let missing, let file)? = loadError() else {
            return XCTFail("expected missingConfigKey, got \(String(describing: loadError()))")
        }
        XCTAssertEqual(missing, "d_model")
        XCTAssertTrue(file.hasSuffix("config.json"))
    }

    func testMissingTokenizerIsNamed() throws {
        try FileManager.default.removeItem(at: scratch.appendingPathComponent("spiece.model"))
        guard case .missingFile(let path)? = loadError() else {
            return XCTFail("expected missingFile, got \(String(describing: loadError()))")
        }
        XCTAssertTrue(path.hasSuffix("spiece.model"))
    }
}
