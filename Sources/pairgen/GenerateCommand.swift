import Foundation

/// `pairgen generate` (issue 2).
enum GenerateCommand {
    static func run(_ arguments: [String]) throws -> Int32 {
        throw UsageError(message: "generate is not built yet", usage: "usage: pairgen generate")
    }
}
