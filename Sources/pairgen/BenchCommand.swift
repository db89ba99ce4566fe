import Foundation

/// `pairgen bench bm25|generate|trimming`.
enum BenchCommand {
    static func run(_ arguments: [String]) throws -> Int32 {
        let usage = "usage: pairgen bench bm25|generate|trimming [options]"
        switch arguments.first {
        case "bm25":
            return try BenchBM25Command.run(Array(arguments.dropFirst()))
        case "generate":
            return try BenchGenerateCommand.run(Array(arguments.dropFirst()))
        case "trimming":
            return try BenchTrimmingCommand.run(Array(arguments.dropFirst()))
        default:
            throw UsageError(message: "bench needs bm25, generate or trimming", usage: usage)
        }
    }
}
