import Foundation

// Exact top-k retrieval. Scores are summed over a query's distinct terms in term-number order,
// whichever way documents are visited, so pruned and exhaustive retrieval agree to the bit.
// Pruning follows MaxScore (Turtle and Flood 1995; Strohman et al. 2005): terms sorted by
// their largest possible contribution; the lowest ones, whose bounds together cannot beat the
// k-th score, only confirm candidates found in the other lists and never start one.

/// The k best (score, document) pairs seen so far; a min-heap on (score, -document).
struct TopK {
    let k: Int
    private(set) var scores: [Double] = []
    private(set) var documents: [Int] = []

    init(k: Int) {
        self.k = k
        scores.reserveCapacity(min(k, 1 << 16))
        documents.reserveCapacity(min(k, 1 << 16))
    }

    var isFull: Bool { scores.count == k }

    /// The score a document must beat to enter once full (the worst kept), else -infinity.
    var threshold: Double { isFull ? scores[0] : -.infinity }

    /// Whether entry a ranks below entry b: lower score, or equal score and later document.
    @inline(__always)
    private func below(_ a: Int, _ b: Int) -> Bool {
        scores[a] < scores[b] || (scores[a] == scores[b] && documents[a] > documents[b])
    }

    /// Offers a document; kept when the heap has room or it ranks above the worst kept.
    mutating func offer(document: Int, score: Double) {
        if !isFull {
            scores.append(score)
            documents.append(document)
            var child = scores.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard below(child, parent) else { break }
                scores.swapAt(child, parent)
                documents.swapAt(child, parent)
                child = parent
            }
            return
        }
        guard score > scores[0] || (score == scores[0] && document < documents[0]) else { return }
        scores[0] = score
        documents[0] = document
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < scores.count else { break }
            var lowest = left
            if left + 1 < scores.count, below(left + 1, left) { lowest = left + 1 }
            guard below(lowest, parent) else { break }
            scores.swapAt(lowest, parent)
            documents.swapAt(lowest, parent)
            parent = lowest
        }
    }

    /// The kept documents, best first, ties in corpus order.
    func sorted() -> [ScoredDocument] {
        zip(documents, scores).map { ScoredDocument(document: $0, score: $1) }
            .sorted { $0.score > $1.score || ($0.score == $1.score && $0.document < $1.document) }
    }
}

extension BM25Index {
    /// Term at a time over every posting, then the k best.
    func exhaustiveSearch(terms: [QueryTerm], k: Int) -> [ScoredDocument] {
        var totals = [Double](repeating: 0, count: documentCount)
        var matched = [Bool](repeating: false, count: documentCount)
        for term in terms {
            for position in term.start..<term.end {
                let document = Int(postingDocuments[position])
                totals[document] += term.contribution(
                    frequency(at: position), lengthNorm: lengthNorms[document],
                    parameters: parameters)
                matched[document] = true
            }
        }
        var best = TopK(k: k)
        for document in 0..<documentCount where matched[document] {
            best.offer(document: document, score: totals[document])
        }
        return best.sorted()
    }
}

/// Document-at-a-time MaxScore over one query's posting lists.
struct MaxScoreSearch {
    private let index: BM25Index
    private let terms: [QueryTerm]
    private var best: TopK
    /// Cursor positions, indexed like `order`.
    private var positions: [Int]
    /// Query-term slots sorted by upper bound, lowest first.
    private let order: [Int]
    /// prefixBounds[i]: the sum of the bounds of order[0...i], plus `slack`.
    private let prefixBounds: [Double]
    /// Covers rounding: partial sums taken in another order may differ in the last bits.
    private let slack: Double

    init(index: BM25Index, terms: [QueryTerm], k: Int) {
        self.index = index
        self.terms = terms
        best = TopK(k: k)
        order = terms.indices.sorted {
            (terms[$0].upperBound, $0) < (terms[$1].upperBound, $1)
        }
        positions = order.map { terms[$0].start }
        let total = terms.reduce(0) { $0 + $1.upperBound }
        slack = 1e-9 * max(1, total)
        var running = 0.0
        prefixBounds = order.map { slot in
            running += terms[slot].upperBound
            return running + 1e-9 * max(1, total)
        }
    }

    mutating func run() -> [ScoredDocument] {
        let count = order.count
        guard count > 0 else { return [] }
        let documents = index.postingDocuments
        let norms = index.lengthNorms
        let parameters = index.parameters
        var contributions = [Double](repeating: 0, count: terms.count)
        var firstEssential = 0

        while firstEssential < count {
            // The next candidate: the smallest current document among the essential lists.
            var candidate = Int.max
            for cursor in firstEssential..<count where positions[cursor] < terms[order[cursor]].end {
                candidate = min(candidate, Int(documents[positions[cursor]]))
            }
            if candidate == Int.max { break }
            let norm = norms[candidate]

            var partial = 0.0
            for cursor in firstEssential..<count {
                let slot = order[cursor]
                let position = positions[cursor]
                if position < terms[slot].end, Int(documents[position]) == candidate {
                    let value = terms[slot].contribution(
                        index.frequency(at: position), lengthNorm: norm, parameters: parameters)
                    contributions[slot] = value
                    partial += value
                    positions[cursor] = position + 1
                }
            }

            var pruned = false
            var cursor = firstEssential - 1
            while cursor >= 0 {
                if best.isFull, partial + prefixBounds[cursor] <= best.threshold {
                    pruned = true
                    break
                }
                let slot = order[cursor]
                let position = advance(cursor, to: candidate)
                if position < terms[slot].end, Int(documents[position]) == candidate {
                    let value = terms[slot].contribution(
                        index.frequency(at: position), lengthNorm: norm, parameters: parameters)
                    contributions[slot] = value
                    partial += value
                }
                cursor -= 1
            }

            if !pruned {
                var score = 0.0
                for slot in contributions.indices { score += contributions[slot] }
                best.offer(document: candidate, score: score)
                if best.isFull {
                    while firstEssential < count,
                        prefixBounds[firstEssential] <= best.threshold
                    {
                        firstEssential += 1
                    }
                }
            }
            for slot in contributions.indices { contributions[slot] = 0 }
        }
        return best.sorted()
    }

    /// Moves a cursor to its first posting at or after `document` by galloping search.
    private mutating func advance(_ cursor: Int, to document: Int) -> Int {
        let end = terms[order[cursor]].end
        let documents = index.postingDocuments
        var low = positions[cursor]
        guard low < end, Int(documents[low]) < document else { return low }
        var step = 1
        var high = low + 1
        while high < end, Int(documents[high]) < document {
            low = high
            step *= 2
            high = low + step
        }
        high = min(high, end)
        // documents[low] < document; the answer lies in (low, high].
        var first = low + 1
        while first < high {
            let middle = (first + high) / 2
            if Int(documents[middle]) < document { first = middle + 1 } else { high = middle }
        }
        positions[cursor] = first
        return first
    }
}
