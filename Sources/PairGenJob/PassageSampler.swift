import Corpus
import Foundation

/// A passage chosen for generation, with its document number in the mining index.
public struct SampledPassage: Sendable, Equatable {
    /// The passage.
    public var passage: Passage
    /// Its position among the eligible passages of the corpus, which is its BM25 document.
    public var document: Int
}

/// A seeded reservoir sample of fixed size, taken in one pass with memory bounded by the sample
/// size, not the corpus size.
///
/// Each passage gets a random key from SipHash of the job seed and its id, and the sample is the
/// `capacity` passages with the smallest keys (bottom-k sampling, a form of reservoir sampling):
/// it does not depend on the order passages arrive in, and the same seed always chooses the same
/// passages. Ties are broken by corpus order. The sample comes back in corpus order.
public struct PassageSampler {
    /// Passages kept at most; nil keeps every one.
    public let capacity: Int?
    /// The job seed.
    public let seed: UInt64
    /// A max-heap on (key, document): its root is the first passage to leave.
    private var heap: [(key: UInt64, item: SampledPassage)] = []

    /// An empty sample of `capacity` passages (nil: all).
    public init(capacity: Int?, seed: UInt64) {
        precondition(capacity.map { $0 > 0 } ?? true, "capacity must be positive")
        self.capacity = capacity
        self.seed = seed
    }

    /// Passages held now; never more than `capacity`.
    public var count: Int { heap.count }

    /// Offers one eligible passage; `document` numbers passages in corpus order.
    public mutating func offer(_ passage: Passage, document: Int) {
        let item = SampledPassage(passage: passage, document: document)
        guard let capacity else {
            heap.append((0, item))
            return
        }
        let key = StableSeed.derive(["pairgen.sample", String(seed), passage.id])
        if heap.count < capacity {
            heap.append((key, item))
            siftUp(heap.count - 1)
        } else if Self.less((key, document), (heap[0].key, heap[0].item.document)) {
            heap[0] = (key, item)
            siftDown(0)
        }
    }

    /// The sample in corpus order.
    public func sample() -> [SampledPassage] {
        heap.map(\.item).sorted { $0.document < $1.document }
    }

    private static func less(_ a: (UInt64, Int), _ b: (UInt64, Int)) -> Bool {
        a.0 != b.0 ? a.0 < b.0 : a.1 < b.1
    }

    private func above(_ i: Int, _ j: Int) -> Bool {
        Self.less((heap[j].key, heap[j].item.document), (heap[i].key, heap[i].item.document))
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard above(child, parent) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            var largest = parent
            for child in [2 * parent + 1, 2 * parent + 2]
            where child < heap.count && above(child, largest) {
                largest = child
            }
            if largest == parent { return }
            heap.swapAt(parent, largest)
            parent = largest
        }
    }
}
