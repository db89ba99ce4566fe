import Foundation

/// A problem that stops reading a corpus file, naming the file.
public enum CorpusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist or cannot be opened.
    case cannotOpen(path: String, reason: String)
    /// Reading the file failed part way.
    case readFailed(path: String, reason: String)
    /// A .gz or .zst file whose compressed stream is damaged or cut short.
    case corruptStream(path: String, format: String, reason: String)
    /// Compressing data for writing failed.
    case compressionFailed(format: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open: \(reason)"
        case .readFailed(let path, let reason):
            return "\(path): read failed: \(reason)"
        case .corruptStream(let path, let format, let reason):
            return "\(path): corrupt \(format) stream: \(reason)"
        case .compressionFailed(let format, let reason):
            return "\(format) compression failed: \(reason)"
        }
    }
}
