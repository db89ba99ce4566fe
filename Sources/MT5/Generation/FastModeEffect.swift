import Foundation

/// How far the fast mode (a trimmed vocabulary, 8-bit weights, or both) moves the model's
/// next-token distribution from the exact one.
public struct FastModeEffect: Sendable {
    /// Decoder steps compared.
    public var steps = 0
    /// Steps where the exact greedy token is outside the trimmed vocabulary.
    public var stepsWithTokenMissing = 0
    /// Mean and largest |log p_exact(token) − log p_fast(token)| of the exact greedy token.
    public var meanLogProbabilityError = 0.0
    public var maxLogProbabilityError = 0.0
    /// Mean share of the exact top 10 tokens that are also the fast top 10.
    public var meanTop10Agreement = 0.0

    /// No steps compared yet.
    public init() {}

    /// Adds another passage's figures.
    public mutating func merge(_ other: FastModeEffect) {
        let total = steps + other.steps
        guard total > 0 else { return }
        let kept = steps - stepsWithTokenMissing
        let otherKept = other.steps - other.stepsWithTokenMissing
        if kept + otherKept > 0 {
            meanLogProbabilityError = (meanLogProbabilityError * Double(kept)
                + other.meanLogProbabilityError * Double(otherKept)) / Double(kept + otherKept)
        }
        meanTop10Agreement = (meanTop10Agreement * Double(steps)
            + other.meanTop10Agreement * Double(other.steps)) / Double(total)
        maxLogProbabilityError = max(maxLogProbabilityError, other.maxLogProbabilityError)
        stepsWithTokenMissing += other.stepsWithTokenMissing
        steps = total
    }
}

extension QueryGenerator {
    /// Follows this generator's greedy output of a passage over the whole vocabulary for
    /// `steps` steps and compares, at each step, its distribution with the one of `fast` (the
    /// same checkpoint with 8-bit weights or a trimmed vocabulary): fast's encoder, weights
    /// and current vocabulary, fed the same tokens.
    public func fastModeEffect(
        of fast: QueryGenerator, passage: String, steps: Int, maxInputTokens: Int
    ) throws -> FastModeEffect {
        let full = OutputVocabulary(weights: weights)
        let trimmed = fast.currentOutputVocabulary
        let inputIDs = try tokenizer.encode(passage, maxTokens: maxInputTokens)
        let exactState = DecoderState(
            weights: weights, passages: [encode(inputIDs: inputIDs)], rowPassage: [0],
            capacity: steps, threads: computeThreads, vocabulary: full)
        let fastState = DecoderState(
            weights: fast.weights, passages: [fast.encode(inputIDs: inputIDs)], rowPassage: [0],
            capacity: steps, threads: fast.computeThreads, vocabulary: trimmed)
        var effect = FastModeEffect()
        var token = config.decoderStartTokenID
        var errorSum = 0.0
        var agreementSum = 0.0
        for _ in 0..<steps {
            let exact = exactState.advance(tokens: [token])
            let cut = fastState.advance(tokens: [token])
            logSoftmax(exact.pointer, count: full.count, into: exact.pointer)
            logSoftmax(cut.pointer, count: trimmed.count, into: cut.pointer)
            let exactTop = topEntries(exact.pointer, count: full.count, k: 10).map { $0.1 }
            let cutTop = Set(topEntries(cut.pointer, count: trimmed.count, k: 10)
                .map { Int(trimmed.tokenID($0.1)) })
            agreementSum += Double(exactTop.filter { cutTop.contains($0) }.count) / 10
            token = Int32(exactTop[0])
            if let index = trimmed.index(of: token) {
                let error = abs(Double(exact.pointer[Int(token)]) - Double(cut.pointer[index]))
                errorSum += error
                effect.maxLogProbabilityError = max(effect.maxLogProbabilityError, error)
            } else {
                effect.stepsWithTokenMissing += 1
            }
            effect.steps += 1
            if token == config.endOfSequenceTokenID { break }
        }
        let kept = effect.steps - effect.stepsWithTokenMissing
        effect.meanLogProbabilityError = kept > 0 ? errorSum / Double(kept) : 0
        effect.meanTop10Agreement = agreementSum / Double(max(effect.steps, 1))
        return effect
    }
}
