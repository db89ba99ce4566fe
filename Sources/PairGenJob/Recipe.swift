import Foundation
import Corpus
import MT5

/// A job: what to read, how to sample, generate, filter and mine, and where to write.
///
/// Read from JSON with snake_case keys; every key but `corpus` may be left out and takes the
/// default shown in the README. An unknown key is an error naming it, so a typo never passes
/// silently.
public struct Recipe: Codable, Equatable, Sendable {
    /// Corpus files, read in this order.
    public var corpus: [String]
    /// The run directory: shards, manifest.json, errors.jsonl.
    public var output: String
    /// A checkpoint directory or a Hugging Face id (see `ModelLocator`).
    public var model: String
    /// The job seed: sampling, generation and random mining all derive from it.
    public var seed: UInt64
    /// Which passages get queries.
    public var sample: SampleSettings
    /// How queries are decoded.
    public var generation: GenerationSettings
    /// Which queries are kept.
    public var filters: FilterSettings
    /// How hard negatives are chosen.
    public var mining: MiningSettings
    /// How pairs are written.
    public var shards: ShardSettings

    enum CodingKeys: String, CodingKey, CaseIterable {
        case corpus, output, model, seed, sample, generation, filters, mining, shards
    }

    /// A recipe with every default, reading `corpus`.
    public init(corpus: [String], output: String = "runs/pairgen", model: String = "") {
        self.corpus = corpus
        self.output = output
        self.model = model
        seed = 42
        sample = SampleSettings()
        generation = GenerationSettings()
        filters = FilterSettings()
        mining = MiningSettings()
        shards = ShardSettings()
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        corpus = try container.decode([String].self, forKey: .corpus)
        output = try container.value(.output, "runs/pairgen")
        model = try container.value(.model, "")
        seed = try container.value(.seed, 42)
        sample = try container.value(.sample, SampleSettings())
        generation = try container.value(.generation, GenerationSettings())
        filters = try container.value(.filters, FilterSettings())
        mining = try container.value(.mining, MiningSettings())
        shards = try container.value(.shards, ShardSettings())
    }

    /// Reads a recipe file; unknown keys and wrong types are errors naming the key and file.
    public static func load(from url: URL) throws -> Recipe {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw JobError.unreadableRecipe(path: url.path, reason: "no such file or unreadable")
        }
        return try decode(data, source: url.path)
    }

    /// Decodes recipe JSON, naming `source` in errors.
    public static func decode(_ data: Data, source: String) throws -> Recipe {
        do {
            return try JSONDecoder().decode(Recipe.self, from: data)
        } catch JobError.unknownRecipeKey(let key, _) {
            throw JobError.unknownRecipeKey(key: key, path: source)
        } catch let error as JobError {
            throw error.located(in: source)
        } catch let DecodingError.typeMismatch(type, context) {
            throw JobError.unreadableRecipe(path: source,
                reason: "key '\(context.codingPath.dottedPath)' must be \(jsonKind(type))")
        } catch let DecodingError.keyNotFound(key, context) {
            throw JobError.unreadableRecipe(path: source,
                reason: "key '\((context.codingPath + [key]).dottedPath)' is missing")
        } catch let DecodingError.valueNotFound(type, context) {
            throw JobError.unreadableRecipe(path: source,
                reason: "key '\(context.codingPath.dottedPath)' is null; it must be "
                    + jsonKind(type))
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw JobError.invalidRecipeValue(key: context.codingPath.dottedPath,
                value: "invalid", allowed: context.debugDescription)
        } catch {
            // Foundation says "not valid JSON" also for valid JSON holding a number its Swift
            // type cannot (a negative seed, a fractional count); tell the two apart.
            do {
                _ = try JSONSerialization.jsonObject(with: data)
            } catch {
                throw JobError.unreadableRecipe(path: source, reason: "not valid JSON")
            }
            throw JobError.unreadableRecipe(path: source, reason: "a number does not fit its "
                + "key (a negative or fractional count or seed, or a value too large)")
        }
    }

    /// What a Swift type is called in JSON, for errors about a value of the wrong type.
    private static func jsonKind(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is Double.Type, is Float.Type: return "a number"
        case is any FixedWidthInteger.Type: return "a whole number"
        default:
            let name = String(describing: type)
            return name.hasPrefix("Array") ? "a list" : "an object"
        }
    }

    /// The recipe as pretty JSON with sorted keys, as the manifest records it.
    public func canonicalJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }

    /// SHA-256 of what decides the shards' bytes. The output directory, the model's name and
    /// the corpus paths are left out: the model and corpus are compared by their fingerprints.
    public var identityHash: String {
        var copy = self
        copy.output = ""
        copy.model = ""
        copy.corpus = []
        return SHA256Hasher.hex(copy.canonicalJSON())
    }

    /// Checks every value's range; throws `JobError.invalidRecipeValue` naming the key.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ value: Any, _ allowed: String) throws {
            if !ok { throw JobError.invalidRecipeValue(key: key, value: "\(value)",
                allowed: allowed) }
        }
        try check(!corpus.isEmpty, "corpus", "[]", "at least one file")
        try check(!output.isEmpty, "output", "\"\"", "a directory")
        try check(!model.isEmpty, "model", "\"\"", "a checkpoint directory or Hugging Face id")
        try sample.validate(check)
        try generation.validate(check)
        try filters.validate(check)
        try mining.validate(check)
        try shards.validate(check)
        do {
            try generation.options.validate()
        } catch let error as MT5Error {
            throw JobError.invalidRecipeValue(key: "generation", value: "\(error)", allowed: "")
        }
    }
}

