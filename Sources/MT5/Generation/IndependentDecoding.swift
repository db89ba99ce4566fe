import Foundation

/// Greedy decoding and sampling (HF transformers' `_sample`): every sequence runs on its own
/// row until it emits end-of-sequence or reaches the length limit; finished rows leave the
/// batch so that later steps cost less.
struct IndependentDecoding {
    let weights: MT5Weights
    let options: GenerationOptions

    /// `seeds[p]` drives the samples of passage p; sequence j of a passage draws from its own
    /// stream, so batching never changes a passage's queries.
    func run(passages: [EncodedPassage], seeds: [UInt64]) -> [[(tokens: [Int32], score: Double)]] {
        let config = weights.config
        let perPassage = options.decoding == .greedy ? 1 : options.numReturnSequences
        let limit = options.newTokenLimit
        let vocabulary = config.vocabularySize
        let eos = config.endOfSequenceTokenID

        var sequences: [[Int32]] = []
        var scores: [Double] = []
        var randoms: [SeededRandom] = []
        var rowPassage: [Int] = []
        for (passage, seed) in seeds.enumerated() {
            for sequence in 0..<perPassage {
                sequences.append([config.decoderStartTokenID])
                scores.append(0)
                randoms.append(SeededRandom(seed: seed, stream: UInt64(sequence)))
                rowPassage.append(passage)
            }
        }
        // live[i] is the index into `sequences` of decoder row i.
        var live = Array(sequences.indices)
        let state = DecoderState(
            weights: weights, passages: passages, rowPassage: rowPassage, capacity: limit)
        let logProbabilities = FloatBuffer(count: vocabulary)

        while !live.isEmpty && state.step < limit {
            let logits = state.advance(tokens: live.map { sequences[$0].last! })
            var keep: [Int] = []
            for (row, index) in live.enumerated() {
                let scoresRow = logits.pointer + row * vocabulary
                if options.noRepeatNgramSize > 0 {
                    banRepeatedNgrams(
                        sequence: sequences[index], size: options.noRepeatNgramSize,
                        scores: scoresRow)
                }
                enforceMinimumNewTokens(
                    sequenceLength: sequences[index].count, minimum: options.minNewTokens,
                    endOfSequence: eos, scores: scoresRow)
                let token: Int
                if options.decoding == .greedy {
                    token = topEntries(scoresRow, count: vocabulary, k: 1)[0].1
                } else {
                    warpForSampling(
                        scoresRow, count: vocabulary, temperature: options.temperature,
                        topK: options.topK, topP: options.topP)
                    logProbabilities.pointer.update(from: scoresRow, count: vocabulary)
                    softmaxInPlace(logProbabilities.pointer, count: vocabulary)
                    token = drawIndex(
                        probabilities: logProbabilities.pointer, count: vocabulary,
                        random: &randoms[index])
                }
                // The score is the log-probability under the distribution the token was
                // chosen from (after processors and warpers), as HF's transition scores are.
                logSoftmax(scoresRow, count: vocabulary, into: logProbabilities.pointer)
                scores[index] += Double(logProbabilities.pointer[token])
                sequences[index].append(Int32(token))
                if Int32(token) != eos && sequences[index].count < limit + 1 {
                    keep.append(row)
                }
            }
            state.reorder(keep)
            live = keep.map { live[$0] }
        }

        var results: [[(tokens: [Int32], score: Double)]] = Array(
            repeating: [], count: passages.count)
        for (index, passage) in rowPassage.enumerated() {
            results[passage].append((sequences[index], scores[index]))
        }
        return results
    }
}
