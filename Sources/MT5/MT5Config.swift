import Foundation

/// The architecture of a T5 v1.1 / mT5 checkpoint, read from its config.json.
///
/// Property names are Swift's; coding keys are the checkpoint's own. Values are never assumed
/// from mT5-base: what a checkpoint leaves out takes HF transformers' T5Config default.
public struct MT5Config: Codable, Equatable, Sendable {
    /// The feed-forward block of each layer.
    public enum FeedForward: String, Codable, Sendable {
        /// T5 v1.1 / mT5: gelu_new(x Wi0) * (x Wi1), then Wo.
        case gatedGelu = "gated-gelu"
        /// T5 v1.0: relu(x Wi), then Wo.
        case relu
    }

    public var modelType: String
    public var modelDimension: Int
    public var keyValueDimension: Int
    public var feedForwardDimension: Int
    public var headCount: Int
    public var encoderLayerCount: Int
    public var decoderLayerCount: Int
    public var vocabularySize: Int
    public var relativeAttentionBucketCount: Int
    public var relativeAttentionMaxDistance: Int
    public var feedForward: FeedForward
    public var layerNormEpsilon: Float
    public var tieWordEmbeddings: Bool
    public var decoderStartTokenID: Int32
    public var endOfSequenceTokenID: Int32
    public var padTokenID: Int32

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case modelDimension = "d_model"
        case keyValueDimension = "d_kv"
        case feedForwardDimension = "d_ff"
        case headCount = "num_heads"
        case encoderLayerCount = "num_layers"
        case decoderLayerCount = "num_decoder_layers"
        case vocabularySize = "vocab_size"
        case relativeAttentionBucketCount = "relative_attention_num_buckets"
        case relativeAttentionMaxDistance = "relative_attention_max_distance"
        case feedForward = "feed_forward_proj"
        case layerNormEpsilon = "layer_norm_epsilon"
        case tieWordEmbeddings = "tie_word_embeddings"
        case decoderStartTokenID = "decoder_start_token_id"
        case endOfSequenceTokenID = "eos_token_id"
        case padTokenID = "pad_token_id"
    }

    /// Width of the attention projections: heads × d_kv (not always d_model).
    public var attentionInnerDimension: Int { headCount * keyValueDimension }

    /// Whether the decoder output is scaled by d_model^-0.5 before the vocabulary projection.
    ///
    /// HF transformers' T5 scales unless config.json says `tie_word_embeddings: false` (T5 v1.0
    /// was tied and scaled; T5 v1.1 says false); its mT5 never scales.
    public var scalesDecoderOutput: Bool { modelType != "mt5" && tieWordEmbeddings }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func required<T: Decodable>(_ key: CodingKeys) throws -> T {
            guard let value = try container.decodeIfPresent(T.self, forKey: key) else {
                throw MT5Error.missingConfigKey(key: key.rawValue, file: "config.json")
            }
            return value
        }
        modelType = try container.decodeIfPresent(String.self, forKey: .modelType) ?? "t5"
        modelDimension = try required(.modelDimension)
        keyValueDimension = try required(.keyValueDimension)
        feedForwardDimension = try required(.feedForwardDimension)
        headCount = try required(.headCount)
        encoderLayerCount = try required(.encoderLayerCount)
        decoderLayerCount = try container.decodeIfPresent(Int.self, forKey: .decoderLayerCount)
            ?? encoderLayerCount
        vocabularySize = try required(.vocabularySize)
        relativeAttentionBucketCount = try container.decodeIfPresent(
            Int.self, forKey: .relativeAttentionBucketCount) ?? 32
        relativeAttentionMaxDistance = try container.decodeIfPresent(
            Int.self, forKey: .relativeAttentionMaxDistance) ?? 128
        let feedForwardName = try container.decodeIfPresent(String.self, forKey: .feedForward)
            ?? "relu"
        guard let feedForward = FeedForward(rawValue: feedForwardName) else {
            throw MT5Error.unsupportedConfig(
                key: "feed_forward_proj", value: feedForwardName, file: "config.json",
                allowed: "gated-gelu, relu")
        }
        self.feedForward = feedForward
        layerNormEpsilon = try container.decodeIfPresent(Float.self, forKey: .layerNormEpsilon)
            ?? 1e-6
        tieWordEmbeddings = try container.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
            ?? true
        decoderStartTokenID = try container.decodeIfPresent(
            Int32.self, forKey: .decoderStartTokenID) ?? 0
        endOfSequenceTokenID = try Self.singleTokenID(container, .endOfSequenceTokenID) ?? 1
        padTokenID = try container.decodeIfPresent(Int32.self, forKey: .padTokenID) ?? 0
    }

    /// eos_token_id may be a list in newer configs; PairGen supports exactly one.
    private static func singleTokenID(
        _ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
    ) throws -> Int32? {
        if let single = try? container.decodeIfPresent(Int32.self, forKey: key) { return single }
        guard let list = try container.decodeIfPresent([Int32].self, forKey: key) else {
            return nil
        }
        guard list.count == 1 else {
            throw MT5Error.unsupportedConfig(
                key: key.rawValue, value: "\(list)", file: "config.json",
                allowed: "a single token id")
        }
        return list[0]
    }

    /// Reads and checks config.json; errors name the file and key.
    public static func load(from url: URL) throws -> MT5Config {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw MT5Error.missingFile(path: url.path)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw MT5Error.unreadableFile(path: url.path, reason: "\(error)")
        }
        do {
            let config = try JSONDecoder().decode(MT5Config.self, from: data)
            try config.validate(file: url.path)
            return config
        } catch let error as MT5Error {
            throw error.naming(file: url.path)
        } catch let DecodingError.typeMismatch(_, context),
            let DecodingError.valueNotFound(_, context),
            let DecodingError.dataCorrupted(context)
        {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw MT5Error.malformedFile(
                path: url.path,
                reason: key.isEmpty ? context.debugDescription
                    : "key '\(key)': \(context.debugDescription)")
        }
    }

    /// Rejects values no T5 can have.
    func validate(file: String) throws {
        let positive: [(CodingKeys, Int)] = [
            (.modelDimension, modelDimension), (.keyValueDimension, keyValueDimension),
            (.feedForwardDimension, feedForwardDimension), (.headCount, headCount),
            (.encoderLayerCount, encoderLayerCount), (.decoderLayerCount, decoderLayerCount),
            (.vocabularySize, vocabularySize),
            (.relativeAttentionBucketCount, relativeAttentionBucketCount),
            (.relativeAttentionMaxDistance, relativeAttentionMaxDistance),
        ]
        for (key, value) in positive where value <= 0 {
            throw MT5Error.unsupportedConfig(
                key: key.rawValue, value: "\(value)", file: file, allowed: "a positive integer")
        }
        if relativeAttentionBucketCount < 4 {
            throw MT5Error.unsupportedConfig(
                key: CodingKeys.relativeAttentionBucketCount.rawValue,
                value: "\(relativeAttentionBucketCount)", file: file, allowed: ">= 4")
        }
        for (key, id) in [
            (CodingKeys.decoderStartTokenID, decoderStartTokenID),
            (.endOfSequenceTokenID, endOfSequenceTokenID), (.padTokenID, padTokenID),
        ] where id < 0 || Int(id) >= vocabularySize {
            throw MT5Error.unsupportedConfig(
                key: key.rawValue, value: "\(id)", file: file,
                allowed: "0..<\(vocabularySize) (vocab_size)")
        }
        if !(layerNormEpsilon > 0 && layerNormEpsilon.isFinite) {
            throw MT5Error.unsupportedConfig(
                key: CodingKeys.layerNormEpsilon.rawValue, value: "\(layerNormEpsilon)",
                file: file, allowed: "a positive number")
        }
    }
}

extension MT5Error {
    /// Replaces the placeholder file name "config.json" with the real path.
    func naming(file: String) -> MT5Error {
        switch self {
        case .missingConfigKey(let key, "config.json"):
            return .missingConfigKey(key: key, file: file)
        case .unsupportedConfig(let key, let value, "config.json", let allowed):
            return .unsupportedConfig(key: key, value: value, file: file, allowed: allowed)
        default:
            return self
        }
    }
}
