import Foundation

/// nDCG and recall at a cutoff, as trec_eval (and so BEIR) computes them.
public enum RetrievalMetrics {
    /// nDCG@cutoff with linear gains: sum of rel / log2(rank + 1) over the ranking, divided by
    /// the same sum over the ideal ranking; 0 when nothing is relevant.
    public static func ndcg(ranked: [String], relevance: [String: Int], cutoff: Int) -> Double {
        var gain = 0.0
        for (rank, document) in ranked.prefix(cutoff).enumerated() {
            if let grade = relevance[document], grade > 0 {
                gain += Double(grade) / log2(Double(rank + 2))
            }
        }
        let ideal = relevance.values.filter { $0 > 0 }.sorted(by: >).prefix(cutoff)
        var best = 0.0
        for (rank, grade) in ideal.enumerated() { best += Double(grade) / log2(Double(rank + 2)) }
        return best > 0 ? gain / best : 0
    }

    /// The share of relevant documents found in the first `cutoff` results.
    public static func recall(ranked: [String], relevance: [String: Int], cutoff: Int) -> Double {
        let relevant = Set(relevance.filter { $0.value > 0 }.keys)
        guard !relevant.isEmpty else { return 0 }
        let found = ranked.prefix(cutoff).filter { relevant.contains($0) }.count
        return Double(found) / Double(relevant.count)
    }
}

/// Relevance judgements in BEIR's qrels layout: `query-id<TAB>corpus-id<TAB>score` lines, an
/// optional header line first.
public struct Qrels: Sendable {
    /// Grades by query id, then document id.
    public private(set) var relevance: [String: [String: Int]] = [:]

    /// Parses qrels text; a malformed line throws an error naming the file and line.
    public init(text: String, file: String) throws {
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            if fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            if number == 0, fields.count == 3, Int(fields[2]) == nil { continue }
            guard fields.count == 3, let grade = Int(fields[2].trimmingCharacters(in: .whitespaces))
            else {
                throw BM25Error.io(
                    path: "\(file):\(number + 1)",
                    reason: "expected query-id<TAB>corpus-id<TAB>integer score, got '\(line)'")
            }
            relevance[String(fields[0]), default: [:]][String(fields[1])] = grade
        }
    }

    /// Reads a qrels file.
    public init(contentsOf url: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw BM25Error.io(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(text: text, file: url.path)
    }
}
