import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `pairgen run/resume/inspect` as a user would, with the tiny mT5 checkpoint of the MT5
/// tests and 30 real Bosque passages: a complete run, interruptions at several points followed
/// by resume (byte-identical shards), a changed recipe, a corrupted shard, a locked directory,
/// a corpus full of bad lines and a model that cannot be found.
final class JobEndToEndTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let tinyModel = root.appendingPathComponent("Tests/MT5Tests/Fixtures/tiny")

    var directory: URL!
    var recipeURL: URL!

    /// One complete run shared by the tests of this class (generation dominates their time):
    /// its directory, and its shards by name.
    nonisolated(unsafe) static var reference: (directory: URL, shards: [String: Data])?

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(
            atPath: Self.tinyModel.appendingPathComponent("model.safetensors").path)
        else {
            throw XCTSkip("the tiny checkpoint \(Self.tinyModel.path) is not there")
        }
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("pairgen-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Self.prepareShared()
        recipeURL = Self.shared.appendingPathComponent("recipe.json")
    }

    /// The corpus and recipe every test shares, in a folder that lives as long as the class.
    static let shared = FileManager.default.temporaryDirectory
        .appendingPathComponent("pairgen-e2e-shared-\(UUID().uuidString)")

    static func prepareShared() throws {
        let corpus = shared.appendingPathComponent("bosque30.jsonl")
        guard !FileManager.default.fileExists(atPath: corpus.path) else { return }
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        let bosque = try String(contentsOf: root.appendingPathComponent(
            "Data/pt-bosque/bosque_passages.jsonl"), encoding: .utf8)
        let lines = bosque.split(separator: "\n").prefix(30)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: corpus)
        _ = try writeRecipe(corpus: [corpus.path],
            to: shared.appendingPathComponent("recipe.json"),
            output: shared.appendingPathComponent("run").path)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: shared)
        reference = nil
        super.tearDown()
    }

    /// A small recipe: every passage, 2 sampled queries of at most 8 tokens, 1 negative.
    static func writeRecipe(corpus: [String], to url: URL, output: String) throws -> URL {
        let recipe: [String: Any] = [
            "corpus": corpus,
            "model": Self.tinyModel.path,
            "output": output,
            "seed": 7,
            "sample": ["size": "all", "min_chars": 20],
            "generation": ["decoding": "sample", "num_queries": 2, "max_length": 8,
                "top_k": 10, "top_p": 0.95],
            "filters": ["dedup_across_job": true],
            // Stopwords kept: the tiny model's random queries then match passages more often.
            "mining": ["num_negatives": 1, "range_min": 1, "range_max": 10,
                "strategy": "random", "remove_stopwords": false],
            "shards": ["pairs_per_shard": 4],
        ]
        try JSONSerialization.data(withJSONObject: recipe, options: [.sortedKeys]).write(to: url)
        return url
    }

    func run(_ arguments: [String], environment extra: [String: String] = [:]) throws
        -> ProcessResult
    {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { $1 }
        return try runPairGen(arguments, environment: environment)
    }

    func runDirectory(_ name: String = "run") -> URL { directory.appendingPathComponent(name) }

    func shards(_ name: String = "run") throws -> [String: Data] {
        var found: [String: Data] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: runDirectory(name).path)
        where file.hasPrefix("train-") {
            found[file] = try Data(contentsOf: runDirectory(name).appendingPathComponent(file))
        }
        return found
    }

    func manifest(_ name: String = "run") throws -> [String: Any] {
        let data = try Data(contentsOf: runDirectory(name).appendingPathComponent("manifest.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A complete run copied into "whole"; its shards are what interrupted runs must equal.
    /// The run is made once per test process (the corpus and recipe of every test are the same
    /// bytes, and a run directory is tied to content, not paths).
    func completeRun() throws -> [String: Data] {
        if Self.reference == nil {
            let shared = Self.shared.appendingPathComponent("reference")
            let result = try run(["run", recipeURL.path, "--out", shared.path])
            XCTAssertEqual(result.status, 0, result.standardError)
            guard result.status == 0 else { throw XCTSkip("the reference run failed") }
            var shards: [String: Data] = [:]
            for file in try FileManager.default.contentsOfDirectory(atPath: shared.path)
            where file.hasPrefix("train-") {
                shards[file] = try Data(contentsOf: shared.appendingPathComponent(file))
            }
            Self.reference = (shared, shards)
        }
        let reference = Self.reference!
        try FileManager.default.copyItem(at: reference.directory, to: runDirectory("whole"))
        XCTAssertGreaterThanOrEqual(reference.shards.count, 3, "too few pairs to test resume")
        XCTAssertEqual(try shards("whole"), reference.shards)
        return reference.shards
    }

    func testCompleteRunAndInspect() throws {
        let reference = try completeRun()
        let manifest = try manifest("whole")
        XCTAssertEqual(manifest["status"] as? String, "complete")
        let counters = try XCTUnwrap(manifest["counters"] as? [String: Any])
        XCTAssertEqual(counters["passages_read"] as? Int, 30)
        XCTAssertEqual(counters["queries_generated"] as? Int, 60)
        let listed = try XCTUnwrap(manifest["shards"] as? [[String: Any]])
        XCTAssertEqual(Set(listed.compactMap { $0["name"] as? String }), Set(reference.keys))

        let inspect = try run(["inspect", runDirectory("whole").path, "--sample", "2"])
        XCTAssertEqual(inspect.status, 0, inspect.standardError)
        XCTAssertTrue(inspect.standardOutput.contains("train-00000.jsonl.zst"))
        XCTAssertTrue(inspect.standardOutput.contains("query length"))
        XCTAssertTrue(inspect.standardOutput.contains("positive"))
        XCTAssertTrue(inspect.standardOutput.contains("BM25 margin"))
        XCTAssertFalse(inspect.standardOutput.contains("damaged"))

        // A damaged shard: shown as such, its pairs left out, exit status 1; resume mends it.
        let shard = runDirectory("whole").appendingPathComponent("train-00001.jsonl.zst")
        var bytes = try Data(contentsOf: shard)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: shard)
        let damaged = try run(["inspect", runDirectory("whole").path])
        XCTAssertEqual(damaged.status, 1, damaged.standardError)
        XCTAssertTrue(damaged.standardError.contains("train-00001.jsonl.zst is damaged"),
            damaged.standardError)
        XCTAssertTrue(damaged.standardOutput.contains("damaged"), damaged.standardOutput)
        let mended = try run(["resume", runDirectory("whole").path])
        XCTAssertEqual(mended.status, 0, mended.standardError)
        XCTAssertEqual(try shards("whole"), reference)
        XCTAssertEqual(try run(["inspect", runDirectory("whole").path]).status, 0)
    }

    func testKilledRunsResumeToIdenticalShards() throws {
        let reference = try completeRun()
        let points = ["start", "shard-file:0", "manifest:1", "shard-file:2"]
        for (number, point) in points.enumerated() {
            let name = "killed-\(number)"
            let first = try run(["run", recipeURL.path, "--out", runDirectory(name).path],
                environment: ["PAIRGEN_TEST_KILL_AFTER": point])
            XCTAssertEqual(first.status, 137, "\(point): \(first.standardError)")
            // Resume both ways: `resume RUNDIR` and `run` again on the same directory.
            let again = number % 2 == 0
                ? try run(["resume", runDirectory(name).path])
                : try run(["run", recipeURL.path, "--out", runDirectory(name).path])
            XCTAssertEqual(again.status, 0, "\(point): \(again.standardError)")
            XCTAssertEqual(try shards(name), reference, point)
        }
    }

    func testResumeWithAnotherBatchSizeKeepsTheRunsOwn() throws {
        let reference = try completeRun()
        let name = "rebatched"
        let first = try run(["run", recipeURL.path, "--out", runDirectory(name).path],
            environment: ["PAIRGEN_TEST_KILL_AFTER": "manifest:1"])
        XCTAssertEqual(first.status, 137, first.standardError)
        let again = try run(["resume", runDirectory(name).path, "--batch-passages", "3"])
        XCTAssertEqual(again.status, 0, again.standardError)
        XCTAssertTrue(again.standardError.contains("--batch-passages 16"), again.standardError)
        XCTAssertEqual(try shards(name), reference)
    }

    func testSigkillAtAnyMomentThenResume() throws {
        let reference = try completeRun()
        let output = runDirectory("sigkill")
        let process = Process()
        process.executableURL = pairGenExecutable()
        process.arguments = ["run", recipeURL.path, "--out", output.path, "--batch-passages", "1"]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Kill as soon as the first shard is on disk (or when the run ends by itself).
        let first = output.appendingPathComponent("train-00000.jsonl.zst")
        while process.isRunning && !FileManager.default.fileExists(atPath: first.path) {
            usleep(2000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let resumed = try run(["resume", output.path])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertEqual(try shards("sigkill"), reference)
    }

    func testChangedRecipeIsRefusedAndRestartStartsOver() throws {
        _ = try completeRun()
        let changed = try run(["run", recipeURL.path, "--out", runDirectory("whole").path,
            "--set", "mining.range_max=9"])
        XCTAssertEqual(changed.status, 1)
        XCTAssertTrue(changed.standardError.contains("recipe mining.range_max: 10 -> 9"),
            changed.standardError)
        XCTAssertTrue(changed.standardError.contains("--restart"), changed.standardError)

        let seed = try run(["run", recipeURL.path, "--out", runDirectory("whole").path,
            "--seed", "8"])
        XCTAssertEqual(seed.status, 1)
        XCTAssertTrue(seed.standardError.contains("recipe seed: 7 -> 8"), seed.standardError)

        let restarted = try run(["run", recipeURL.path, "--out", runDirectory("whole").path,
            "--seed", "8", "--restart"])
        XCTAssertEqual(restarted.status, 0, restarted.standardError)
        let recipe = try XCTUnwrap(try manifest("whole")["recipe"] as? [String: Any])
        XCTAssertEqual(recipe["seed"] as? Int, 8)
    }

    func testCorruptedShardIsDetectedAndRegenerated() throws {
        let reference = try completeRun()
        let shard = runDirectory("whole").appendingPathComponent("train-00001.jsonl.zst")
        var bytes = try Data(contentsOf: shard)
        bytes[bytes.count - 3] ^= 0x55
        try bytes.write(to: shard)
        let resumed = try run(["resume", runDirectory("whole").path])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertTrue(resumed.standardError.contains(
            "train-00001.jsonl.zst does not match its checksum"), resumed.standardError)
        XCTAssertEqual(try shards("whole"), reference)
    }

    func testSecondProcessOnTheSameRunIsRefused() throws {
        let output = runDirectory("locked")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let descriptor = open(output.appendingPathComponent(".lock").path, O_RDWR | O_CREAT, 0o644)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        XCTAssertEqual(flock(descriptor, LOCK_EX | LOCK_NB), 0)
        let refused = try run(["run", recipeURL.path, "--out", output.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.standardError.contains("in use by another pairgen process"),
            refused.standardError)
    }

    func testCorpusFullOfBadLinesIsCountedNotFatal() throws {
        let corpus = directory.appendingPathComponent("messy.jsonl")
        var data = Data()
        let good = try String(contentsOf: Self.shared.appendingPathComponent("bosque30.jsonl"),
            encoding: .utf8).split(separator: "\n").prefix(12)
        for (number, line) in good.enumerated() {
            data.append(Data((line + "\n").utf8))
            switch number % 4 {
            case 0: data.append(Data("{\"_id\": \"broken\", \"text\": \n".utf8))
            case 1: data.append(Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A]))
            case 2: data.append(Data("{\"_id\": \"no-text\"}\n".utf8))
            default: data.append(Data("{\"_id\": \"empty\", \"text\": \"\"}\n".utf8))
            }
        }
        try data.write(to: corpus)
        let recipe = try Self.writeRecipe(corpus: [corpus.path],
            to: directory.appendingPathComponent("messy.json"), output: runDirectory("messy").path)
        let result = try run(["run", recipe.path, "--out", runDirectory("messy").path])
        XCTAssertEqual(result.status, 0, result.standardError)
        let errors = try String(contentsOf: runDirectory("messy")
            .appendingPathComponent("errors.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(errors.count, 12)
        XCTAssertTrue(errors[0].contains("\"line\":2"), String(errors[0]))
        XCTAssertTrue(errors[0].contains(corpus.path), String(errors[0]))
        let counters = try XCTUnwrap(try manifest("messy")["counters"] as? [String: Any])
        let skipped = try XCTUnwrap(counters["passages_skipped"] as? [String: Int])
        XCTAssertEqual(skipped, ["malformed_json": 3, "invalid_utf_8": 3,
            "missing_text_field": 3, "empty_text": 3])
    }

    func testDuplicatePassageIDsAreSkippedAndListed() throws {
        let corpus = directory.appendingPathComponent("dups.jsonl")
        let lines = try String(contentsOf: Self.shared.appendingPathComponent("bosque30.jsonl"),
            encoding: .utf8).split(separator: "\n").prefix(10)
        var data = Data()
        for line in lines {
            var object = try XCTUnwrap(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            object["_id"] = "same"
            object["id"] = "same"
            data.append(try JSONSerialization.data(withJSONObject: object))
            data.append(0x0A)
        }
        try data.write(to: corpus)
        let recipe = try Self.writeRecipe(corpus: [corpus.path],
            to: directory.appendingPathComponent("dups.json"), output: runDirectory("dups").path)
        let result = try run(["run", recipe.path, "--out", runDirectory("dups").path])
        XCTAssertEqual(result.status, 0, result.standardError)
        let counters = try XCTUnwrap(try manifest("dups")["counters"] as? [String: Any])
        let skipped = try XCTUnwrap(counters["passages_skipped"] as? [String: Int])
        XCTAssertEqual(skipped["duplicate_id"], 9)
        let errors = try String(contentsOf: runDirectory("dups")
            .appendingPathComponent("errors.jsonl"), encoding: .utf8)
        XCTAssertTrue(errors.contains("already used"), errors)
    }

    func testMissingModelSaysWhereItLookedAndHowToGetIt() throws {
        let result = try run(["run", recipeURL.path, "--model", "someorg/somemodel"],
            environment: ["HF_HOME": directory.appendingPathComponent("hf").path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.standardError.contains("models--someorg--somemodel"),
            result.standardError)
        XCTAssertTrue(result.standardError.contains("huggingface-cli download someorg/somemodel"),
            result.standardError)
    }

    func testCorpusDirectoryAndDamagedManifestAreExplained() throws {
        let recipe = try Self.writeRecipe(corpus: [directory.path],
            to: directory.appendingPathComponent("dir.json"),
            output: runDirectory("dir").path)
        var result = try run(["run", recipe.path, "--model", Self.tinyModel.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(
            result.standardError.contains("\(directory.path): cannot open: is a directory"),
            result.standardError)

        let run = runDirectory("damaged")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try Data("{not json".utf8).write(to: run.appendingPathComponent("manifest.json"))
        let damaged = try Self.writeRecipe(
            corpus: [Self.shared.appendingPathComponent("bosque30.jsonl").path],
            to: directory.appendingPathComponent("damaged.json"), output: run.path)
        result = try self.run(["run", damaged.path, "--model", Self.tinyModel.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.standardError.contains("--restart"), result.standardError)
        XCTAssertTrue(FileManager.default.fileExists(
            atPath: run.appendingPathComponent("manifest.json").path))
    }

    func testFastModeTrimsToTheCorpusAndResumesIdentically() throws {
        let exact = try completeRun()
        let fast = ["--set", "generation.fast=true"]
        let whole = try run(["run", recipeURL.path, "--out", runDirectory("fast").path] + fast)
        XCTAssertEqual(whole.status, 0, whole.standardError)
        XCTAssertTrue(whole.standardError.contains("fast mode: queries use only the"),
            whole.standardError)
        let reference = try shards("fast")
        XCTAssertFalse(reference.isEmpty)
        XCTAssertNotEqual(reference, exact, "trimming changes the tiny model's queries")

        let first = try run(["run", recipeURL.path, "--out", runDirectory("fast-killed").path]
            + fast, environment: ["PAIRGEN_TEST_KILL_AFTER": "manifest:1"])
        XCTAssertEqual(first.status, 137, first.standardError)
        let again = try run(["resume", runDirectory("fast-killed").path])
        XCTAssertEqual(again.status, 0, again.standardError)
        XCTAssertEqual(try shards("fast-killed"), reference)
    }

    func testRunWithoutPairsWarns() throws {
        let result = try run(["run", recipeURL.path, "--set", "filters.min_query_chars=500",
            "--set", "output=\(runDirectory("empty").path)", "--set", "sample.size=3"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardError.contains("warning: no pairs were written"),
            result.standardError)
    }

    func testUnknownRecipeKeyIsNamed() throws {
        let bad = directory.appendingPathComponent("bad.json")
        try Data(#"{"corpus": ["x"], "minning": {}}"#.utf8).write(to: bad)
        let result = try run(["run", bad.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.standardError.contains("unknown recipe key 'minning'"),
            result.standardError)
        // Out-of-range values name the file too.
        try Data(#"{"corpus": ["x"], "model": "m", "generation": {"top_p": 1.5}}"#.utf8)
            .write(to: bad)
        let range = try run(["run", bad.path])
        XCTAssertEqual(range.status, 1)
        XCTAssertTrue(range.standardError.contains("\(bad.path): cannot read recipe: key "
            + "'generation.top_p' is 1.5"), range.standardError)
    }
}
