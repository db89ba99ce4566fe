import Foundation

/// Which BM25 formula scores a posting; bm25s and Kamphuis et al. (ECIR 2020) name them so.
///
/// With N documents, df documents holding the term, tf its count in a document of length dl
/// and avgdl the mean length, and norm = k1 (1 - b + b dl / avgdl):
///
///     lucene     idf = ln(1 + (N - df + 0.5) / (df + 0.5))     tf part = tf / (tf + norm)
///     robertson  idf = ln(max(1, (N - df + 0.5) / (df + 0.5)))  tf part = tf / (tf + norm)
///     atire      idf = ln(N / df)                             tf part = tf (k1 + 1) / (tf + norm)
///
/// Robertson's idf is clamped at zero as bm25s does, so that no term lowers a score.
public enum BM25Variant: String, Codable, Sendable, CaseIterable {
    case lucene, robertson, atire
}

/// The scoring parameters of an index: saved with it, fixed once it is built.
public struct BM25Parameters: Codable, Sendable, Equatable {
    /// Term-frequency saturation; finite and >= 0.
    public var k1: Double = 1.2
    /// Length normalisation; in [0, 1].
    public var b: Double = 0.75
    /// The idf and tf formulas.
    public var variant: BM25Variant = .lucene

    /// Parameters with bm25s's and Lucene's defaults unless given.
    public init(k1: Double = 1.2, b: Double = 0.75, variant: BM25Variant = .lucene) {
        self.k1 = k1
        self.b = b
        self.variant = variant
    }

    /// Throws `BM25Error.invalidParameter` naming k1 or b when either is out of range.
    public func validate() throws {
        guard k1.isFinite, k1 >= 0 else {
            throw BM25Error.invalidParameter(
                name: "k1", value: k1, allowed: "must be a finite number >= 0")
        }
        guard b.isFinite, (0...1).contains(b) else {
            throw BM25Error.invalidParameter(name: "b", value: b, allowed: "must be in [0, 1]")
        }
    }

    /// The inverse document frequency of a term held by `documentFrequency` of `documentCount`
    /// documents (both > 0).
    @inline(__always)
    func idf(documentFrequency: Int, documentCount: Int) -> Double {
        let n = Double(documentCount)
        let df = Double(documentFrequency)
        switch variant {
        case .lucene:
            return log(1 + (n - df + 0.5) / (df + 0.5))
        case .robertson:
            return log(max(1, (n - df + 0.5) / (df + 0.5)))
        case .atire:
            return log(n / df)
        }
    }

    /// k1 (1 - b + b dl / avgdl), computed in bm25s's order so that scores agree to the last bit.
    @inline(__always)
    func lengthNorm(documentLength: UInt32, averageLength: Double) -> Double {
        k1 * ((1 - b) + b * Double(documentLength) / averageLength)
    }

    /// The tf factor of one posting given its document's `lengthNorm`.
    @inline(__always)
    func termFrequencyPart(_ termFrequency: Double, lengthNorm: Double) -> Double {
        switch variant {
        case .lucene, .robertson:
            return termFrequency / (lengthNorm + termFrequency)
        case .atire:
            return termFrequency * (k1 + 1) / (termFrequency + lengthNorm)
        }
    }
}
