import Foundation

/// One search result: a document number (its place in corpus order) and its BM25 score.
public struct ScoredDocument: Equatable, Sendable {
    /// The document's number, 0-based in the order it was added.
    public var document: Int
    /// Its BM25 score for the query.
    public var score: Double

    /// A result.
    public init(document: Int, score: Double) {
        self.document = document
        self.score = score
    }
}

/// An immutable BM25 index over one memory block: built in memory or memory-mapped from a file.
///
/// A score is the sum, in Float64, of idf x tf part over the query's terms, the tf part kept as
/// Float32 in the index: within 6e-8 of the all-Float64 formula, and the same bits whichever
/// way it is computed (`search`, `searchExhaustively`, `score`). Safe to search from many
/// threads at once.
public final class BM25Index: @unchecked Sendable {
    /// How passages were analysed; queries are analysed the same way.
    public let analyzer: Analyzer
    /// The scoring parameters the index was built with.
    public let parameters: BM25Parameters
    /// The mean document length in terms (avgdl).
    public let averageLength: Double

    let storage: IndexStorage
    let counts: IndexCounts
    let layout: IndexLayout
    let documentLengths: UnsafePointer<UInt32>
    let postingStarts: UnsafePointer<UInt64>
    let postingDocuments: UnsafePointer<UInt32>
    let postingWeights: UnsafePointer<Float>
    let maxWeights: UnsafePointer<Float>
    let accumulators: AccumulatorPool

    init(storage: IndexStorage, settings: IndexSettings, counts: IndexCounts, layout: IndexLayout) {
        self.storage = storage
        self.analyzer = settings.analyzer
        self.parameters = settings.parameters
        self.counts = counts
        self.layout = layout
        func pointer<Element>(_ type: Element.Type, _ offset: Int) -> UnsafePointer<Element> {
            (storage.base + offset).assumingMemoryBound(to: Element.self)
        }
        documentLengths = pointer(UInt32.self, layout.documentLengths)
        postingStarts = pointer(UInt64.self, layout.postingStarts)
        postingDocuments = pointer(UInt32.self, layout.postingDocuments)
        postingWeights = pointer(Float.self, layout.postingWeights)
        maxWeights = pointer(Float.self, layout.termMaxWeights)
        let averageLength = Double(counts.totalLength) / Double(max(counts.documentCount, 1))
        self.averageLength = averageLength
        accumulators = AccumulatorPool(documentCount: counts.documentCount)
    }

    /// The number of documents (N).
    public var documentCount: Int { counts.documentCount }
    /// The number of distinct terms.
    public var termCount: Int { counts.termCount }
    /// The number of (term, document) postings.
    public var postingCount: Int { counts.postingCount }
    /// The size of the index in bytes, as saved and as mapped.
    public var byteCount: Int { layout.fileLength }

