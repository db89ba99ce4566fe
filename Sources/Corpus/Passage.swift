import Foundation

/// One passage of a corpus, with the file and line it came from.
public struct Passage: Sendable, Equatable {
    /// The corpus id (`_id` or `id`), or `<file name>:<line>` where the format has none.
    public var id: String
    /// The title, empty when the format or the record has none.
    public var title: String
    /// The passage text, never empty.
    public var text: String
    /// The path of the file it was read from.
    public var file: String
    /// The 1-based line of the file it was read from.
    public var line: Int

    /// Makes a passage.
    public init(id: String, title: String, text: String, file: String, line: Int) {
        self.id = id
        self.title = title
        self.text = text
        self.file = file
        self.line = line
    }
}

/// A record of the corpus that could not be used, with where it is and why.
public struct CorpusIssue: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path of the file.
    public var file: String
    /// The 1-based line; 0 when the problem concerns the whole file.
    public var line: Int
    /// What is wrong, in a few words.
    public var reason: String

    /// Makes an issue.
    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(file):\(line): \(reason)" }
}

/// What the reader returns for each non-blank line: a passage, or why the line was skipped.
public enum CorpusRecord: Sendable, Equatable {
    case passage(Passage)
    case skipped(CorpusIssue)
}