/// A check used by the settings' `validate`: (condition, key, value, allowed).
typealias RecipeCheck = (Bool, String, Any, String) throws -> Void

/// Which passages get queries.
public struct SampleSettings: Codable, Equatable, Sendable {
    /// Passages drawn; nil (written "all") takes every eligible passage.
    public var size: Int?
    /// Passages with fewer characters are skipped and counted.
    public var minChars: Int = 20
    /// Passages with more characters are skipped and counted.
    public var maxChars: Int = 20_000

    enum CodingKeys: String, CodingKey, CaseIterable {
        case size, minChars = "min_chars", maxChars = "max_chars"
    }

    /// Every passage, 20 to 20,000 characters.
    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let word = try? container.decode(String.self, forKey: .size) {
            guard word == "all" else {
                throw JobError.invalidRecipeValue(key: "sample.size", value: "\"\(word)\"",
                    allowed: "a positive integer or \"all\"")
            }
            size = nil
        } else {
            size = try container.decodeIfPresent(Int.self, forKey: .size)
        }
        minChars = try container.value(.minChars, minChars)
        maxChars = try container.value(.maxChars, maxChars)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let size { try container.encode(size, forKey: .size) } else {
            try container.encode("all", forKey: .size)
        }
        try container.encode(minChars, forKey: .minChars)
        try container.encode(maxChars, forKey: .maxChars)
    }

    func validate(_ check: RecipeCheck) throws {
        if let size { try check(size >= 1, "sample.size", size, "a positive integer or \"all\"") }
        try check(minChars >= 1, "sample.min_chars", minChars, ">= 1")
        try check(maxChars >= minChars, "sample.max_chars", maxChars, ">= min_chars")
    }
}

/// How mining picks negatives among the allowed ranks.
public enum MiningStrategy: String, Codable, Sendable {
    /// The best-ranked candidates.
    case top
    /// A seeded random choice among the candidates.
    case random
}

/// How pairs are written.
public struct ShardSettings: Codable, Equatable, Sendable {
    /// Pairs in each shard but the last.
    public var pairsPerShard: Int = 1000
    /// zstd compression level, 1 to 19.
    public var zstdLevel: Int = 10

    enum CodingKeys: String, CodingKey, CaseIterable {
        case pairsPerShard = "pairs_per_shard", zstdLevel = "zstd_level"
    }

    /// 1,000 pairs a shard at zstd level 10.
    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pairsPerShard = try container.value(.pairsPerShard, pairsPerShard)
        zstdLevel = try container.value(.zstdLevel, zstdLevel)
    }

    func validate(_ check: RecipeCheck) throws {
        try check((1...100_000_000).contains(pairsPerShard), "shards.pairs_per_shard",
            pairsPerShard, "1...100000000")
        try check((1...19).contains(zstdLevel), "shards.zstd_level", zstdLevel, "1...19")
    }
}

/// A coding key for any name, to list the keys a JSON object really has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension Decoder {
    /// Throws `JobError.unknownRecipeKey` for the first key that `Keys` does not list.
    func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        let container = try self.container(keyedBy: AnyCodingKey.self)
        let known = Set(Keys.allCases.map(\.stringValue))
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue })
        where !known.contains(key.stringValue) {
            throw JobError.unknownRecipeKey(key: (codingPath + [key]).dottedPath, path: "")
        }
    }
}

extension KeyedDecodingContainer {
    /// The value at `key`, or `fallback` when the key is absent. A null, or a number that the
    /// key's whole-number type cannot hold (2.5, -1 for a count, 1e30), is an error naming the
    /// key: Foundation's own error for the latter names none.
    func value<T: Decodable>(_ key: Key, _ fallback: T) throws -> T {
        let path = (codingPath + [key]).dottedPath
        if contains(key), try decodeNil(forKey: key) {
            throw JobError.invalidRecipeValue(
                key: path, value: "null", allowed: "leave the key out for its default")
        }
        do {
            return try decodeIfPresent(T.self, forKey: key) ?? fallback
        } catch {
            if let integer = T.self as? any FixedWidthInteger.Type,
                let number = try? decode(Double.self, forKey: key)
            {
                let smallest = integer.isSigned ? "" : " from 0"
                let written = number.rounded() == number && abs(number) < 1e15
                    ? String(Int64(number)) : "\(number)"
                throw JobError.invalidRecipeValue(
                    key: path, value: written,
                    allowed: "a whole number\(smallest) up to \(integer.max)")
            }
            throw error
        }
    }
}

extension Array where Element == any CodingKey {
    /// "mining.range_max" for a coding path.
    var dottedPath: String { map(\.stringValue).joined(separator: ".") }
}
