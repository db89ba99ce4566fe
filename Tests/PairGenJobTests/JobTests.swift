import Corpus
import Foundation
import XCTest
@testable import PairGenJob

/// Collects notices instead of printing them.
final class RecordingObserver: JobObserver {
    var notices: [String] = []
    func stageBegan(_ stage: String, total: Int?) {}
    func stageProgress(_ stage: String, done: Int, total: Int?) {}
    func stageEnded(_ stage: String, seconds: Double) {}
    func notice(_ message: String) { notices.append(message) }
}

struct Interrupted: Error {}

final class JobTests: XCTestCase {
    var directory: URL!
    var corpus: URL!

    override func setUpWithError() throws {
        directory = try scratchDirectory(self)
        corpus = directory.appendingPathComponent("corpus.jsonl")
        try writeSmallCorpus(to: corpus)
    }

    func recipe(output: String) -> Recipe {
        var recipe = Recipe(corpus: [corpus.path],
            output: directory.appendingPathComponent(output).path, model: "fake")
        recipe.sample.minChars = 10
        recipe.shards.pairsPerShard = 16
        recipe.mining.rangeMin = 2
        recipe.mining.rangeMax = 12
        recipe.mining.numNegatives = 2
        return recipe
    }

    func job(_ recipe: Recipe, observer: JobObserver? = nil, batch: Int = 8) -> Job {
        let mining = recipe.mining
        let job = Job(recipe: recipe, writer: FakeQueryWriter(), modelDirectory: "fake",
            indexBuilder: { try BM25CandidatesBuilder(settings: mining) }, observer: observer)
        job.batchPassages = batch
        return job
    }

