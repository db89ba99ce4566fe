import Foundation

/// `pairgen bench generate` (issue 5).
enum BenchGenerateCommand {
    static func run(_ arguments: [String]) throws -> Int32 {
        throw UsageError(message: "bench generate is not built yet",
            usage: "usage: pairgen bench generate")
    }
}
