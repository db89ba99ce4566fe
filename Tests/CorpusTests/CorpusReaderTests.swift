import Foundation
import XCTest
@testable import Corpus

/// A fresh directory under the system's temporary folder, removed by the test's teardown.
func makeScratchDirectory(_ test: XCTestCase) throws -> URL {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("pairgen-corpus-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    return directory
}

/// Every record of the files, in order.
func readAll(_ files: [URL], maxLineBytes: Int = CorpusReader.defaultMaxLineBytes) throws
    -> [CorpusRecord]
{
    let reader = try CorpusReader(files: files, maxLineBytes: maxLineBytes)
    var records: [CorpusRecord] = []
    while let record = try reader.next() { records.append(record) }
    return records
}

extension CorpusRecord {
    var passage: Passage? {
        if case .passage(let passage) = self { return passage }
        return nil
    }
    var issue: CorpusIssue? {
        if case .skipped(let issue) = self { return issue }
        return nil
    }
}

final class CorpusReaderTests: XCTestCase {
    let beirLines = """
        {"_id": "d1", "title": "Título", "text": "Primeiro texto."}
        {"_id": 42, "title": null, "text": "Segundo\\ttexto com \\"aspas\\"."}

        {"id": "d3", "text": "Terceiro, sem título.", "extra": [1, 2]}
        """

    func testBEIRJSONLines() throws {
        let directory = try makeScratchDirectory(self)
        let file = directory.appendingPathComponent("corpus.jsonl")
        try Data(beirLines.utf8).write(to: file)
        let passages = try readAll([file]).compactMap(\.passage)
        XCTAssertEqual(passages.map(\.id), ["d1", "42", "d3"])
        XCTAssertEqual(passages.map(\.title), ["Título", "", ""])
        XCTAssertEqual(passages[1].text, "Segundo\ttexto com \"aspas\".")
        XCTAssertEqual(passages.map(\.line), [1, 2, 4])
        XCTAssertEqual(passages[0].file, file.path)
    }

    func testGzipAndZstdRoundTrips() throws {
        let directory = try makeScratchDirectory(self)
        let plain = directory.appendingPathComponent("corpus.jsonl")
        try Data(beirLines.utf8).write(to: plain)
        let expected = try readAll([plain]).compactMap(\.passage).map(\.text)

        let gz = directory.appendingPathComponent("corpus.jsonl.gz")
        try Compressor.gzip(Data(beirLines.utf8)).write(to: gz)
        XCTAssertEqual(try readAll([gz]).compactMap(\.passage).map(\.text), expected)

        let zst = directory.appendingPathComponent("corpus.jsonl.zst")
        try Compressor.zstd(Data(beirLines.utf8)).write(to: zst)
        XCTAssertEqual(try readAll([zst]).compactMap(\.passage).map(\.text), expected)
    }

    func testLargeCompressedFilesCrossBufferBoundaries() throws {
        let directory = try makeScratchDirectory(self)
        let lines = (0..<60_000).map {
            "passagem número \($0) " + String(repeating: "x", count: $0 % 97)
        }
        let text = lines.joined(separator: "\n") + "\n"
        // Two gzip members and two zstd frames, as concatenating compressed files gives.
        let half = text.utf8.count / 2
        let first = Data(text.utf8.prefix(half))
        let second = Data(text.utf8.dropFirst(half))
        let gz = directory.appendingPathComponent("big.txt.gz")
        try (Compressor.gzip(first) + Compressor.gzip(second)).write(to: gz)
        let zst = directory.appendingPathComponent("big.txt.zst")
        try (Compressor.zstd(first) + Compressor.zstd(second)).write(to: zst)
        for file in [gz, zst] {
            let passages = try readAll([file]).compactMap(\.passage)
            XCTAssertEqual(passages.count, lines.count, file.lastPathComponent)
            XCTAssertEqual(passages.map(\.text), lines, file.lastPathComponent)
            XCTAssertEqual(passages.last?.id, "\(file.lastPathComponent):60000")
        }
    }

    func testBadLinesAreSkippedWithFileAndLine() throws {
        let directory = try makeScratchDirectory(self)
        let file = directory.appendingPathComponent("bad.jsonl")
        var data = Data()
        data.append(Data(#"{"_id": "ok1", "text": "bom"}"#.utf8 + [0x0A]))
        data.append(Data(#"{"_id": "u", "text": "caf"#.utf8) + Data([0xC3, 0x28])
            + Data(#""}"#.utf8) + Data([0x0A]))
        data.append(Data(#"{"_id": "m", "text": "sem fim"#.utf8 + [0x0A]))
        data.append(Data(#"{"_id": "t"}"#.utf8 + [0x0A]))
        data.append(Data(#"{"_id": "e", "text": "   "}"#.utf8 + [0x0A]))
        data.append(Data(#"[1, 2]"#.utf8 + [0x0A]))
        data.append(Data(#"{"_id": "n", "text": 7}"#.utf8 + [0x0A]))
        data.append(Data(#"{"_id": "ok2", "text": "bom também"}"#.utf8))
        try data.write(to: file)

        let records = try readAll([file])
        XCTAssertEqual(records.compactMap(\.passage).map(\.id), ["ok1", "ok2"])
        let issues = records.compactMap(\.issue)
        XCTAssertEqual(issues.map(\.line), [2, 3, 4, 5, 6, 7])
        XCTAssertEqual(issues.map(\.reason), [
            "invalid UTF-8", "malformed JSON", "missing text field", "empty text",
            "not a JSON object", "text field is not a string",
        ])
        XCTAssertTrue(issues.allSatisfy { $0.file == file.path })
        XCTAssertEqual(issues[0].description, "\(file.path):2: invalid UTF-8")
    }

    func testTabSeparatedWithAndWithoutHeader() throws {
        let directory = try makeScratchDirectory(self)
        let headed = directory.appendingPathComponent("headed.tsv")
        try Data("id\ttext\n1\tum texto\n2\toutro\r\n3\tfalta\tcoluna\n".utf8).write(to: headed)
        let records = try readAll([headed])
        XCTAssertEqual(records.compactMap(\.passage).map(\.id), ["1", "2"])
        XCTAssertEqual(records.compactMap(\.passage).map(\.text), ["um texto", "outro"])
        XCTAssertEqual(records.compactMap(\.issue).map(\.line), [4])

        let bare = directory.appendingPathComponent("bare.tsv.gz")
        let bareText = "a\tsó texto\nb\tUm título\tE o texto\nc\n"
        try Compressor.gzip(Data(bareText.utf8)).write(to: bare)
        let bareRecords = try readAll([bare])
        let passages = bareRecords.compactMap(\.passage)
        XCTAssertEqual(passages.map(\.title), ["", "Um título"])
        XCTAssertEqual(passages.map(\.text), ["só texto", "E o texto"])
        XCTAssertEqual(bareRecords.compactMap(\.issue).map(\.line), [3])
    }

    func testPlainTextIDsAndSeveralFilesInOrder() throws {
        let directory = try makeScratchDirectory(self)
        let first = directory.appendingPathComponent("a.txt")
        let second = directory.appendingPathComponent("b")
        try Data("\u{FEFF}linha um\n\nlinha três\n".utf8).write(to: first)
        try Data("outra".utf8).write(to: second)
        let passages = try readAll([first, second]).compactMap(\.passage)
        XCTAssertEqual(passages.map(\.id), ["a.txt:1", "a.txt:3", "b:1"])
        XCTAssertEqual(passages.map(\.text), ["linha um", "linha três", "outra"])
    }

    func testOverlongLineIsSkippedNotKept() throws {
        let directory = try makeScratchDirectory(self)
        let file = directory.appendingPathComponent("long.txt")
        let long = String(repeating: "a", count: 5000)
        try Data("curta\n\(long)\ndepois\n".utf8).write(to: file)
        let records = try readAll([file], maxLineBytes: 1000)
        XCTAssertEqual(records.compactMap(\.passage).map(\.text), ["curta", "depois"])
        XCTAssertEqual(records.compactMap(\.issue).map(\.line), [2])
        XCTAssertEqual(records.compactMap(\.passage).map(\.line), [1, 3])
    }

    func testMissingFileThrowsNamingIt() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/corpus.jsonl")
        XCTAssertThrowsError(try CorpusReader(files: [missing])) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/corpus.jsonl"), "\(error)")
        }
    }

    func testCorruptAndTruncatedStreamsThrowNamingTheFile() throws {
        let directory = try makeScratchDirectory(self)
        let text = Data((0..<2000).map { "linha \($0)\n" }.joined().utf8)
        let zst = directory.appendingPathComponent("cut.txt.zst")
        let compressed = try Compressor.zstd(text)
        try compressed.prefix(compressed.count - 7).write(to: zst)
        let gz = directory.appendingPathComponent("cut.txt.gz")
        let gzipped = try Compressor.gzip(text)
        try gzipped.prefix(gzipped.count / 2).write(to: gz)
        let garbage = directory.appendingPathComponent("garbage.txt.gz")
        try Data("this is not gzip at all\n".utf8).write(to: garbage)
        for file in [zst, gz, garbage] {
            XCTAssertThrowsError(try readAll([file]), file.lastPathComponent) { error in
                XCTAssertTrue("\(error)".contains(file.path), "\(error)")
                XCTAssertTrue("\(error)".contains("corrupt"), "\(error)")
            }
        }
    }

    func testDamagedFileCanBeSkipped() throws {
        let directory = try makeScratchDirectory(self)
        let garbage = directory.appendingPathComponent("garbage.jsonl.zst")
        try Data("not zstd".utf8).write(to: garbage)
        let good = directory.appendingPathComponent("good.txt")
        try Data("bom\n".utf8).write(to: good)
        let reader = try CorpusReader(files: [garbage, good])
        reader.skipsDamagedFiles = true
        var records: [CorpusRecord] = []
        while let record = try reader.next() { records.append(record) }
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0].issue?.file, garbage.path)
        XCTAssertEqual(records[1].passage?.text, "bom")
    }

    func testFormatFromName() {
        XCTAssertEqual(CorpusFormat(path: "x/corpus.jsonl.zst"), .jsonLines)
        XCTAssertEqual(CorpusFormat(path: "corpus.json.gz"), .jsonLines)
        XCTAssertEqual(CorpusFormat(path: "collection.tsv"), .tabSeparated)
        XCTAssertEqual(CorpusFormat(path: "notes.txt.gz"), .plainText)
        XCTAssertEqual(CorpusFormat(path: "README"), .plainText)
    }
}

final class CompressorTests: XCTestCase {
    func testZstdRoundTripInMemoryAndTruncationDetected() throws {
        let text = Data((0..<5000).map { "linha \($0)\n" }.joined().utf8)
        let compressed = try Compressor.zstd(text, level: 10)
        XCTAssertLessThan(compressed.count, text.count / 3)
        XCTAssertEqual(try Compressor.unzstd(compressed), text)
        XCTAssertEqual(try Compressor.unzstd(compressed + compressed), text + text)
        XCTAssertEqual(try Compressor.unzstd(Compressor.zstd(Data())), Data())
        XCTAssertThrowsError(try Compressor.unzstd(compressed.prefix(compressed.count - 5)))
    }
}
