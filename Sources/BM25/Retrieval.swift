import Foundation

// Exact top-k retrieval. Scores are summed over a query's distinct terms in term-number order,
// whichever way documents are visited, so pruned and exhaustive retrieval agree to the bit.
// Accumulator search (AccumulatorSearch.swift) scores every posting; MaxScore skips. MaxScore
// (Turtle and Flood 1995; Strohman et al. 2005) sorts the terms by their largest possible
// contribution; the lowest ones, whose bounds together cannot beat the k-th score, only
// confirm candidates found in the other lists and never start one.

/// The k best (score, document) pairs seen so far; a min-heap on (score, -document).
///
/// Its storage is raw memory (no copy-on-write or exclusivity checks in the hot loop): the
/// owner calls `deallocate` once done.
struct TopK {
    let capacity: Int
    private let scores: UnsafeMutablePointer<Double>
    private let documents: UnsafeMutablePointer<Int32>
    private(set) var count = 0

    /// Room for `k` results, but never more than there are documents.
    init(k: Int, documentCount: Int) {
        capacity = max(1, min(k, documentCount))
        scores = .allocate(capacity: capacity)
        documents = .allocate(capacity: capacity)
    }

    func deallocate() {
        scores.deallocate()
        documents.deallocate()
    }

    var isFull: Bool { count == capacity }

    /// The score a document must beat to enter once full (the worst kept), else -infinity.
    var threshold: Double { count == capacity ? scores[0] : -.infinity }

    /// Whether entry a ranks below entry b: lower score, or equal score and later document.
    @inline(__always)
    private func below(_ a: Int, _ b: Int) -> Bool {
        scores[a] < scores[b] || (scores[a] == scores[b] && documents[a] > documents[b])
    }

    @inline(__always)
    private func swapEntries(_ a: Int, _ b: Int) {
        swap(&scores[a], &scores[b])
        swap(&documents[a], &documents[b])
    }

    /// Offers a document; kept when the heap has room or it ranks above the worst kept.
    @inline(__always)
    mutating func offer(document: Int, score: Double) {
        if count < capacity {
            scores[count] = score
            documents[count] = Int32(truncatingIfNeeded: document)
            var child = count
            count += 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard below(child, parent) else { break }
                swapEntries(child, parent)
                child = parent
            }
            return
        }
        guard score > scores[0] || (score == scores[0] && document < Int(documents[0])) else {
            return
        }
        scores[0] = score
        documents[0] = Int32(truncatingIfNeeded: document)
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var lowest = left
            if left + 1 < count, below(left + 1, left) { lowest = left + 1 }
            guard below(lowest, parent) else { break }
            swapEntries(lowest, parent)
            parent = lowest
        }
    }

    /// The kept documents, best first, ties in corpus order.
    func sorted() -> [ScoredDocument] {
        (0..<count).map { ScoredDocument(document: Int(documents[$0]), score: scores[$0]) }
            .sorted { $0.score > $1.score || ($0.score == $1.score && $0.document < $1.document) }
    }
}

extension BM25Index {
    /// Term at a time over every posting into fresh arrays, then a full sort: the plain
    /// reference the faster strategies are tested against.
    func exhaustiveSearch(terms: [QueryTerm], k: Int) -> [ScoredDocument] {
        var totals = [Double](repeating: 0, count: documentCount)
        var matched = [Bool](repeating: false, count: documentCount)
        for term in terms {
            for position in term.start..<term.end {
                let document = Int(postingDocuments[position])
                totals[document] += term.contribution(weight(at: position))
                matched[document] = true
            }
        }
        // A full sort rather than the heap, so that the heap is under test too.
        var ranked: [ScoredDocument] = []
        for document in 0..<documentCount where matched[document] {
            ranked.append(ScoredDocument(document: document, score: totals[document]))
        }
        ranked.sort { (a: ScoredDocument, b: ScoredDocument) -> Bool in
            a.score > b.score || (a.score == b.score && a.document < b.document)
        }
        return Array(ranked.prefix(k))
    }
}

/// Document-at-a-time MaxScore over one query's posting lists.
struct MaxScoreSearch {
    private let index: BM25Index
    private let terms: [QueryTerm]
    private let k: Int

