import Corpus
import Foundation

/// Seeds and random numbers that are the same on every machine and in every process.
///
/// Swift's `Hasher` is seeded per process, so every seed here comes from SHA-256 instead.
public enum StableSeed {
    /// A 64-bit value from SHA-256 of the parts, each ended by a zero byte so that
    /// ("ab", "c") and ("a", "bc") differ.
    public static func derive(_ parts: [String]) -> UInt64 {
        var hasher = SHA256Hasher()
        for part in parts {
            hasher.update(part)
            hasher.update(Data([0]))
        }
        let hex = hasher.finalizeHex()
        return UInt64(hex.prefix(16), radix: 16)!
    }

    /// The generation seed of one passage: it depends on the job seed and the passage id only,
    /// never on batches, shards or restarts.
    public static func passage(jobSeed: UInt64, passageID: String) -> UInt64 {
        derive(["pairgen.generate", String(jobSeed), passageID])
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a small, fast generator whose stream depends only
/// on its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Starts the stream of `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<bound with no modulo bias; the same on every platform, unlike the
    /// standard library's `random(in:using:)`, whose algorithm is not promised to stay.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let limit = UInt64(bound)
        let threshold = (0 &- limit) % limit
        while true {
            let value = next()
            let (high, low) = value.multipliedFullWidth(by: limit)
            if low >= threshold { return Int(high) }
        }
    }
}
