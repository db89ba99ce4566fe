import BM25
import Corpus
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `pairgen bench bm25`: index build time, top-k queries per second on 1 and on all threads,
/// and peak memory, side by side with bm25s's figures from Recipes/bench/bm25_bm25s.py, whose
/// results are checked against PairGen's (issue 3). Recipes/bench/bm25.sh runs both.
enum BenchBM25Command {
    static let usage = """
        usage: pairgen bench bm25 --corpus FILE --queries FILE --language LANG [options]

          --corpus FILE      passages (JSONL id/_id, title, text); indexed as title + " " + text
          --queries FILE     queries (JSONL id/_id, text)
          --language LANG    analyzer language; no stemmer (bm25s has none without PyStemmer)
          --bm25s FILE       bm25s's figures and results (Recipes/bench/bm25_bm25s.py --out)
          --name TEXT        the corpus name for the table
          -k K               results per query (default 100)
          --threads N        the "all threads" count (default: every core)
          --min-seconds S    run the queries again until this much time has passed (default 2)
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        let options = try ParsedArguments(
            arguments,
            valueFlags: ["--corpus", "--queries", "--language", "--bm25s", "--name", "-k",
                         "--threads", "--min-seconds"],
            usage: usage)
        guard let corpus = options.string("--corpus"), let queryFile = options.string("--queries"),
            let language = options.string("--language")
        else {
            throw UsageError(message: "--corpus, --queries and --language are required",
                             usage: usage)
        }
        let k = try options.int("-k", in: 1...100_000) ?? 100
        let threads = try options.int("--threads", in: 1...1024)
            ?? ProcessInfo.processInfo.activeProcessorCount
        let minSeconds = try options.double("--min-seconds", in: 0...3600) ?? 2

        // Passages are read first, as the bm25s driver reads its JSONL before its clock starts.
        var passages: [(id: String, text: String)] = []
        let reader = try CorpusReader(files: [URL(fileURLWithPath: corpus)])
        while let record = try reader.next() {
            guard case .passage(let passage) = record else {
                throw UsageError(message: "bench corpora must have no bad lines: \(record)",
                                 usage: usage)
            }
            passages.append((
                passage.id,
                passage.title.isEmpty ? passage.text : passage.title + " " + passage.text))
        }
        let started = Date()
        let builder = try BM25IndexBuilder(analyzer: Analyzer(language: language, stem: false))
        for passage in passages { builder.add(id: passage.id, text: passage.text) }
        let index = builder.finish()
        let buildSeconds = Date().timeIntervalSince(started)
        let queries = try IndexCommand.readQueries(queryFile).map(\.text)

        var rates: [Int: Double] = [:]
        var results: [[ScoredDocument]] = []
        for count in [1, threads] {
            var rounds = 0
            let start = Date()
            var elapsed = 0.0
            repeat {
                results = index.search(queries: queries, k: k, threads: count)
                rounds += 1
                elapsed = Date().timeIntervalSince(start)
            } while elapsed < minSeconds
            rates[count] = Double(rounds * queries.count) / elapsed
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peakMB = Double(usage.ru_maxrss) / 1024

        let ours = Figures(
            engine: "pairgen", buildSeconds: buildSeconds, perSecondOne: rates[1]!,
            perSecondAll: rates[threads]!, peakMB: peakMB)
        var theirs: Figures?
        var agreement = ""
        if let file = options.string("--bm25s") {
            let (figures, reference) = try readBM25s(file)
            theirs = figures
            agreement = compare(results, reference, queryCount: queries.count)
        }
        let name = options.string("--name") ?? corpus
        print(table(
            title: "\(name): \(index.documentCount) passages, \(queries.count) queries, "
                + "top-\(k), \(threads) threads for 'all'",
            ours: ours, theirs: theirs, threads: threads))
        print(String(format: "index: %d terms, %d postings, %d bytes (%.2f bytes per posting)",
                     index.termCount, index.postingCount, index.byteCount,
                     Double(index.byteCount) / Double(max(index.postingCount, 1))))
        if !agreement.isEmpty { print(agreement) }
        return ExitStatus.success
    }

    struct Figures {
        var engine: String
        var buildSeconds: Double
        var perSecondOne: Double
        var perSecondAll: Double
        var peakMB: Double
    }

    private static func readBM25s(_ file: String) throws -> (Figures, [[(Int, Double)]]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let build = object["build_seconds"] as? Double,
            let one = object["queries_per_second_1"] as? Double,
            let all = object["queries_per_second_n"] as? Double,
            let peak = object["peak_memory_mb"] as? Double,
            let results = object["results"] as? [[[Double]]]
        else {
            throw UsageError(message: "\(file) is not bm25_bm25s.py output", usage: usage)
        }
        let figures = Figures(
            engine: object["engine"] as? String ?? "bm25s", buildSeconds: build,
            perSecondOne: one, perSecondAll: all, peakMB: peak)
        return (figures, results.map { $0.map { (Int($0[0]), $0[1]) } })
    }

    /// Same results: equal score lists (bm25s keeps float32 scores, so within 1e-4 relative)
    /// and the same documents, except that documents tied at the last kept score may differ.
    private static func compare(
        _ ours: [[ScoredDocument]], _ theirs: [[(Int, Double)]], queryCount: Int
    ) -> String {
        guard ours.count == theirs.count else {
            return "results differ: \(ours.count) queries here, \(theirs.count) from bm25s"
        }
        var identical = 0
        var firstDifference: String?
        for (query, (mine, reference)) in zip(ours, theirs).enumerated() {
            let close = { (a: Double, b: Double) in abs(a - b) <= 1e-4 * max(1, abs(b)) }
            var same = mine.count == reference.count
                && zip(mine, reference).allSatisfy { close($0.score, $1.1) }
            if same, let last = reference.last?.1 {
                let mineDocuments = Set(mine.filter { !close($0.score, last) }.map(\.document))
                let theirDocuments = Set(reference.filter { !close($0.1, last) }.map(\.0))
                same = mineDocuments == theirDocuments
            }
            if same {
                identical += 1
            } else if firstDifference == nil {
                firstDifference = "first difference: query \(query): pairgen "
                    + "\(mine.prefix(3).map { ($0.document, $0.score) }) bm25s "
                    + "\(reference.prefix(3))"
            }
        }
        return "identical top-k results: \(identical) of \(queryCount) queries"
            + (firstDifference.map { "; " + $0 } ?? "")
    }

    private static func table(title: String, ours: Figures, theirs: Figures?, threads: Int)
        -> String
    {
        var lines = [title]
        func row(_ name: String, _ mine: Double, _ other: Double?, higherIsBetter: Bool) {
            var line = name.padding(toLength: 24, withPad: " ", startingAt: 0)
            line += String(format: "%14.2f", mine)
            if let other {
                let ratio = higherIsBetter ? mine / other : other / mine
                line += String(format: "%14.2f %13.1fx", other, ratio)
            }
            lines.append(line)
        }
        var header = "".padding(toLength: 24, withPad: " ", startingAt: 0)
            + "pairgen".leftPadded(14)
        if let theirs {
            header += theirs.engine.leftPadded(14) + "pairgen better".leftPadded(15)
        }
        lines.append(header)
        row("index build (s)", ours.buildSeconds, theirs?.buildSeconds, higherIsBetter: false)
        row("queries/s, 1 thread", ours.perSecondOne, theirs?.perSecondOne, higherIsBetter: true)
        row("queries/s, \(threads) threads", ours.perSecondAll, theirs?.perSecondAll,
            higherIsBetter: true)
        row("peak memory (MB)", ours.peakMB, theirs?.peakMB, higherIsBetter: false)
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
