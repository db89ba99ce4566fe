import Foundation

/// Every failure of the BM25 module: a bad parameter, an unknown language, a bad index file.
public enum BM25Error: Error, CustomStringConvertible, Equatable {
    /// A scoring parameter outside its range, e.g. k1 = -1 or b = 2.
    case invalidParameter(name: String, value: Double, allowed: String)
    /// A language with no Snowball stemmer, or with no stopword list when stopwords are asked for.
    case unsupportedLanguage(String, reason: String)
    /// A file that could not be read, written or mapped.
    case io(path: String, reason: String)
    /// A file that is not a PairGen BM25 index, or whose bytes do not match their checksum.
    case corruptIndex(path: String, reason: String)

    /// The message, naming the parameter, language or file and what was wrong.
    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let allowed):
            return "BM25 parameter \(name) = \(value) is invalid: \(allowed)"
        case .unsupportedLanguage(let language, let reason):
            return "language '\(language)' is not supported: \(reason)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .corruptIndex(let path, let reason):
            return "\(path): not a valid BM25 index: \(reason)"
        }
    }
}
