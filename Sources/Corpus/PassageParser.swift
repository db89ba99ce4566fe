import Foundation

/// The record layouts a corpus file can have, chosen by its name (after .gz or .zst).
public enum CorpusFormat: String, Sendable {
    /// One JSON object a line: BEIR's `_id`, `title`, `text`, or `id`, `text`, optional `title`.
    case jsonLines
    /// Tab-separated: `id<TAB>text` or `id<TAB>title<TAB>text`, with an optional header line.
    case tabSeparated
    /// One passage a line; its id is `<file name>:<line>`.
    case plainText

    /// The format for a path: .jsonl and .json are JSON lines, .tsv is tab-separated, any other
    /// name is plain text.
    public init(path: String) {
        var name = path
        for suffix in [".gz", ".zst"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
        }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".json") {
            self = .jsonLines
        } else if name.hasSuffix(".tsv") {
            self = .tabSeparated
        } else {
            self = .plainText
        }
    }
}

/// Turns the lines of one file into passages, or into the reason a line cannot be one.
struct PassageParser {
    let format: CorpusFormat
    let path: String
    let fileName: String
    private let decoder = JSONDecoder()
    /// Column positions from a TSV header line, once one has been seen.
    private var tsvColumns: (id: Int, title: Int?, text: Int, count: Int)?
    private var sawFirstLine = false

    init(format: CorpusFormat, path: String) {
        self.format = format
        self.path = path
        fileName = (path as NSString).lastPathComponent
    }

    /// The record of one line; nil for a blank line or a TSV header.
    mutating func parse(_ bytes: [UInt8], line: Int) -> CorpusRecord? {
        var bytes = bytes[...]
        let first = !sawFirstLine
        sawFirstLine = true
        if first && bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            return issue(line, "invalid UTF-8")
        }
        if string.allSatisfy(\.isWhitespace) { return nil }
        switch format {
        case .jsonLines:
            return parseJSON(bytes, line: line)
        case .tabSeparated:
            return parseTSV(string, line: line, first: first)
        case .plainText:
            return passage(id: defaultID(line), title: "", text: string, line: line)
        }
    }

    private func issue(_ line: Int, _ reason: String) -> CorpusRecord {
        .skipped(CorpusIssue(file: path, line: line, reason: reason))
    }

    private func defaultID(_ line: Int) -> String { "\(fileName):\(line)" }

    private func passage(id: String, title: String, text: String, line: Int) -> CorpusRecord {
        if text.allSatisfy(\.isWhitespace) { return issue(line, "empty text") }
        return .passage(Passage(id: id, title: title, text: text, file: path, line: line))
    }

    private func parseJSON(_ bytes: ArraySlice<[UInt8].Element>, line: Int) -> CorpusRecord {
        let record: JSONPassageRecord
        do {
            record = try decoder.decode(JSONPassageRecord.self, from: Data(bytes))
        } catch let problem as JSONPassageRecord.FieldProblem {
            return issue(line, problem.reason)
        } catch DecodingError.typeMismatch {
            return issue(line, "not a JSON object")
        } catch {
            return issue(line, "malformed JSON")
        }
        guard let text = record.text else { return issue(line, "missing text field") }
        return passage(id: record.id ?? defaultID(line), title: record.title ?? "", text: text,
            line: line)
    }

    private mutating func parseTSV(_ string: String, line: Int, first: Bool) -> CorpusRecord? {
        let fields = string.split(separator: "\t", omittingEmptySubsequences: false)
            .map(String.init)
        if first, let header = Self.header(fields) {
            tsvColumns = header
            return nil
        }
        if let columns = tsvColumns {
            guard fields.count == columns.count else {
                return issue(line, "expected \(columns.count) tab-separated fields as in the "
                    + "header, found \(fields.count)")
            }
            return passage(id: fields[columns.id], title: columns.title.map { fields[$0] } ?? "",
                text: fields[columns.text], line: line)
        }
        switch fields.count {
        case 2:
            return passage(id: fields[0], title: "", text: fields[1], line: line)
        case 3:
            return passage(id: fields[0], title: fields[1], text: fields[2], line: line)
        default:
            return issue(line, "expected 2 (id, text) or 3 (id, title, text) tab-separated "
                + "fields, found \(fields.count)")
        }
    }

    /// Column positions when `fields` is a header naming an id column and a text column.
    private static func header(_ fields: [String]) -> (Int, Int?, Int, Int)? {
        let names = fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let id = names.firstIndex(where: { $0 == "id" || $0 == "_id" }),
            let text = names.firstIndex(of: "text")
        else { return nil }
        return (id, names.firstIndex(of: "title"), text, fields.count)
    }
}

/// The fields PairGen reads from a JSON line; other fields are ignored.
private struct JSONPassageRecord: Decodable {
    /// A field that is present but unusable.
    struct FieldProblem: Error { var reason: String }

    var id: String?
    var title: String?
    var text: String?

    private enum Key: String, CodingKey {
        case beirID = "_id", id, title, text
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        id = try Self.identifier(container, .beirID) ?? Self.identifier(container, .id)
        title = try Self.string(container, .title)
        text = try Self.string(container, .text)
    }

    /// A string field; null counts as absent.
    private static func string(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws
        -> String?
    {
        guard container.contains(key), !(try container.decodeNil(forKey: key)) else { return nil }
        guard let value = try? container.decode(String.self, forKey: key) else {
            throw FieldProblem(reason: "\(key.stringValue) field is not a string")
        }
        return value
    }

    /// An id given as a string or a number; whole numbers are written without a fraction.
    private static func identifier(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws
        -> String?
    {
        guard container.contains(key), !(try container.decodeNil(forKey: key)) else { return nil }
        if let value = try? container.decode(String.self, forKey: key) { return value }
        if let value = try? container.decode(Int64.self, forKey: key) { return String(value) }
        if let value = try? container.decode(Double.self, forKey: key), value.isFinite {
            return String(value)
        }
        throw FieldProblem(reason: "\(key.stringValue) field is not a string or a number")
    }
}
