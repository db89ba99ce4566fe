import Foundation

/// Seeds and random numbers that are the same on every machine and in every process.
///
/// Swift's `Hasher` is seeded per process, so every value here comes from SipHash-2-4 with a
/// fixed key instead.
public enum StableSeed {
    /// The fixed SipHash key: "pairgen.seeds.v1" as two little-endian words.
    static let key: (UInt64, UInt64) = (0x2E6E_6567_7269_6170, 0x3176_2E73_6465_6573)

    /// A 64-bit value from the parts, each ended by a zero byte so that ("ab", "c") and
    /// ("a", "bc") differ.
    public static func derive(_ parts: [String]) -> UInt64 {
        var bytes: [UInt8] = []
        for part in parts {
            bytes.append(contentsOf: part.utf8)
            bytes.append(0)
        }
        return SipHash.hash(bytes, key: key)
    }

    /// The generation seed of one passage: it depends on the job seed and the passage id only,
    /// never on batches, shards or restarts.
    public static func passage(jobSeed: UInt64, passageID: String) -> UInt64 {
        derive(["pairgen.generate", String(jobSeed), passageID])
    }
}

/// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): 2 rounds per
/// 8-byte word, 4 finishing rounds, the length in the top byte of the last word.
struct SipHash {
    private var v0: UInt64
    private var v1: UInt64
    private var v2: UInt64
    private var v3: UInt64

    private init(key: (UInt64, UInt64)) {
        v0 = key.0 ^ 0x736F_6D65_7073_6575
        v1 = key.1 ^ 0x646F_7261_6E64_6F6D
        v2 = key.0 ^ 0x6C79_6765_6E65_7261
        v3 = key.1 ^ 0x7465_6462_7974_6573
    }

    /// The 64-bit SipHash-2-4 of `bytes` under `key`.
    static func hash(_ bytes: [UInt8], key: (UInt64, UInt64)) -> UInt64 {
        var state = SipHash(key: key)
        let whole = bytes.count / 8 * 8
        var last = UInt64(truncatingIfNeeded: bytes.count) << 56
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < whole {
                state.absorb(UInt64(littleEndian: buffer.loadUnaligned(
                    fromByteOffset: offset, as: UInt64.self)))
                offset += 8
            }
            for index in whole..<bytes.count {
                last |= UInt64(buffer[index]) << (8 * UInt64(index - whole))
            }
        }
        state.absorb(last)
        state.v2 ^= 0xFF
        for _ in 0..<4 { state.round() }
        return state.v0 ^ state.v1 ^ state.v2 ^ state.v3
    }

    @inline(__always)
    private mutating func absorb(_ word: UInt64) {
        v3 ^= word
        round()
        round()
        v0 ^= word
    }

    @inline(__always)
    private mutating func round() {
        v0 &+= v1
        v1 = v1.rotatedLeft(13) ^ v0
        v0 = v0.rotatedLeft(32)
        v2 &+= v3
        v3 = v3.rotatedLeft(16) ^ v2
        v0 &+= v3
        v3 = v3.rotatedLeft(21) ^ v0
        v2 &+= v1
        v1 = v1.rotatedLeft(17) ^ v2
        v2 = v2.rotatedLeft(32)
    }
}

extension UInt64 {
    /// The bits rotated left by `count` (1...63).
    @inline(__always)
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 - count))
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
