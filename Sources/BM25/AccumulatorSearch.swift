import Foundation

// Term-at-a-time scoring into one accumulator per document: every posting of every query term
// is scored, which is the fastest way while the corpus is small enough for the accumulators to
// stay in cache (MaxScore then has little to skip and pays per candidate for its cursors).
// Terms are added in term-number order, as MaxScore sums them, so both agree to the bit.

/// Per-thread accumulators, reused between queries; only touched entries are reset.
final class AccumulatorPool: @unchecked Sendable {
    /// One thread's scratch: raw memory, so the hot loop pays no exclusivity checks.
    final class Accumulators {
        let totals: UnsafeMutablePointer<Double>
        let touched: UnsafeMutablePointer<Bool>
        let documents: UnsafeMutablePointer<Int32>

        init(documentCount: Int) {
            let count = max(documentCount, 1)
            totals = .allocate(capacity: count)
            totals.initialize(repeating: 0, count: count)
            touched = .allocate(capacity: count)
            touched.initialize(repeating: false, count: count)
            documents = .allocate(capacity: count)
        }

        deinit {
            totals.deallocate()
            touched.deallocate()
            documents.deallocate()
        }
    }

    private let documentCount: Int
    private let lock = NSLock()
    private var idle: [Accumulators] = []

    init(documentCount: Int) { self.documentCount = documentCount }

    func withAccumulators<Result>(_ body: (Accumulators) -> Result) -> Result {
        lock.lock()
        let held = idle.popLast() ?? Accumulators(documentCount: documentCount)
        lock.unlock()
        defer {
            lock.lock()
            idle.append(held)
            lock.unlock()
        }
        return body(held)
    }
}

extension BM25Index {
    /// Scores every posting of the query terms, then keeps the k best.
    func accumulatorSearch(terms: [QueryTerm], k: Int) -> [ScoredDocument] {
        accumulators.withAccumulators { scratch in
            let documents = postingDocuments
            let totals = scratch.totals
            let touched = scratch.touched
            let touchedDocuments = scratch.documents
            var touchedCount = 0
            for term in terms {
                for position in term.start..<term.end {
                    let document = Int(documents[position])
                    if !touched[document] {
                        touched[document] = true
                        touchedDocuments[touchedCount] = Int32(truncatingIfNeeded: document)
                        touchedCount += 1
                    }
                    totals[document] += term.contribution(weight(at: position))
                }
            }
            var best = TopK(k: k, documentCount: documentCount)
            defer { best.deallocate() }
            for entry in 0..<touchedCount {
                let document = Int(touchedDocuments[entry])
                best.offer(document: document, score: totals[document])
                totals[document] = 0
                touched[document] = false
            }
            return best.sorted()
        }
    }
}
