import CStemmer
import Foundation

/// A thin wrapper over one libstemmer (Snowball) stemmer; not thread-safe, like the C object.
final class SnowballStemmer {
    private let handle: OpaquePointer

    /// A UTF-8 stemmer for a Snowball algorithm name such as "portuguese".
    init(algorithm: String) throws {
        guard let handle = sb_stemmer_new(algorithm, "UTF_8") else {
            throw BM25Error.unsupportedLanguage(
                algorithm, reason: "libstemmer has no such stemmer (it has "
                    + SnowballStemmer.algorithms.joined(separator: ", ") + ")")
        }
        self.handle = handle
    }

    deinit { sb_stemmer_delete(handle) }

    /// The stem of one lowercased word given as UTF-8 bytes.
    func stem(_ word: UnsafeBufferPointer<UInt8>) -> String {
        guard let base = word.baseAddress, word.count > 0,
            let result = sb_stemmer_stem(handle, base, Int32(word.count))
        else { return String(decoding: word, as: UTF8.self) }
        let length = Int(sb_stemmer_length(handle))
        return String(decoding: UnsafeBufferPointer(start: result, count: length), as: UTF8.self)
    }

    /// Every algorithm name libstemmer ships.
    static let algorithms: [String] = {
        var names: [String] = []
        guard var cursor = sb_stemmer_list() else { return names }
        while let name = cursor.pointee {
            names.append(String(cString: name))
            cursor += 1
        }
        return names
    }()
}

/// Stemmers handed out to concurrent analyses, one per caller at a time.
final class StemmerPool: @unchecked Sendable {
    let algorithm: String
    private let lock = NSLock()
    private var idle: [SnowballStemmer] = []

    /// A pool for an algorithm that has been checked to exist.
    init(algorithm: String) throws {
        self.algorithm = algorithm
        idle.append(try SnowballStemmer(algorithm: algorithm))
    }

    /// Runs `body` with a stemmer no other thread holds meanwhile.
    func withStemmer<Result>(_ body: (SnowballStemmer) -> Result) -> Result {
        lock.lock()
        let stemmer = idle.popLast()
        lock.unlock()
        // The algorithm was checked in init, so a fresh stemmer cannot fail.
        let held = stemmer ?? (try! SnowballStemmer(algorithm: algorithm))
        defer {
            lock.lock()
            idle.append(held)
            lock.unlock()
        }
        return body(held)
    }
}
