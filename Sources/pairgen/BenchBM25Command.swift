import Foundation

/// `pairgen bench bm25` (issue 3).
enum BenchBM25Command {
    static func run(_ arguments: [String]) throws -> Int32 {
        throw UsageError(message: "bench bm25 is not built yet", usage: "usage: pairgen bench bm25")
    }
}
