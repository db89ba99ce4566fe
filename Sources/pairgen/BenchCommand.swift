import Foundation

/// `pairgen bench bm25|generate|fast`.
enum BenchCommand {
    static func run(_ arguments: [String]) throws -> Int32 {
        let usage = """
            usage: pairgen bench bm25|generate|fast [options]

              bm25      BM25 index build and query speed (Recipes/bench/bm25.sh runs bm25s beside)
              generate  query generation speed (Recipes/bench/generate.py runs HF transformers
                        and CTranslate2 beside)
              fast      what the fast mode changes in the output
            `pairgen bench COMMAND --help` lists each one's options.
            """
        switch arguments.first {
        case "-h", "--help", "help":
            throw UsageError(message: UsageError.helpMessage, usage: usage)
        case "bm25":
            return try BenchBM25Command.run(Array(arguments.dropFirst()))
        case "generate":
            return try BenchGenerateCommand.run(Array(arguments.dropFirst()))
        case "fast":
            return try BenchFastCommand.run(Array(arguments.dropFirst()))
        default:
            throw UsageError(message: "bench needs bm25, generate or fast", usage: usage)
        }
    }
}