    init(index: BM25Index, terms: [QueryTerm], k: Int) {
        self.index = index
        self.terms = terms
        self.k = k
    }

    func run() -> [ScoredDocument] {
        let count = terms.count
        guard count > 0 else { return [] }
        // Cursors sorted by upper bound, lowest first; slot = the term's place in the sum.
        let order = terms.indices.sorted {
            (terms[$0].upperBound, $0) < (terms[$1].upperBound, $1)
        }
        let total = terms.reduce(0) { $0 + $1.upperBound }
        // Covers rounding: partial sums taken in another order may differ in the last bits.
        let slack = 1e-9 * max(1, total)
        var running = 0.0
        // prefixBounds[c]: the bounds of cursors 0...c summed, plus the slack.
        let prefixBounds = order.map { slot -> Double in
            running += terms[slot].upperBound
            return running + slack
        }
        // Raw copies in cursor order: the loop below runs once per candidate document.
        let cursorTerms = UnsafeMutableBufferPointer<QueryTerm>.allocate(capacity: count)
        let slots = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
        let bounds = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
        let positions = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
        let contributions = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
        var best = TopK(k: k, documentCount: index.documentCount)
        defer {
            for buffer in [slots, positions] { buffer.deallocate() }
            for buffer in [bounds, contributions] { buffer.deallocate() }
            cursorTerms.deallocate()
            best.deallocate()
        }
        for cursor in 0..<count {
            cursorTerms[cursor] = terms[order[cursor]]
            slots[cursor] = order[cursor]
            bounds[cursor] = prefixBounds[cursor]
            positions[cursor] = terms[order[cursor]].start
            contributions[cursor] = 0
        }

        let documents = index.postingDocuments
        var firstEssential = 0
        while firstEssential < count {
            // The next candidate: the smallest current document of the essential lists.
            var candidate = UInt32.max
            for cursor in firstEssential..<count where positions[cursor] < cursorTerms[cursor].end {
                candidate = min(candidate, documents[positions[cursor]])
            }
            if candidate == UInt32.max { break }
            let document = Int(candidate)

            var partial = 0.0
            for cursor in firstEssential..<count {
                let position = positions[cursor]
                if position < cursorTerms[cursor].end, documents[position] == candidate {
                    let value = cursorTerms[cursor].contribution(index.weight(at: position))
                    contributions[slots[cursor]] = value
                    partial += value
                    positions[cursor] = position + 1
                }
            }

            // Non-essential lists, highest bound first, while the document can still enter.
            var pruned = false
            var cursor = firstEssential - 1
            while cursor >= 0 {
                if best.isFull, partial + bounds[cursor] <= best.threshold {
                    pruned = true
                    break
                }
                let end = cursorTerms[cursor].end
                let position = advance(positions[cursor], end: end, to: candidate)
                positions[cursor] = position
                if position < end, documents[position] == candidate {
                    let value = cursorTerms[cursor].contribution(index.weight(at: position))
                    contributions[slots[cursor]] = value
                    partial += value
                }
                cursor -= 1
            }

            if !pruned {
                var score = 0.0
                for slot in 0..<count { score += contributions[slot] }
                best.offer(document: document, score: score)
                if best.isFull {
                    while firstEssential < count, bounds[firstEssential] <= best.threshold {
                        firstEssential += 1
                    }
                }
            }
            for slot in 0..<count { contributions[slot] = 0 }
        }
        return best.sorted()
    }

    /// The first position at or after `position` whose document is >= `document`, by
    /// galloping then binary search.
    @inline(__always)
    private func advance(_ position: Int, end: Int, to document: UInt32) -> Int {
        let documents = index.postingDocuments
        var low = position
        guard low < end, documents[low] < document else { return low }
        var step = 1
        var high = low + 1
        while high < end, documents[high] < document {
            low = high
            step *= 2
            high = low + step
        }
        high = min(high, end)
        // documents[low] < document; the answer lies in (low, high].
        var first = low + 1
        while first < high {
            let middle = (first + high) / 2
            if documents[middle] < document { first = middle + 1 } else { high = middle }
        }
        return first
    }
}
