import Foundation

/// Everything that stops a job, naming the file, key or value involved.
public enum JobError: Error, CustomStringConvertible, Equatable {
    /// A recipe file that cannot be read or is not valid JSON.
    case unreadableRecipe(path: String, reason: String)
    /// A recipe key PairGen does not know.
    case unknownRecipeKey(key: String, path: String)
    /// A recipe value of the wrong type or out of range.
    case invalidRecipeValue(key: String, value: String, allowed: String)
    /// A `--set KEY=VALUE` override naming no recipe field.
    case invalidOverride(argument: String, reason: String)
    /// The model could not be found; lists where PairGen looked.
    case modelNotFound(name: String, searched: [String])
    /// The run directory belongs to a different job.
    case runMismatch(directory: String, differences: [String])
    /// Another process holds the run directory's lock.
    case runLocked(directory: String, holder: String)
    /// A run directory without a usable manifest.
    case badManifest(path: String, reason: String)
    /// The corpus held no passage the job can use.
    case nothingUsable(reason: String)
    /// Writing a file of the run failed.
    case writeFailed(path: String, reason: String)
    /// A regenerated shard differs from the checksum the manifest recorded for it.
    case nondeterministicShard(name: String, expected: String, found: String)

    /// The error as one about the recipe read from `source`: a bad value then names the file
    /// as well as the key; other errors are returned as they are.
    public func located(in source: String) -> JobError {
        guard case .invalidRecipeValue(let key, let value, let allowed) = self else {
            return self
        }
        return .unreadableRecipe(
            path: source, reason: "key '\(key)' is \(value); allowed: \(allowed)")
    }

    public var description: String {
        switch self {
        case .unreadableRecipe(let path, let reason):
            return "\(path): cannot read recipe: \(reason)"
        case .unknownRecipeKey(let key, let path):
            return "\(path): unknown recipe key '\(key)'"
        case .invalidRecipeValue(let key, let value, let allowed):
            return "recipe key '\(key)' is \(value); allowed: \(allowed)"
        case .invalidOverride(let argument, let reason):
            return "override '\(argument)': \(reason)"
        case .modelNotFound(let name, let searched):
            return "model '\(name)' not found; looked in:\n"
                + searched.map { "  \($0)" }.joined(separator: "\n")
                + "\nGive a checkpoint directory with --model DIR, or fetch it first, e.g.\n"
                + "  huggingface-cli download \(name)\n"
                + "(or put it under $PAIRGEN_MODELS/\(name))"
        case .runMismatch(let directory, let differences):
            return "\(directory) holds a different job:\n"
                + differences.map { "  \($0)" }.joined(separator: "\n")
                + "\nUse another output directory, or --restart to delete this run and start over."
        case .runLocked(let directory, let holder):
            return "\(directory) is in use by another pairgen process (\(holder))"
        case .badManifest(let path, let reason):
            return "\(path): \(reason)"
        case .nothingUsable(let reason):
            return "nothing usable: \(reason)"
        case .writeFailed(let path, let reason):
            return "\(path): write failed: \(reason)"
        case .nondeterministicShard(let name, let expected, let found):
            return "\(name) regenerated with sha256 \(found), but the manifest recorded "
                + "\(expected)"
        }
    }
}