    func shardBytes(_ output: String) throws -> [String: Data] {
        let run = directory.appendingPathComponent(output)
        var shards: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: run.path)
        where name.hasPrefix("train-") {
            shards[name] = try Data(contentsOf: run.appendingPathComponent(name))
        }
        return shards
    }

    func testCompleteRun() throws {
        let manifest = try job(recipe(output: "run")).run()
        XCTAssertEqual(manifest.status, "complete")
        XCTAssertEqual(manifest.counters.passagesRead, 60)
        XCTAssertEqual(manifest.counters.passagesEligible, 60)
        XCTAssertEqual(manifest.counters.passagesGenerated, 60)
        XCTAssertEqual(manifest.counters.queriesGenerated, 180)
        let filtered = manifest.counters.queriesFiltered.values.reduce(0, +)
        XCTAssertEqual(manifest.counters.pairsWritten + filtered, 180)
        XCTAssertGreaterThan(manifest.counters.pairsWritten, 100)
        XCTAssertEqual(manifest.shards.count, (manifest.counters.pairsWritten + 15) / 16)
        let run = directory.appendingPathComponent("run")
        var total = 0
        for shard in manifest.shards {
            let records = try ShardFile.read(run.appendingPathComponent(shard.name))
            XCTAssertEqual(records.count, shard.records)
            total += records.count
            for record in records {
                XCTAssertEqual(record.negatives.count, 2)
                XCTAssertFalse(record.negativeIDs.contains(record.positiveID))
                XCTAssertTrue(record.queryID.hasPrefix(record.positiveID + "/q"))
            }
        }
        XCTAssertEqual(total, manifest.counters.pairsWritten)
        XCTAssertTrue(manifest.shards.dropLast().allSatisfy { $0.records == 16 })
        XCTAssertEqual(try Manifest.load(from: run), manifest)

        // Batch size changes nothing.
        _ = try job(recipe(output: "run-batch3"), batch: 3).run()
        XCTAssertEqual(try shardBytes("run"), try shardBytes("run-batch3"))
    }

    func testInterruptedRunsResumeToTheSameBytes() throws {
        _ = try job(recipe(output: "whole")).run()
        let expected = try shardBytes("whole")
        XCTAssertGreaterThan(expected.count, 3)
        for (point, shard) in [("file", 0), ("manifest", 1), ("file", 3), ("manifest", 4)] {
            let output = "cut-\(point)-\(shard)"
            let interrupted = job(recipe(output: output))
            let hook: (Int) throws -> Void = { if $0 == shard { throw Interrupted() } }
            if point == "file" { interrupted.afterShardFile = hook } else {
                interrupted.afterManifest = hook
            }
            XCTAssertThrowsError(try interrupted.run())
            let resumed = try job(recipe(output: output)).run()
            XCTAssertEqual(try shardBytes(output), expected, output)
            let whole = try Manifest.load(from: directory.appendingPathComponent("whole"))
            XCTAssertEqual(resumed.counters, whole.counters, output)
        }
    }

    func testChangedRecipeIsRefusedUntilRestart() throws {
        _ = try job(recipe(output: "run")).run()
        var changed = recipe(output: "run")
        changed.mining.numNegatives = 3
        XCTAssertThrowsError(try job(changed).run()) { error in
            guard case .runMismatch(_, let differences) = error as? JobError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(differences, ["recipe mining.num_negatives: 2 -> 3"])
        }
        let observer = RecordingObserver()
        let restarted = try job(changed, observer: observer).run(restart: true)
        XCTAssertEqual(restarted.recipe.mining.numNegatives, 3)
        XCTAssertTrue(observer.notices.contains { $0.contains("--restart") })
    }

    func testCorruptedShardIsReportedAndRegenerated() throws {
        _ = try job(recipe(output: "run")).run()
        let expected = try shardBytes("run")
        let shard = directory.appendingPathComponent("run/train-00001.jsonl.zst")
        var bytes = try Data(contentsOf: shard)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: shard)
        let observer = RecordingObserver()
        let complete = try Manifest.load(from: directory.appendingPathComponent("run"))
        let repaired = try job(recipe(output: "run"), observer: observer).run()
        XCTAssertTrue(observer.notices.contains {
            $0.contains("train-00001.jsonl.zst does not match its checksum")
        }, "\(observer.notices)")
        XCTAssertEqual(try shardBytes("run"), expected)
        XCTAssertEqual(repaired.counters, complete.counters)
        XCTAssertEqual(repaired.shards, complete.shards)

        // Once complete and intact, a run again does nothing.
        let quiet = RecordingObserver()
        _ = try job(recipe(output: "run"), observer: quiet).run()
        XCTAssertTrue(quiet.notices.contains { $0.contains("already complete") },
            "\(quiet.notices)")
    }

    func testUnreadableManifestIsAnErrorUnlessRestarting() throws {
        _ = try job(recipe(output: "run")).run()
        let manifest = directory.appendingPathComponent("run/manifest.json")
        try Data("{ half a manif".utf8).write(to: manifest)
        XCTAssertThrowsError(try job(recipe(output: "run")).run()) { error in
            XCTAssertTrue("\(error)".contains(manifest.path), "\(error)")
        }
        XCTAssertEqual(try job(recipe(output: "run")).run(restart: true).status, "complete")
    }

    func testSecondProcessIsRefused() throws {
        let run = directory.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let lock = try RunLock(directory: run)
        XCTAssertThrowsError(try job(recipe(output: "run")).run()) { error in
            guard case .runLocked = error as? JobError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("pid \(getpid())"), "\(error)")
        }
        withExtendedLifetime(lock) {}
    }

    func testBadLinesAreCountedInErrorsFile() throws {
        var text = try String(contentsOf: corpus, encoding: .utf8)
        text += "{not json\n" + #"{"_id": "x", "title": "t"}"# + "\n"
        text += #"{"_id": "short", "text": "curto"}"# + "\n"
        text += #"{"_id": "huge", "text": ""# + String(repeating: "palavra ", count: 131_072)
            + "\"}\n"
        var data = Data(text.utf8)
        data.append(contentsOf: [0xFF, 0xFE, 0x0A])
        try data.write(to: corpus)
        let manifest = try job(recipe(output: "run")).run()
        XCTAssertEqual(manifest.counters.passagesSkipped,
            ["malformed_json": 1, "missing_text_field": 1, "too_short": 1, "too_long": 1,
             "invalid_utf_8": 1])
        let errors = try String(contentsOf: directory.appendingPathComponent("run/errors.jsonl"),
            encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(errors.count, 4)
        XCTAssertTrue(errors[2].contains("1048576 characters is longer than"), "\(errors[2])")
        XCTAssertTrue(errors[0].contains(#""line":61"#), "\(errors[0])")
        XCTAssertTrue(errors[0].contains(corpus.path))
    }

    func testNothingUsableIsAClearError() throws {
        try Data("{bad\n{worse\n".utf8).write(to: corpus)
        XCTAssertThrowsError(try job(recipe(output: "run")).run()) { error in
            XCTAssertTrue("\(error)".contains("nothing usable"), "\(error)")
        }
    }

    func testModelLocatorFindsCacheSnapshotsAndListsPlaces() throws {
        let hub = directory.appendingPathComponent("hf/hub/models--org--tiny")
        let snapshot = hub.appendingPathComponent("snapshots/abc123")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: snapshot.appendingPathComponent("config.json"))
        try FileManager.default.createDirectory(at: hub.appendingPathComponent("refs"),
            withIntermediateDirectories: true)
        try Data("abc123\n".utf8).write(to: hub.appendingPathComponent("refs/main"))
        let environment = ["HF_HOME": directory.appendingPathComponent("hf").path]
        XCTAssertEqual(try ModelLocator.resolve("org/tiny", environment: environment,
            currentDirectory: directory).path, snapshot.path)

        let models = directory.appendingPathComponent("models/org--other")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: models.appendingPathComponent("config.json"))
        XCTAssertEqual(try ModelLocator.resolve("org/other",
            environment: ["PAIRGEN_MODELS": directory.appendingPathComponent("models").path],
            currentDirectory: directory).path, models.path)

        XCTAssertThrowsError(try ModelLocator.resolve("org/missing", environment: environment,
            currentDirectory: directory)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("models--org--missing"), text)
            XCTAssertTrue(text.contains("huggingface-cli download org/missing"), text)
        }
    }
}
