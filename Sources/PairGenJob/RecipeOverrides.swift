import Foundation

extension Recipe {
    /// The recipe with `key=value` overrides applied in order, as `--set` and the named flags
    /// give them. A key is a dotted path (`mining.range_max`); a value is read as JSON when it
    /// parses as JSON (`5`, `true`, `null`, `["a.jsonl"]`) and as a string otherwise. The result
    /// is decoded again, so an unknown key or a wrong type is the same error a recipe file gives.
    public func applying(_ overrides: [(key: String, value: String)]) throws -> Recipe {
        guard !overrides.isEmpty else { return self }
        let encoded = canonicalJSON()
        guard var root = try JSONSerialization.jsonObject(with: encoded) as? [String: Any] else {
            preconditionFailure("a recipe always encodes as a JSON object")
        }
        for (key, text) in overrides {
            let path = key.split(separator: ".").map(String.init)
            guard !path.isEmpty, !path.contains("") else {
                throw JobError.invalidOverride(argument: "\(key)=\(text)",
                    reason: "the key must be a dotted path such as mining.range_max")
            }
            let value = Self.overrideValue(text)
            try Self.set(value, at: path[...], in: &root, argument: "\(key)=\(text)")
        }
        let data = try JSONSerialization.data(withJSONObject: root)
        return try Recipe.decode(data, source: "command-line overrides")
    }

    /// JSON when `text` is a JSON value, otherwise the text as a string.
    private static func overrideValue(_ text: String) -> Any {
        if let value = try? JSONSerialization.jsonObject(
            with: Data(text.utf8), options: [.fragmentsAllowed])
        {
            return value
        }
        return text
    }

    private static func set(
        _ value: Any, at path: ArraySlice<String>, in object: inout [String: Any],
        argument: String
    ) throws {
        let head = path.first!
        if path.count == 1 {
            object[head] = value
            return
        }
        var child = (object[head] as? [String: Any]) ?? [:]
        if object[head] != nil && !(object[head] is [String: Any]) {
            throw JobError.invalidOverride(argument: argument,
                reason: "'\(head)' is not a group of settings")
        }
        try set(value, at: path.dropFirst(), in: &child, argument: argument)
        object[head] = child
    }
}
