import Foundation

/// Greedy decoding and sampling (HF transformers' `_sample`): every sequence runs on its own
/// row until it emits end-of-sequence or reaches the length limit; finished rows leave the
/// batch so that later steps cost less.
struct IndependentDecoding {
    let weights: MT5Weights
    let options: GenerationOptions
    let threads: Int
    let vocabulary: OutputVocabulary

    /// `seeds[p]` drives the samples of passage p; sequence j of a passage draws from its own
    /// stream, so batching never changes a passage's queries.
    func run(passages: [EncodedPassage], seeds: [UInt64]) -> [[(tokens: [Int32], score: Double)]] {
        let config = weights.config
        let perPassage = options.decoding == .greedy ? 1 : options.numReturnSequences
        let limit = options.newTokenLimit
        let scored = vocabulary.count
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
            weights: weights, passages: passages, rowPassage: rowPassage, capacity: limit,
            threads: threads, vocabulary: vocabulary)
        var chosen = [(token: Int, logProbability: Double)](
            repeating: (0, 0), count: sequences.count)

        while !live.isEmpty && state.step < limit {
            let logits = state.advance(tokens: live.map { sequences[$0].last! })
            chosen.withUnsafeMutableBufferPointer { chosen in
                randoms.withUnsafeMutableBufferPointer { randoms in
                    parallelFor(live.count, threads: threads) { row in
                        let index = live[row]
                        chosen[row] = choose(
                            scores: logits.pointer + row * scored,
                            sequence: sequences[index], random: &randoms[index])
                    }
                }
            }
            var keep: [Int] = []
            for (row, index) in live.enumerated() {
                // The score is the log-probability under the distribution the token was
                // chosen from (after processors and warpers), as HF's transition scores are.
                let token = vocabulary.tokenID(chosen[row].token)
                scores[index] += chosen[row].logProbability
                sequences[index].append(token)
                if token != eos && sequences[index].count < limit + 1 {
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

    /// Applies the processors (and for sampling the warpers) to one row of logits in place and
    /// picks its next token's scored position.
    private func choose(
        scores: UnsafeMutablePointer<Float>, sequence: [Int32], random: inout SeededRandom
    ) -> (token: Int, logProbability: Double) {
        let scored = vocabulary.count
        applyProcessors(
            scores, sequence: sequence, options: options,
            endOfSequence: weights.config.endOfSequenceTokenID, vocabulary: vocabulary)
        if options.decoding == .greedy {
            let token = topEntries(scores, count: scored, k: 1)[0].1
            return (token, Double(scores[token]) - logSumExp(scores, count: scored))
        }
        let candidates = samplingCandidates(
            scores, count: scored, temperature: options.temperature, topK: options.topK,
            topP: options.topP)
        return drawToken(scores: scores, candidates: candidates, random: &random)
    }
}
