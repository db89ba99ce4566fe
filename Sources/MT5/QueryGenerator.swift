import Foundation

/// Loads an mT5 / T5 v1.1 checkpoint directory and writes queries for passages.
///
/// The directory holds config.json, spiece.model and model.safetensors (or its sharded index, or
/// pytorch_model.bin), as a Hugging Face snapshot does.
public final class QueryGenerator: @unchecked Sendable {
    /// The checkpoint directory.
    public let modelDirectory: URL
    /// Identifies config and weights: a changed checkpoint changes it.
    public let modelFingerprint: String
    /// The SHA-256 of spiece.model.
    public let tokenizerFingerprint: String

    /// Loads config, tokenizer and weights (memory-mapped); `threads` bounds BLAS and our loops.
    public init(modelDirectory: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount)
        throws
    {
        self.modelDirectory = modelDirectory
        throw MT5Error.missingFile(path: modelDirectory.path + " (loader not written yet)")
    }

    /// Generates queries for each passage; `seeds[i]` drives sampling for passage i, so a
    /// passage's queries do not depend on what it is batched with.
    public func generate(passages: [String], options: GenerationOptions, seeds: [UInt64])
        throws -> [[GeneratedQuery]]
    {
        []
    }
}
