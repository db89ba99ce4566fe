import Foundation

/// How queries are decoded, with the meaning of HF transformers' `generate()` arguments.
public struct GenerationOptions: Codable, Equatable, Sendable {
    /// The decoding strategy.
    public enum Decoding: String, Codable, Sendable, CaseIterable {
        case greedy, beam, sample
    }

    /// Greedy, beam search or sampling.
    public var decoding: Decoding = .greedy
    /// Sequences returned per passage (`num_return_sequences`).
    public var numReturnSequences: Int = 1
    /// Beams kept by beam search (`num_beams`).
    public var numBeams: Int = 1
    /// An n-gram may occur only once in a sequence when > 0 (`no_repeat_ngram_size`).
    public var noRepeatNgramSize: Int = 0
    /// Longest output, counting the decoder start token (`max_length`); ignored when
    /// `maxNewTokens` is set.
    public var maxLength: Int = 64
    /// Most tokens generated after the decoder start token (`max_new_tokens`).
    public var maxNewTokens: Int?
    /// Fewest tokens generated before end of sequence may be chosen (`min_new_tokens`).
    public var minNewTokens: Int = 0
    /// Input word pieces kept, end-of-sequence included.
    public var maxInputTokens: Int = 320
    /// Sampling keeps the k most likely tokens (`top_k`; 0 keeps all).
    public var topK: Int = 50
    /// Sampling keeps the smallest set of tokens whose probability reaches p (`top_p`).
    public var topP: Double = 1.0
    /// Sampling divides logits by this (`temperature`).
    public var temperature: Double = 1.0
    /// Beam scores are divided by length ** lengthPenalty (`length_penalty`).
    public var lengthPenalty: Double = 1.0
    /// Beam search stops once enough finished hypotheses exist (`early_stopping=True`).
    public var earlyStopping: Bool = false

    /// Options with HF's defaults: greedy, max_length 64.
    public init() {}

    /// The model card's beam recipe: 5 beams, 5 returned, no repeated bigrams, early stopping.
    public static var modelCardBeam: GenerationOptions {
        var options = GenerationOptions()
        options.decoding = .beam
        options.maxLength = 64
        options.numBeams = 5
        options.noRepeatNgramSize = 2
        options.numReturnSequences = 5
        options.earlyStopping = true
        return options
    }

    /// The model card's sampling recipe: top_p 0.95, top_k 10, 5 returned.
    public static var modelCardSampling: GenerationOptions {
        var options = GenerationOptions()
        options.decoding = .sample
        options.maxLength = 64
        options.topP = 0.95
        options.topK = 10
        options.numReturnSequences = 5
        return options
    }

    /// Checks that values are in range; throws an error naming the option.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ allowed: String, _ value: Any) throws {
            if !ok {
                throw MT5Error.invalidOption(name: name, value: "\(value)", allowed: allowed)
            }
        }
        try check(numReturnSequences >= 1, "num_return_sequences", ">= 1", numReturnSequences)
        try check(numBeams >= 1, "num_beams", ">= 1", numBeams)
        if decoding == .beam {
            try check(numReturnSequences <= numBeams, "num_return_sequences",
                "<= num_beams (\(numBeams))", numReturnSequences)
        }
        if decoding == .sample {
            try check(numBeams == 1, "num_beams", "1 for sampling (beam sampling is not offered)",
                numBeams)
        }
        if decoding == .greedy {
            try check(numReturnSequences == 1, "num_return_sequences", "1 for greedy decoding",
                numReturnSequences)
        }
        try check(noRepeatNgramSize >= 0, "no_repeat_ngram_size", ">= 0", noRepeatNgramSize)
        try check(maxLength >= 1, "max_length", ">= 1", maxLength)
        if let maxNewTokens {
            try check(maxNewTokens >= 1, "max_new_tokens", ">= 1", maxNewTokens)
        }
        try check(minNewTokens >= 0, "min_new_tokens", ">= 0", minNewTokens)
        try check(maxInputTokens >= 1, "max_input_tokens", ">= 1", maxInputTokens)
        try check(topK >= 0, "top_k", ">= 0", topK)
        try check(topP > 0 && topP <= 1, "top_p", "in (0, 1]", topP)
        try check(temperature > 0 && temperature.isFinite, "temperature", "> 0", temperature)
        try check(lengthPenalty.isFinite, "length_penalty", "a finite number", lengthPenalty)
    }

    /// Tokens generated at most after the decoder start token.
    public var newTokenLimit: Int { maxNewTokens ?? (maxLength - 1) }
}

/// One generated query.
public struct GeneratedQuery: Codable, Equatable, Sendable {
    /// The decoded text, special tokens skipped.
    public var text: String
    /// Token ids, beginning with the decoder start token as HF's `sequences` do.
    public var tokenIDs: [Int32]
    /// Beam search: the beam's sequence score; otherwise the summed log-probability.
    public var score: Double

    /// Makes a query.
    public init(text: String, tokenIDs: [Int32], score: Double) {
        self.text = text
        self.tokenIDs = tokenIDs
        self.score = score
    }
}
