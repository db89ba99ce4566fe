import Foundation

/// The top-level usage text; each command prints its own with `--help`.
let topLevelUsage = """
    usage: pairgen <command> [options]

    commands:
      run RECIPE.json [flags]     run a job: sample, generate, filter, mine, write shards
      resume RUNDIR               continue an interrupted job
      inspect RUNDIR              totals, shards, sample pairs and histograms of a run
      generate                    write synthetic queries for passages with an mT5 checkpoint
      index build|search|eval     the built-in BM25 index
      bench bm25|generate         benchmarks side by side with peers
      bench fast                  what the fast mode changes in the output

    Run `pairgen <command> --help` for a command's options.
    """

extension CommandLine {
    /// Runs one command and returns the process exit status.
    static func dispatch(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first else {
            printError(topLevelUsage)
            return ExitStatus.usage
        }
        let rest = Array(arguments.dropFirst())
        do {
            switch command {
            case "generate":
                return try GenerateCommand.run(rest)
            case "index":
                return try IndexCommand.run(rest)
            case "run":
                return try RunCommand.run(rest)
            case "resume":
                return try RunCommand.resume(rest)
            case "inspect":
                return try InspectCommand.run(rest)
            case "bench":
                return try BenchCommand.run(rest)
            case "-h", "--help", "help":
                print(topLevelUsage)
                return ExitStatus.success
            default:
                printError("pairgen: unknown command '\(command)'\n\n" + topLevelUsage)
                return ExitStatus.usage
            }
        } catch let error as UsageError where error.isHelpRequest {
            print(error.usage)
            return ExitStatus.success
        } catch let error as UsageError {
            printError("pairgen \(command): \(error.message)\n\n\(error.usage)")
            return ExitStatus.usage
        } catch {
            printError("pairgen \(command): error: \(error)")
            return ExitStatus.failure
        }
    }
}

/// Exit statuses shared by every command.
enum ExitStatus {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
}

/// Writes data to standard output; a failed write (a full disk, a closed pipe) is an error
/// that names standard output instead of a crash.
func writeToStandardOutput(_ data: Data) throws {
    do {
        try FileHandle.standardOutput.write(contentsOf: data)
    } catch {
        throw StandardOutputError(reason: "\(error.localizedDescription)")
    }
}

/// A runtime failure of a command, with its message as the user should read it.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Standard output could not be written.
struct StandardOutputError: Error, CustomStringConvertible {
    let reason: String
    var description: String { "cannot write to standard output: \(reason)" }
}

/// Writes one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