    /// The id a document was added with.
    public func documentID(_ document: Int) -> String {
        precondition(document >= 0 && document < counts.documentCount, "document out of range")
        let offsets = (storage.base + layout.documentIDOffsets)
            .assumingMemoryBound(to: UInt64.self)
        let start = Int(offsets[document])
        let end = Int(offsets[document + 1])
        let bytes = UnsafeRawBufferPointer(
            start: storage.base + layout.documentIDBytes + start, count: end - start)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The length in terms of a document (dl).
    public func documentLength(_ document: Int) -> Int {
        precondition(document >= 0 && document < counts.documentCount, "document out of range")
        return Int(documentLengths[document])
    }

    /// The number of a term in the byte-sorted term table, or nil when no document has it.
    func termNumber(_ term: String) -> Int? {
        var term = term
        return term.withUTF8 { wanted -> Int? in
            let offsets = (storage.base + layout.termOffsets).assumingMemoryBound(to: UInt64.self)
            let bytes = (storage.base + layout.termBytes).assumingMemoryBound(to: UInt8.self)
            var low = 0
            var high = counts.termCount
            while low < high {
                let middle = (low + high) / 2
                let start = Int(offsets[middle])
                let length = Int(offsets[middle + 1]) - start
                let common = min(length, wanted.count)
                var order = common == 0 ? 0 : memcmp(bytes + start, wanted.baseAddress!, common)
                if order == 0 { order = length < wanted.count ? -1 : length > wanted.count ? 1 : 0 }
                if order == 0 { return middle }
                if order < 0 { low = middle + 1 } else { high = middle }
            }
            return nil
        }
    }

    /// The tf part of the posting at a global position.
    @inline(__always)
    func weight(at position: Int) -> Double { Double(postingWeights[position]) }

    /// The query's distinct known terms in term-number order, each with its idf times its count.
    ///
    /// A term repeated in a query counts once per occurrence, as in bm25s and Lucene.
    func queryTerms(_ terms: [String]) -> [QueryTerm] {
        let numbers = terms.compactMap { termNumber($0) }.sorted()
        var result: [QueryTerm] = []
        var next = 0
        while next < numbers.count {
            let number = numbers[next]
            var count = 1
            while next + count < numbers.count, numbers[next + count] == number { count += 1 }
            next += count
            let start = Int(postingStarts[number])
            let end = Int(postingStarts[number + 1])
            let idf = parameters.idf(documentFrequency: end - start,
                                     documentCount: counts.documentCount)
            result.append(QueryTerm(
                start: start, end: end, idf: idf, count: Double(count),
                maxWeight: Double(maxWeights[number])))
        }
        return result
    }

    /// The exact BM25 score of one document for a query; 0 when it holds no query term.
    public func score(_ query: String, document: Int) -> Double {
        score(terms: analyzer.terms(query), document: document)
    }

    /// The exact BM25 score of one document for already analysed query terms.
    public func score(terms: [String], document: Int) -> Double {
        precondition(document >= 0 && document < counts.documentCount, "document out of range")
        var total = 0.0
        for term in queryTerms(terms) {
            var low = term.start
            var high = term.end
            while low < high {
                let middle = (low + high) / 2
                if Int(postingDocuments[middle]) < document {
                    low = middle + 1
                } else {
                    high = middle
                }
            }
            if low < term.end, Int(postingDocuments[low]) == document {
                total += term.contribution(weight(at: low))
            }
        }
        return total
    }

    /// The top `k` documents for a query, best first, ties in corpus order; only documents
    /// holding at least one query term are returned.
    public func search(_ query: String, k: Int) -> [ScoredDocument] {
        search(terms: analyzer.terms(query), k: k)
    }

    /// `search` for already analysed query terms.
    public func search(terms: [String], k: Int) -> [ScoredDocument] {
        search(terms: terms, k: k, strategy: .automatic)
    }

    /// How the top k are found; every strategy gives the same results to the bit.
    enum Strategy {
        /// MaxScore on large corpora with long posting lists, accumulators otherwise.
        case automatic
        case maxScore
        case accumulators
    }

    /// MaxScore pays for its per-document cursor work once the accumulators fall out of cache
    /// and many postings can be skipped. Measured (top-100, one thread): accumulators 2x as fast
    /// on SciFact (5,183 passages) and 1.4x on Machado sentences (79,520); MaxScore 1.7x as
    /// fast on 500,000 synthetic Zipf passages with 3-10 word queries.
    static let maxScoreDocuments = 150_000
    static let maxScorePostings = 20_000

    func search(terms: [String], k: Int, strategy: Strategy) -> [ScoredDocument] {
        guard k > 0 else { return [] }
        let query = queryTerms(terms)
        var useMaxScore = strategy == .maxScore
        if strategy == .automatic {
            let postings = query.reduce(0) { $0 + $1.end - $1.start }
            useMaxScore = documentCount >= BM25Index.maxScoreDocuments
                && postings > BM25Index.maxScorePostings
        }
        if useMaxScore { return MaxScoreSearch(index: self, terms: query, k: k).run() }
        return accumulatorSearch(terms: query, k: k)
    }

    /// The same results as `search`, by scoring every posting of every query term; the
    /// reference that pruned retrieval is tested against.
    public func searchExhaustively(terms: [String], k: Int) -> [ScoredDocument] {
        guard k > 0 else { return [] }
        return exhaustiveSearch(terms: queryTerms(terms), k: k)
    }

    /// Many queries at once on `threads` threads; results in query order.
    public func search(queries: [String], k: Int, threads: Int) -> [[ScoredDocument]] {
        var results = [[ScoredDocument]](repeating: [], count: queries.count)
        let workers = max(1, min(threads, queries.count))
        results.withUnsafeMutableBufferPointer { buffer in
            let output = UnsafeSendableBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                for query in stride(from: worker, to: queries.count, by: workers) {
                    output.buffer[query] = self.search(queries[query], k: k)
                }
            }
        }
        return results
    }
}

/// A buffer shared by workers that each write disjoint elements.
struct UnsafeSendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}

/// One distinct query term: its posting range and scoring constants.
struct QueryTerm {
    let start: Int
    let end: Int
    let idf: Double
    let count: Double
    let maxWeight: Double

    /// idf times the posting's tf part, once per occurrence of the term in the query.
    @inline(__always)
    func contribution(_ weight: Double) -> Double {
        let single = idf * weight
        return count == 1 ? single : single * count
    }

    /// No posting of this term contributes more than this.
    var upperBound: Double { contribution(maxWeight) }
}
