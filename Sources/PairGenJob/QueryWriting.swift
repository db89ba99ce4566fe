import Corpus
import Foundation
import MT5

/// What the job needs from a query generator; the mT5 core is the real one, tests use a fake.
public protocol QueryWriting: AnyObject {
    /// Identifies the model's weights and configuration.
    var modelFingerprint: String { get }
    /// Identifies the tokenizer.
    var tokenizerFingerprint: String { get }
    /// Queries for each passage text; `seeds[i]` alone decides passage i's random choices.
    func queries(for texts: [String], seeds: [UInt64]) throws -> [[GeneratedQuery]]
    /// Fast mode: from now on queries use only the tokens of the texts that `eachText` hands
    /// to its argument. Returns how many tokens remain, or nil when the writer cannot trim.
    func restrictVocabulary(toTokensOf eachText: ((String) throws -> Void) throws -> Void)
        throws -> Int?
}

extension QueryWriting {
    public func restrictVocabulary(
        toTokensOf eachText: ((String) throws -> Void) throws -> Void
    ) throws -> Int? { nil }
}

/// The mT5 core behind `QueryWriting`.
public final class MT5QueryWriter: QueryWriting {
    /// The mT5 core itself.
    public let generator: QueryGenerator
    private let options: GenerationOptions

    /// Loads the checkpoint in `modelDirectory`; `quantized` gives it the fast mode's 8-bit
    /// weights.
    public init(
        modelDirectory: URL, options: GenerationOptions, threads: Int, quantized: Bool = false
    ) throws {
        generator = try QueryGenerator(
            modelDirectory: modelDirectory, threads: threads, quantized: quantized)
        self.options = options
    }

    public var modelFingerprint: String { generator.modelFingerprint }
    public var tokenizerFingerprint: String { generator.tokenizerFingerprint }

    public func queries(for texts: [String], seeds: [UInt64]) throws -> [[GeneratedQuery]] {
        try generator.generate(passages: texts, options: options, seeds: seeds)
    }

    public func restrictVocabulary(
        toTokensOf eachText: ((String) throws -> Void) throws -> Void
    ) throws -> Int? {
        var tokens = Set<Int32>()
        try eachText { tokens.formUnion(try generator.tokenizer.encodePieces($0)) }
        return generator.restrictOutputVocabulary(toTokens: tokens)
    }
}
