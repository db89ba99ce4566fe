import Foundation

/// A command-line mistake: printed with the command's usage, exit status 2.
struct UsageError: Error {
    let message: String
    let usage: String

    /// `--help` or `-h`: the usage goes to stdout and the command succeeds.
    var isHelpRequest: Bool { message == UsageError.helpMessage }
    static let helpMessage = "help requested"
}

/// A small parser for `--flag value`, `--flag=value`, `--switch` and positional arguments.
///
/// Each command declares which flags take values and which are switches; anything else is a
/// usage error naming the flag.
struct ParsedArguments {
    private(set) var values: [String: [String]] = [:]
    private(set) var switches: Set<String> = []
    private(set) var positionals: [String] = []
    let usage: String

    init(
        _ arguments: [String], valueFlags: Set<String>, switchFlags: Set<String> = [],
        usage: String
    ) throws {
        self.usage = usage
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("-"), argument != "-" else {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                positionals.append(contentsOf: arguments[index...])
                break
            }
            var name = argument
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            if name == "-h" || name == "--help" {
                throw UsageError(message: UsageError.helpMessage, usage: usage)
            }
            if switchFlags.contains(name) {
                guard inlineValue == nil else {
                    throw UsageError(message: "\(name) takes no value", usage: usage)
                }
                switches.insert(name)
            } else if valueFlags.contains(name) {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError(message: "\(name) needs a value", usage: usage)
                    }
                    value = arguments[index]
                    index += 1
                }
                values[name, default: []].append(value)
            } else {
                throw UsageError(message: "unknown option '\(name)'", usage: usage)
            }
        }
    }

    /// The value of a flag the command cannot do without.
    func required(_ flag: String) throws -> String {
        guard let value = string(flag) else {
            throw UsageError(message: "\(flag) is required", usage: usage)
        }
        return value
    }

    /// For commands that take no positional argument.
    func rejectPositionals() throws {
        if let first = positionals.first {
            throw UsageError(message: "unexpected argument '\(first)'", usage: usage)
        }
    }

    /// The last value given for a flag, if any.
    func string(_ flag: String) -> String? { values[flag]?.last }

    /// Every value given for a repeatable flag.
    func strings(_ flag: String) -> [String] { values[flag] ?? [] }

    /// Whether a switch was given.
    func has(_ flag: String) -> Bool { switches.contains(flag) }

    /// A value parsed as an integer within `range`, or nil when the flag is absent.
    func int(_ flag: String, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int? {
        guard let text = string(flag) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError(
                message: "\(flag) must be an integer in \(range.lowerBound)...\(range.upperBound), "
                    + "got '\(text)'", usage: usage)
        }
        return value
    }

    /// A value parsed as a finite number within `range`, or nil when the flag is absent.
    func double(
        _ flag: String,
        in range: ClosedRange<Double> = -.greatestFiniteMagnitude ... .greatestFiniteMagnitude
    ) throws -> Double? {
        guard let text = string(flag) else { return nil }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw UsageError(
                message: "\(flag) must be a number in \(range.lowerBound)...\(range.upperBound), "
                    + "got '\(text)'", usage: usage)
        }
        return value
    }

    /// A value parsed as an unsigned 64-bit integer, or nil when the flag is absent.
    func uint64(_ flag: String) throws -> UInt64? {
        guard let text = string(flag) else { return nil }
        guard let value = UInt64(text) else {
            throw UsageError(message: "\(flag) must be a non-negative integer, got '\(text)'",
                usage: usage)
        }
        return value
    }
}
