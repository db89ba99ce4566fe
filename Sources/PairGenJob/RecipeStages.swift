import Foundation
import MT5

/// How queries are decoded; the keys are HF transformers' `generate()` arguments.
public struct GenerationSettings: Codable, Equatable, Sendable {
    /// "sample", "beam" or "greedy".
    public var decoding: GenerationOptions.Decoding = .sample
    /// Queries written for each passage (`num_return_sequences`).
    public var numQueries: Int = 5
    /// Beams of beam search; at least `num_queries`.
    public var numBeams: Int = 5
    /// Beam search: an n-gram may occur once in a query when > 0.
    public var noRepeatNgramSize: Int = 2
    /// Longest query, counting the decoder start token.
    public var maxLength: Int = 64
    /// Input word pieces kept, end of sequence included.
    public var maxInputTokens: Int = 320
    /// Sampling keeps the k most likely tokens (0 keeps all).
    public var topK: Int = 10
    /// Sampling keeps the smallest set of tokens whose probability reaches p.
    public var topP: Double = 0.95
    /// Sampling divides logits by this.
    public var temperature: Double = 1.0
    /// Beam scores are divided by length ** length_penalty.
    public var lengthPenalty: Double = 1.0
    /// Beam search stops once enough hypotheses are finished.
    public var earlyStopping: Bool = true
    /// The mT5 core's fast mode: 8-bit weights, and queries may use only the word pieces that
    /// occur in the corpus, and only those are scored (vocabulary trimming). Not exact; see
    /// the README.
    public var fast: Bool = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case decoding, numQueries = "num_queries", numBeams = "num_beams"
        case noRepeatNgramSize = "no_repeat_ngram_size", maxLength = "max_length"
        case maxInputTokens = "max_input_tokens", topK = "top_k", topP = "top_p", temperature
        case lengthPenalty = "length_penalty", earlyStopping = "early_stopping", fast
    }

    /// The model card's sampling recipe: top_p 0.95, top_k 10, 5 queries, max_length 64.
    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let name = try container.decodeIfPresent(String.self, forKey: .decoding) {
            guard let value = GenerationOptions.Decoding(rawValue: name) else {
                throw JobError.invalidRecipeValue(key: "generation.decoding", value: name,
                    allowed: "sample, beam or greedy")
            }
            decoding = value
        }
        numQueries = try container.value(.numQueries, numQueries)
        numBeams = try container.value(.numBeams, numBeams)
        noRepeatNgramSize = try container.value(.noRepeatNgramSize, noRepeatNgramSize)
        maxLength = try container.value(.maxLength, maxLength)
        maxInputTokens = try container.value(.maxInputTokens, maxInputTokens)
        topK = try container.value(.topK, topK)
        topP = try container.value(.topP, topP)
        temperature = try container.value(.temperature, temperature)
        lengthPenalty = try container.value(.lengthPenalty, lengthPenalty)
        earlyStopping = try container.value(.earlyStopping, earlyStopping)
        fast = try container.value(.fast, fast)
    }

    /// The mT5 core's options for these settings.
    public var options: GenerationOptions {
        var options = GenerationOptions()
        options.decoding = decoding
        options.numReturnSequences = numQueries
        options.maxLength = maxLength
        options.maxInputTokens = maxInputTokens
        switch decoding {
        case .beam:
            options.numBeams = max(numBeams, numQueries)
            options.noRepeatNgramSize = noRepeatNgramSize
            options.lengthPenalty = lengthPenalty
            options.earlyStopping = earlyStopping
        case .sample:
            options.topK = topK
            options.topP = topP
            options.temperature = temperature
        case .greedy:
            break
        }
        return options
    }

    func validate(_ check: RecipeCheck) throws {
        try check(numQueries >= 1, "generation.num_queries", numQueries, ">= 1")
        if decoding == .greedy {
            try check(numQueries == 1, "generation.num_queries", numQueries, "1 for greedy")
        }
        // Upper bounds keep a typo from asking for terabytes of cache, as `generate` does.
        try check((1...1000).contains(numQueries), "generation.num_queries", numQueries,
            "1...1000")
        try check((1...1000).contains(numBeams), "generation.num_beams", numBeams, "1...1000")
        if decoding == .beam {
            try check(numBeams >= numQueries, "generation.num_beams", numBeams,
                ">= num_queries (\(numQueries)) for beam search")
        }
        try check((2...4096).contains(maxLength), "generation.max_length", maxLength, "2...4096")
        try check((2...65536).contains(maxInputTokens), "generation.max_input_tokens",
            maxInputTokens, "2...65536")
        try check((0...64).contains(noRepeatNgramSize), "generation.no_repeat_ngram_size",
            noRepeatNgramSize, "0...64")
        try check(topK >= 0, "generation.top_k", topK, ">= 0")
        try check(topP > 0 && topP <= 1, "generation.top_p", topP, "(0, 1]")
        try check(temperature > 0 && temperature.isFinite, "generation.temperature",
            temperature, "> 0")
        try check(lengthPenalty.isFinite, "generation.length_penalty", lengthPenalty, "finite")
    }
}

