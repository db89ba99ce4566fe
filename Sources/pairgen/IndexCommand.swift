import Foundation

/// `pairgen index build|search|eval` (owned by the BM25 work, issue 3).
enum IndexCommand {
    static func run(_ arguments: [String]) throws -> Int32 {
        throw UsageError(message: "index is not built yet", usage: "usage: pairgen index ...")
    }
}
