import Corpus
import Foundation

/// Loads an mT5 / T5 v1.1 checkpoint directory and writes queries for passages.
///
/// The directory holds config.json, spiece.model and model.safetensors (or its sharded index,
/// or pytorch_model.bin), as a Hugging Face snapshot does.
public final class QueryGenerator: @unchecked Sendable {
    /// The checkpoint directory.
    public let modelDirectory: URL
    /// The architecture read from config.json.
    public let config: MT5Config
    /// The checkpoint's tokenizer.
    public let tokenizer: Tokenizer
    /// Identifies config and weights: a changed checkpoint changes it.
    public let modelFingerprint: String
    /// The SHA-256 of spiece.model.
    public let tokenizerFingerprint: String
    let weights: MT5Weights
    private let encoder: Encoder
    private let threads: Int
    private var outputVocabulary: OutputVocabulary

    /// Whether the linear layers run on 8-bit weights (the fast mode).
    public var quantized: Bool { weights.quantized }

    /// Loads config, tokenizer and weights (memory-mapped); `threads` bounds compute threads.
    /// `quantized` turns on the fast mode's 8-bit weights: every linear layer then quantizes
    /// its weights per output feature and its inputs per row, and multiplies in integers.
    /// Queries are no longer exactly HF transformers' (see `pairgen bench fast`).
    public init(
        modelDirectory: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        quantized: Bool = false
    ) throws {
        self.modelDirectory = modelDirectory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelDirectory.path,
            isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw MT5Error.missingFile(path: modelDirectory.path + " (model directory)")
        }
        let configURL = modelDirectory.appendingPathComponent("config.json")
        config = try MT5Config.load(from: configURL)
        let tokenizerURL = modelDirectory.appendingPathComponent("spiece.model")
        tokenizer = try Tokenizer(
            modelFile: tokenizerURL, endOfSequenceID: config.endOfSequenceTokenID,
            padID: config.padTokenID)
        let store = try WeightStore(directory: modelDirectory)
        weights = try MT5Weights(config: config, store: store, quantized: quantized)
        encoder = Encoder(weights: weights, threads: max(1, threads))
        modelFingerprint = try Self.fingerprint(config: configURL, weightFiles: store.files)
        tokenizerFingerprint = try SHA256Hasher.hex(ofFileAt: tokenizerURL)
        self.threads = max(1, threads)
        outputVocabulary = OutputVocabulary(weights: weights)
        useSingleThreadedBLAS()
    }

    /// Generates queries for each passage; `seeds[i]` drives sampling for passage i, so a
    /// passage's queries do not depend on what it is batched with.
    public func generate(passages: [String], options: GenerationOptions, seeds: [UInt64])
        throws -> [[GeneratedQuery]]
    {
        try options.validate()
        guard seeds.count == passages.count else {
            throw MT5Error.invalidOption(
                name: "seeds", value: "\(seeds.count) seeds",
                allowed: "one per passage (\(passages.count))")
        }
        let inputs = try passages.map { passage in
            try tokenizer.encode(passage, maxTokens: options.maxInputTokens)
        }
        // With at least as many passages as threads, each thread can take its own share of
        // the batch: then no thread waits for another inside a layer, which splitting every
        // product between threads cannot avoid. A passage's queries are the same either way.
        // The decoder is split so only when its vocabulary projection is small (trimmed or
        // 8-bit): otherwise every thread would stream the whole projection each step.
        // OpenBLAS, used where AVX2 is missing, rounds a row by its batch: there the split
        // would make queries depend on the thread count.
        let rowIndependent = LinearWeight.packs || weights.quantized
        let groups = passages.count >= threads && rowIndependent ? threads : 1
        let splitsDecoder = groups > 1
            && outputVocabulary.head.weightBytes <= Self.largestSplitProjection
        let encoded = inGroups(inputs, groups) { part, threads in
            Encoder(weights: weights, threads: threads).encode(batch: part)
        }
        let raw = inGroups(Array(zip(encoded, seeds)), splitsDecoder ? groups : 1) {
            part, threads in
            decode(part.map(\.0), seeds: part.map(\.1), options: options, threads: threads)
        }
        return raw.map { sequences in
            sequences.map { sequence in
                GeneratedQuery(
                    text: tokenizer.decode(Array(sequence.tokens.dropFirst())),
                    tokenIDs: sequence.tokens, score: sequence.score)
            }
        }
    }

    /// Above this size (bytes of weights) the vocabulary projection is split between threads
    /// rather than each thread reading it whole for its own passages.
    static let largestSplitProjection = 256 << 20

    /// `body` over the items, in `groups` consecutive parts run at once with one thread each,
    /// or all together on every thread when `groups` is 1; the results in item order. (The
    /// parts run as pool tasks, which must not use the pool: with one thread, `body`'s own
    /// parallel sections run inline.)
    private func inGroups<Item, Result>(
        _ items: [Item], _ groups: Int, _ body: ([Item], Int) -> [Result]
    ) -> [Result] {
        guard groups > 1 else { return body(items, threads) }
        var parts = [[Result]](repeating: [], count: groups)
        parts.withUnsafeMutableBufferPointer { parts in
            parallelTasks(groups, threads: groups) { group in
                let range = (items.count * group / groups)..<(items.count * (group + 1) / groups)
                parts[group] = body(Array(items[range]), 1)
            }
        }
        return parts.flatMap { $0 }
    }

    /// Decodes encoded passages on `threads` threads.
    private func decode(
        _ encoded: [EncodedPassage], seeds: [UInt64], options: GenerationOptions, threads: Int
    ) -> [[(tokens: [Int32], score: Double)]] {
        switch options.decoding {
        case .beam:
            return BeamSearch(
                weights: weights, options: options, threads: threads,
                vocabulary: outputVocabulary
            ).run(passages: encoded)
        case .greedy, .sample:
            return IndependentDecoding(
                weights: weights, options: options, threads: threads,
                vocabulary: outputVocabulary
            ).run(passages: encoded, seeds: seeds)
        }
    }

    /// Fast mode's vocabulary trimming: from now on only the tokens that occur in `texts`
    /// (as the tokenizer splits them) and the special tokens can be generated, and only their
    /// scores are computed. Returns how many tokens remain. Not thread-safe: call it before
    /// generating.
    @discardableResult
    public func restrictOutputVocabulary(toTokensOf texts: [String]) throws -> Int {
        var tokens = Set<Int32>()
        for text in texts { tokens.formUnion(try tokenizer.encodePieces(text)) }
        return restrictOutputVocabulary(toTokens: tokens)
    }

    /// Vocabulary trimming to the given token ids (plus the special tokens); returns how many
    /// tokens remain. Not thread-safe: call it before generating.
    @discardableResult
    public func restrictOutputVocabulary(toTokens tokens: Set<Int32>) -> Int {
        outputVocabulary = OutputVocabulary(weights: weights, tokens: tokens)
        return outputVocabulary.count
    }

    /// Exact mode again: every token of the vocabulary is scored.
    public func useFullOutputVocabulary() {
        outputVocabulary = OutputVocabulary(weights: weights)
    }

    /// A warning when the vocabulary has far more rows than spiece.model has pieces (mT5 has
    /// 12 more, T5 128): ids past the tokenizer decode to nothing, so queries may come out
    /// empty. Nil when tokenizer and model fit.
    public var tokenizerMismatchWarning: String? {
        let missing = config.vocabularySize - tokenizer.pieceCount
        guard missing > 1000 else { return nil }
        return "\(tokenizer.path) has \(tokenizer.pieceCount) pieces but the model has "
            + "\(config.vocabularySize) vocabulary rows: tokens past the tokenizer decode to "
            + "nothing (is this the checkpoint's own spiece.model?)"
    }

    /// Tokens scored at each decoder step.
    public var outputVocabularySize: Int { outputVocabulary.count }

    var currentOutputVocabulary: OutputVocabulary { outputVocabulary }
    var computeThreads: Int { threads }

    /// The encoder's view of input ids, for tests and tools that check the model itself.
    func encode(inputIDs: [Int32]) -> EncodedPassage { encoder.encode(inputIDs) }

    /// Next-token logits after feeding `decoderIDs` (starting with the decoder start token),
    /// [vocab].
    func nextTokenLogits(inputIDs: [Int32], decoderIDs: [Int32]) -> [Float] {
        let passage = encoder.encode(inputIDs)
        let state = DecoderState(
            weights: weights, passages: [passage], rowPassage: [0], capacity: decoderIDs.count,
            threads: threads, vocabulary: OutputVocabulary(weights: weights))
        var logits = FloatBuffer(count: 0)
        for token in decoderIDs { logits = state.advance(tokens: [token]) }
        return Array(UnsafeBufferPointer(start: logits.pointer, count: config.vocabularySize))
    }

    /// The version of the engine's arithmetic and decoding: raised whenever the same
    /// checkpoint and seed could give different queries, so that a run is never resumed
    /// across such a change.
    public static let engineVersion = "pairgen-mt5-3"

    /// Hash of the engine version, config.json and, per weight file, its name, size and first
    /// and last MiB: enough to tell checkpoints apart without reading gigabytes.
    static func fingerprint(config: URL, weightFiles: [URL]) throws -> String {
        var hasher = SHA256Hasher()
        hasher.update(engineVersion)
        hasher.update(try Data(contentsOf: config))
        for file in weightFiles {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            hasher.update("\(file.lastPathComponent):\(size)")
            try handle.seek(toOffset: 0)
            hasher.update(try handle.read(upToCount: 1 << 20) ?? Data())
            if size > 1 << 20 {
                try handle.seek(toOffset: size - (1 << 20))
                hasher.update(try handle.read(upToCount: 1 << 20) ?? Data())
            }
        }
        return hasher.finalizeHex()
    }
}
