import Foundation

/// Everything that can go wrong in the mT5 core, with the file, tensor, key or value involved.
public enum MT5Error: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case unreadableFile(path: String, reason: String)
    case malformedFile(path: String, reason: String)
    case truncatedFile(path: String, reason: String)
    case missingTensor(name: String, file: String)
    case wrongShape(name: String, file: String, expected: [Int], found: [Int])
    case unsupportedDType(name: String, file: String, dtype: String)
    case missingConfigKey(key: String, file: String)
    case unsupportedConfig(key: String, value: String, file: String, allowed: String)
    case invalidOption(name: String, value: String, allowed: String)
    case tokenizer(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): file not found"
        case .unreadableFile(let path, let reason):
            return "\(path): cannot read: \(reason)"
        case .malformedFile(let path, let reason):
            return "\(path): malformed: \(reason)"
        case .truncatedFile(let path, let reason):
            return "\(path): truncated: \(reason)"
        case .missingTensor(let name, let file):
            return "\(file): tensor '\(name)' is missing"
        case .wrongShape(let name, let file, let expected, let found):
            return "\(file): tensor '\(name)' has shape \(found), expected \(expected)"
        case .unsupportedDType(let name, let file, let dtype):
            return "\(file): tensor '\(name)' has dtype \(dtype); supported: F32, F16, BF16"
        case .missingConfigKey(let key, let file):
            return "\(file): missing config key '\(key)'"
        case .unsupportedConfig(let key, let value, let file, let allowed):
            return "\(file): config key '\(key)' is \(value); supported: \(allowed)"
        case .invalidOption(let name, let value, let allowed):
            return "generation option '\(name)' is \(value); allowed: \(allowed)"
        case .tokenizer(let path, let reason):
            return "\(path): tokenizer: \(reason)"
        }
    }
}