/// Which generated queries are kept.
public struct FilterSettings: Codable, Equatable, Sendable {
    /// Queries with fewer characters (after trimming) are dropped; 1 drops only empty ones.
    public var minQueryChars: Int = 1
    /// Drop a query equal to an earlier query of the same passage.
    public var dedupWithinPassage: Bool = true
    /// Drop a query equal to a query already written for another passage.
    public var dedupAcrossJob: Bool = true
    /// Drop a query that copies the passage (see `copyMinWords`).
    public var dropCopies: Bool = true
    /// A query of at least this many words found verbatim in the passage is a copy; a query
    /// equal to the whole title or text always is.
    public var copyMinWords: Int = 6
    /// Keep a query only when BM25 ranks its own passage within this many; nil turns it off.
    public var roundTripTopK: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case minQueryChars = "min_query_chars", dedupWithinPassage = "dedup_within_passage"
        case dedupAcrossJob = "dedup_across_job", dropCopies = "drop_copies"
        case copyMinWords = "copy_min_words", roundTripTopK = "round_trip_top_k"
    }

    /// Empty, duplicate and copied queries dropped; no round-trip filter.
    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        minQueryChars = try container.value(.minQueryChars, minQueryChars)
        dedupWithinPassage = try container.value(.dedupWithinPassage, dedupWithinPassage)
        dedupAcrossJob = try container.value(.dedupAcrossJob, dedupAcrossJob)
        dropCopies = try container.value(.dropCopies, dropCopies)
        copyMinWords = try container.value(.copyMinWords, copyMinWords)
        roundTripTopK = try container.decodeIfPresent(Int.self, forKey: .roundTripTopK)
    }

    func validate(_ check: RecipeCheck) throws {
        try check(minQueryChars >= 1, "filters.min_query_chars", minQueryChars, ">= 1")
        try check(copyMinWords >= 1, "filters.copy_min_words", copyMinWords, ">= 1")
        if let roundTripTopK {
            try check(roundTripTopK >= 1, "filters.round_trip_top_k", roundTripTopK, ">= 1")
        }
    }
}

/// How BM25 hard negatives are mined.
public struct MiningSettings: Codable, Equatable, Sendable {
    /// The analyzer's language (a Snowball stemmer name or code, e.g. "pt", "en").
    public var language: String = "pt"
    /// Remove the language's stopwords.
    public var removeStopwords: Bool = true
    /// Stem words with Snowball.
    public var stem: Bool = true
    /// Fold accents (ação -> acao).
    public var foldAccents: Bool = false
    /// BM25 k1.
    public var k1: Double = 1.2
    /// BM25 b.
    public var b: Double = 0.75
    /// Negatives written with each pair; a query with fewer candidates is dropped.
    public var numNegatives: Int = 3
    /// First allowed rank among the candidates (1-based, positives excluded).
    public var rangeMin: Int = 3
    /// Last allowed rank among the candidates.
    public var rangeMax: Int = 30
    /// Take the best-ranked candidates or a seeded random choice.
    public var strategy: MiningStrategy = .random
    /// Skip candidates scoring above this (a false-negative guard); nil turns it off.
    public var maxScore: Double?
    /// Skip candidates scoring at least (1 - margin) x the positive's score; nil turns it off.
    public var margin: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case language, removeStopwords = "remove_stopwords", stem, foldAccents = "fold_accents"
        case k1, b, numNegatives = "num_negatives", rangeMin = "range_min"
        case rangeMax = "range_max", strategy, maxScore = "max_score", margin
    }

    /// Portuguese, 3 random negatives from ranks 3 to 30, no guard.
    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        language = try container.value(.language, language)
        removeStopwords = try container.value(.removeStopwords, removeStopwords)
        stem = try container.value(.stem, stem)
        foldAccents = try container.value(.foldAccents, foldAccents)
        k1 = try container.value(.k1, k1)
        b = try container.value(.b, b)
        numNegatives = try container.value(.numNegatives, numNegatives)
        rangeMin = try container.value(.rangeMin, rangeMin)
        rangeMax = try container.value(.rangeMax, rangeMax)
        if let name = try container.decodeIfPresent(String.self, forKey: .strategy) {
            guard let value = MiningStrategy(rawValue: name) else {
                throw JobError.invalidRecipeValue(key: "mining.strategy", value: name,
                    allowed: "top or random")
            }
            strategy = value
        }
        maxScore = try container.decodeIfPresent(Double.self, forKey: .maxScore)
        margin = try container.decodeIfPresent(Double.self, forKey: .margin)
    }

    func validate(_ check: RecipeCheck) throws {
        try check((1...1000).contains(numNegatives), "mining.num_negatives", numNegatives,
            "1...1000")
        try check((1...1_000_000).contains(rangeMin), "mining.range_min", rangeMin,
            "1...1000000")
        try check(rangeMax <= 1_000_000, "mining.range_max", rangeMax, "<= 1000000")
        try check(rangeMax >= rangeMin + numNegatives - 1, "mining.range_max", rangeMax,
            ">= range_min + num_negatives - 1")
        try check(k1.isFinite && k1 >= 0, "mining.k1", k1, "finite and >= 0")
        try check(b >= 0 && b <= 1, "mining.b", b, "0...1")
        if let margin { try check(margin >= 0 && margin < 1, "mining.margin", margin, "[0, 1)") }
        if let maxScore { try check(maxScore.isFinite, "mining.max_score", maxScore, "finite") }
    }
}
