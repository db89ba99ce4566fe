import BM25
import Corpus
import Foundation

/// `pairgen index build|search|eval`: the built-in BM25 index (issue 3).
enum IndexCommand {
    static let usage = """
        usage: pairgen index build --corpus FILE... --language LANG --out DIR [options]
               pairgen index search DIR (--query TEXT | --queries FILE) [-k K] [--threads N]
               pairgen index eval DIR --queries FILE --qrels FILE [--threads N]

        build options:
          --corpus FILE       a corpus file (JSONL, BEIR corpus.jsonl, TSV, text; .gz/.zst);
                              repeat for several; a passage is indexed as title + " " + text
          --language LANG     pt, en or another Snowball language (code or name)
          --out DIR           where index.bm25 is written
          --k1 X --b X        BM25 parameters (default 1.2 and 0.75)
          --variant V         lucene (default), robertson or atire
          --no-stopwords      keep stopwords     --no-stem        no Snowball stemmer
          --fold-accents      strip accents ("ação" = "acao")

        search writes one JSON line per query: {"query_id", "query", "hits": [{"id", "score"}]};
        eval reads BEIR queries (JSONL _id, text) and qrels (TSV) and writes nDCG@10 and
        Recall@100 as one JSON line.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        let rest = Array(arguments.dropFirst())
        switch arguments.first {
        case "build": return try build(rest)
        case "search": return try search(rest)
        case "eval": return try evaluate(rest)
        default: throw UsageError(message: "index needs build, search or eval", usage: usage)
        }
    }

    /// The index file inside an index directory.
    static func indexFile(_ directory: String) -> URL {
        URL(fileURLWithPath: directory).appendingPathComponent("index.bm25")
    }

    private static func build(_ arguments: [String]) throws -> Int32 {
        let options = try ParsedArguments(
            arguments, valueFlags: ["--corpus", "--language", "--out", "--k1", "--b", "--variant"],
            switchFlags: ["--no-stopwords", "--no-stem", "--fold-accents"], usage: usage)
        let corpus = options.strings("--corpus") + options.positionals
        guard !corpus.isEmpty else {
            throw UsageError(message: "--corpus is required", usage: usage)
        }
        guard let language = options.string("--language") else {
            throw UsageError(message: "--language is required", usage: usage)
        }
        guard let out = options.string("--out") else {
            throw UsageError(message: "--out is required", usage: usage)
        }
        var parameters = BM25Parameters()
        if let k1 = options.string("--k1") {
            guard let value = Double(k1) else {
                throw UsageError(message: "--k1 must be a number, got '\(k1)'", usage: usage)
            }
            parameters.k1 = value
        }
        if let b = options.string("--b") {
            guard let value = Double(b) else {
                throw UsageError(message: "--b must be a number, got '\(b)'", usage: usage)
            }
            parameters.b = value
        }
        if let name = options.string("--variant") {
            guard let variant = BM25Variant(rawValue: name) else {
                throw UsageError(
                    message: "--variant must be lucene, robertson or atire, got '\(name)'",
                    usage: usage)
            }
            parameters.variant = variant
        }
        do {
            try parameters.validate()
        } catch {
            throw UsageError(message: "\(error)", usage: usage)
        }
        let analyzer = try Analyzer(
            language: language, removeStopwords: !options.has("--no-stopwords"),
            stem: !options.has("--no-stem"), foldAccents: options.has("--fold-accents"))

        let started = Date()
        let builder = try BM25IndexBuilder(analyzer: analyzer, parameters: parameters)
        let reader = try CorpusReader(files: corpus.map { URL(fileURLWithPath: $0) })
        var skipped = 0
        while let record = try reader.next() {
            switch record {
            case .passage(let passage):
                let text = passage.title.isEmpty ? passage.text : passage.title + " " + passage.text
                builder.add(id: passage.id, text: text)
                if builder.documentCount % 100_000 == 0 {
                    printError("indexed \(builder.documentCount) passages")
                }
            case .skipped(let issue):
                skipped += 1
                if skipped <= 10 { printError("warning: skipped \(issue)") }
            }
        }
        if skipped > 10 { printError("warning: skipped \(skipped) lines in all") }
        let index = builder.finish()
        do {
            try FileManager.default.createDirectory(
                at: URL(fileURLWithPath: out), withIntermediateDirectories: true)
        } catch {
            throw CommandFailure(
                "\(out): cannot create the index directory (is a file in the way?)")
        }
        try index.save(to: indexFile(out))
        let summary: [String: Any] = [
            "index": indexFile(out).path, "documents": index.documentCount,
            "terms": index.termCount, "postings": index.postingCount, "bytes": index.byteCount,
            "skipped": skipped, "seconds": Date().timeIntervalSince(started),
        ]
        try printJSONLine(summary)
        return ExitStatus.success
    }

    private static func search(_ arguments: [String]) throws -> Int32 {
        let options = try ParsedArguments(
            arguments, valueFlags: ["--query", "--queries", "-k", "--threads"], usage: usage)
        guard options.positionals.count == 1 else {
            throw UsageError(message: "search needs one index directory", usage: usage)
        }
        let k = try options.int("-k", in: 1...1_000_000) ?? 10
        let threads = try options.int("--threads", in: 1...1024) ?? ProcessInfo.processInfo
            .activeProcessorCount
        let queries: [(id: String, text: String)]
        switch (options.string("--query"), options.string("--queries")) {
        case (let text?, nil): queries = [("0", text)]
        case (nil, let file?): queries = try readQueries(file)
        default: throw UsageError(message: "give --query or --queries (one)", usage: usage)
        }
        let index = try BM25Index.load(from: indexFile(options.positionals[0]))
        let results = index.search(queries: queries.map(\.text), k: k, threads: threads)
        var output = ""
        for (query, hits) in zip(queries, results) {
            let line: [String: Any] = [
                "query_id": query.id, "query": query.text,
                "hits": hits.map { ["id": index.documentID($0.document), "score": $0.score] },
            ]
            output += jsonLine(line)
            if output.utf8.count > 1 << 20 {
                try writeToStandardOutput(Data(output.utf8))
                output = ""
            }
        }
        try writeToStandardOutput(Data(output.utf8))
        return ExitStatus.success
    }

    private static func evaluate(_ arguments: [String]) throws -> Int32 {
        let options = try ParsedArguments(
            arguments, valueFlags: ["--queries", "--qrels", "--threads"], usage: usage)
        guard options.positionals.count == 1, let queryFile = options.string("--queries"),
            let qrelsFile = options.string("--qrels")
        else {
            throw UsageError(message: "eval needs DIR, --queries and --qrels", usage: usage)
        }
        let threads = try options.int("--threads", in: 1...1024) ?? ProcessInfo.processInfo
            .activeProcessorCount
        let index = try BM25Index.load(from: indexFile(options.positionals[0]))
        let qrels = try Qrels(contentsOf: URL(fileURLWithPath: qrelsFile))
        let queries = try readQueries(queryFile).filter { qrels.relevance[$0.id] != nil }
        guard !queries.isEmpty else {
            throw UsageError(message: "no query in \(queryFile) has judgements in \(qrelsFile)",
                             usage: usage)
        }
        let results = index.search(queries: queries.map(\.text), k: 100, threads: threads)
        var ndcg = 0.0
        var recall = 0.0
        for (query, hits) in zip(queries, results) {
            let ranked = hits.map { index.documentID($0.document) }
            let relevance = qrels.relevance[query.id]!
            ndcg += RetrievalMetrics.ndcg(ranked: ranked, relevance: relevance, cutoff: 10)
            recall += RetrievalMetrics.recall(ranked: ranked, relevance: relevance, cutoff: 100)
        }
        let count = Double(queries.count)
        try printJSONLine([
            "queries": queries.count, "ndcg@10": ndcg / count, "recall@100": recall / count,
        ])
        return ExitStatus.success
    }

    /// Queries from a corpus-format file (BEIR queries.jsonl: _id, text); bad lines are errors.
    static func readQueries(_ file: String) throws -> [(id: String, text: String)] {
        let reader = try CorpusReader(files: [URL(fileURLWithPath: file)])
        var queries: [(id: String, text: String)] = []
        while let record = try reader.next() {
            switch record {
            case .passage(let query): queries.append((query.id, query.text))
            case .skipped(let issue): throw issue
            }
        }
        return queries
    }

    private static func jsonLine(_ object: [String: Any]) -> String {
        let data = try! JSONSerialization.data(
            withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private static func printJSONLine(_ object: [String: Any]) throws {
        try writeToStandardOutput(Data(jsonLine(object).utf8))
    }
}
