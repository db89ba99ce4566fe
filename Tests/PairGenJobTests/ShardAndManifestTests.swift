import Corpus
import Foundation
import XCTest
@testable import PairGenJob

final class ShardAndManifestTests: XCTestCase {
    let record = PairRecord(
        query: "qual \"é\" o\tplano?\u{01}", positive: "Texto\ncom linha",
        negatives: ["a", "b\\c"],
        queryID: "p1/q0", positiveID: "p1", negativeIDs: ["n1", "n2"], positiveScore: 12.5,
        negativeScores: [10.1234567, 3])

    func testRecordKeysInFixedOrderTextsFirstAndEscaped() throws {
        let line = record.jsonLine()
        XCTAssertEqual(line,
            #"{"query":"qual \"é\" o\tplano?\u0001","positive":"Texto\ncom linha","#
                + #""negative_1":"a","negative_2":"b\\c","query_id":"p1/q0","positive_id":"p1","#
                + #""negative_ids":["n1","n2"],"positive_bm25_score":12.5,"#
                + #""negative_bm25_scores":[10.123457,3]}"# + "\n")
        let parsed = try XCTUnwrap(PairRecord(jsonLine: line.dropLast()))
        XCTAssertEqual(parsed.query, record.query)
        XCTAssertEqual(parsed.negatives, record.negatives)
        XCTAssertEqual(parsed.negativeScores, [10.123457, 3])
    }

    func testShardIsWrittenAtomicallyAndReadsBack() throws {
        let directory = try scratchDirectory(self)
        let entry = try ShardFile.write([record, record], index: 3, directory: directory,
            level: 5, next: Cursor(passage: 4, pairOffset: 1))
        XCTAssertEqual(entry.name, "train-00003.jsonl.zst")
        let url = directory.appendingPathComponent(entry.name)
        XCTAssertEqual(try SHA256Hasher.hex(ofFileAt: url), entry.sha256)
        XCTAssertEqual(try Data(contentsOf: url).count, entry.bytes)
        XCTAssertEqual(try ShardFile.read(url).count, 2)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertEqual(names, [entry.name], "no temporary file is left behind")
        // Replacing it leaves either old or new bytes; here the new.
        _ = try ShardFile.write([record], index: 3, directory: directory, level: 5,
            next: Cursor())
        XCTAssertEqual(try ShardFile.read(url).count, 1)
    }

    func testLeftoverTemporaryFilesAreRemoved() throws {
        let directory = try scratchDirectory(self)
        try Data("half".utf8).write(to: directory.appendingPathComponent(
            AtomicFile.temporaryPrefix + "train-00000.jsonl.zst-123"))
        try Data("keep".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        AtomicFile.removeLeftovers(in: directory)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path),
            ["notes.txt"])
    }

    func testManifestRoundTripAndDifferences() throws {
        let directory = try scratchDirectory(self)
        let corpusFile = directory.appendingPathComponent("c.txt")
        try Data("uma linha\n".utf8).write(to: corpusFile)
        var manifest = Manifest(recipe: Recipe(corpus: [corpusFile.path], model: "m"),
            corpus: try CorpusFingerprint(files: [corpusFile]),
            model: ModelFingerprint(directory: "m", fingerprint: "f1", tokenizerFingerprint: "t"))
        manifest.shards = [ShardEntry(name: ShardEntry.name(0), records: 5, bytes: 99,
            sha256: "ab", next: Cursor(passage: 2, pairOffset: 1))]
        manifest.counters.passagesSkipped["duplicate"] = 2
        manifest.stageSeconds["scan"] = 1.5
        try manifest.save(to: directory)
        let loaded = try Manifest.load(from: directory)
        XCTAssertEqual(loaded, manifest)
        XCTAssertEqual(loaded.differences(from: manifest), [])

        var other = manifest
        other.recipe.mining.numNegatives = 5
        other.recipeHash = other.recipe.identityHash
        other.model.fingerprint = "f2"
        let differences = manifest.differences(from: other)
        XCTAssertEqual(differences.count, 2, "\(differences)")
        XCTAssertTrue(differences[0].contains("mining.num_negatives: 3 -> 5"), "\(differences)")
        XCTAssertTrue(differences[1].hasPrefix("model:"), "\(differences)")
    }

    func testShardNames() {
        XCTAssertEqual(ShardEntry.name(12), "train-00012.jsonl.zst")
        XCTAssertEqual(ShardEntry.name(123_456), "train-123456.jsonl.zst")
    }
}
