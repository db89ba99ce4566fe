import Foundation

/// Beam search with the semantics of HF transformers' `_beam_search` (transformers 5).
///
/// Each step keeps the 2·num_beams best continuations of all beams by accumulated
/// log-probability. Those that end (end-of-sequence or the length limit) and rank among the
/// first num_beams may enter the finished list with score
///     sum of log-probabilities / (generated tokens) ^ length_penalty;
/// the best num_beams unfinished ones run on. A passage stops when early stopping applies and
/// num_beams hypotheses are finished, when no running beam can beat the worst finished one,
/// or when every continuation hit the limit. Arithmetic is float32 as in HF, including its
/// -1e9 masks, so that ties and orderings agree.
struct BeamSearch {
    let weights: MT5Weights
    let options: GenerationOptions
    let threads: Int
    let vocabulary: OutputVocabulary

    private struct PassageBeams {
        var running: [[Int32]]
        var runningScores: [Float]
        var finished: [[Int32]]
        var finishedScores: [Float]
        var isFinished: [Bool]
        var improvementPossible = true
        var done = false
    }

    func run(passages: [EncodedPassage]) -> [[(tokens: [Int32], score: Double)]] {
        let config = weights.config
        let beams = options.numBeams
        let candidates = 2 * beams
        let scored = vocabulary.count
        let limit = options.newTokenLimit
        let mask: Float = -1.0e9

        var states = passages.map { _ in
            PassageBeams(
                running: Array(repeating: [config.decoderStartTokenID], count: beams),
                runningScores: [0] + Array(repeating: mask, count: beams - 1),
                finished: Array(repeating: [], count: beams),
                finishedScores: Array(repeating: mask, count: beams),
                isFinished: Array(repeating: false, count: beams))
        }
        var active = Array(passages.indices)
        // At the first step all beams of a passage are the same sequence, and beams 1... start
        // 1e9 behind: none of their continuations can rank among the best 2·beams while beam 0
        // has that many, so only beam 0 is computed (HF computes all of them).
        let firstStepAlone = scored >= 2 * candidates
        var rowsPerPassage = firstStepAlone ? 1 : beams
        let state = DecoderState(
            weights: weights, passages: passages,
            rowPassage: active.flatMap { Array(repeating: $0, count: rowsPerPassage) },
            capacity: limit, threads: threads, vocabulary: vocabulary,
            maximumRows: passages.count * beams)
        while !active.isEmpty {
            let tokens = active.flatMap {
                states[$0].running.prefix(rowsPerPassage).map { $0.last! }
            }
            let logits = state.advance(tokens: tokens)
            // Per row: log-softmax, processors, the running score, and the row's best
            // 2·beams continuations, computed for all rows in parallel.
            var rowBest = [[(Float, Int)]](repeating: [], count: tokens.count)
            rowBest.withUnsafeMutableBufferPointer { rowBest in
                parallelFor(tokens.count, threads: threads) { row in
                    let beamState = states[active[row / rowsPerPassage]]
                    let beam = row % rowsPerPassage
                    rowBest[row] = bestContinuations(
                        logits: logits.pointer + row * scored,
                        sequence: beamState.running[beam],
                        runningScore: beamState.runningScores[beam], count: candidates)
                }
            }
            var keptRows: [Int] = []
            for (slot, passage) in active.enumerated() {
                // Best 2·beams continuations over all beams; ties keep the lower flat index.
                var pool: [Continuation] = []
                for beam in 0..<rowsPerPassage {
                    for (score, token) in rowBest[slot * rowsPerPassage + beam] {
                        pool.append(Continuation(score: score, beam: beam, token: token))
                    }
                }
                pool.sort {
                    $0.score != $1.score
                        ? $0.score > $1.score
                        : ($0.beam * scored + $0.token) < ($1.beam * scored + $1.token)
                }
                let sources = advance(&states[passage], top: Array(pool.prefix(candidates)))
                keptRows.append(contentsOf: sources.map { slot * rowsPerPassage + $0 })
            }
            state.reorder(keptRows)
            rowsPerPassage = beams
            active = active.filter { !states[$0].done }
        }

        return states.map { beamState in
            (0..<options.numReturnSequences).map { index in
                (beamState.finished[index], Double(beamState.finishedScores[index]))
            }
        }
    }

    /// A candidate next token of one beam, with its accumulated score.
    private struct Continuation {
        var score: Float
        var beam: Int
        var token: Int
    }

    /// One step of one passage: the running beams and finished hypotheses after its best
    /// 2·beams continuations. Returns, for each new running beam, the beam it extends (empty
    /// when the passage is done).
    private func advance(_ beamState: inout PassageBeams, top: [Continuation]) -> [Int] {
        let beams = options.numBeams
        let mask: Float = -1.0e9
        let currentLength = beamState.running[0].count
        let maxLength = options.newTokenLimit + 1
        let eos = weights.config.endOfSequenceTokenID
        let lengthPenalty = options.lengthPenalty
        let hits = top.map {
            vocabulary.tokenID($0.token) == eos || currentLength + 1 >= maxLength
        }

        // Running beams for the next step: the best unfinished continuations.
        let runningOrder = top.indices.map { index in
            (score: top[index].score + (hits[index] ? mask : 0), index: index)
        }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.index < $1.index }
            .prefix(beams)
        let previousRunning = beamState.running
        func extended(_ candidate: Continuation) -> [Int32] {
            previousRunning[candidate.beam] + [vocabulary.tokenID(candidate.token)]
        }
        beamState.running = runningOrder.map { extended(top[$0.index]) }
        beamState.runningScores = runningOrder.map(\.score)

        // Finished hypotheses: merge the new ones with the kept ones, best first. Only the
        // first num_beams continuations may finish; masks keep the others out.
        let denominator = Float(pow(Double(currentLength), lengthPenalty))
        let batchFull = beamState.isFinished.allSatisfy { $0 } && options.earlyStopping
        var merged: [(score: Float, sequence: [Int32], finished: Bool)] = (0..<beams).map {
            (beamState.finishedScores[$0], beamState.finished[$0], beamState.isFinished[$0])
        }
        for (index, candidate) in top.enumerated() {
            var score = candidate.score / denominator
            if batchFull { score += mask }
            if !beamState.improvementPossible { score += mask }
            let justFinished = hits[index] && index < beams
            if !justFinished { score += mask }
            merged.append((score, extended(candidate), justFinished))
        }
        let best = merged.indices.sorted {
            merged[$0].score != merged[$1].score ? merged[$0].score > merged[$1].score : $0 < $1
        }.prefix(beams)
        beamState.finished = best.map { merged[$0].sequence }
        beamState.finishedScores = best.map { merged[$0].score }
        beamState.isFinished = best.map { merged[$0].finished }

        // Can a running beam still beat the worst finished hypothesis?
        let bestPossible = beamState.runningScores[0] / denominator
        let worstFinished = beamState.finishedScores.min() ?? mask
        let anyImprovement = beamState.isFinished.contains { !$0 }
            ? bestPossible > mask : bestPossible > worstFinished
        beamState.improvementPossible = beamState.improvementPossible && anyImprovement
        let allFinished = beamState.isFinished.allSatisfy { $0 }
        beamState.done = !beamState.improvementPossible
            || (allFinished && options.earlyStopping) || hits.allSatisfy { $0 }
        return beamState.done ? [] : runningOrder.map { top[$0.index].beam }
    }

    /// One beam's best `count` continuations by accumulated score, log-softmax(logits) after
    /// the processors plus the running score, in float32 as HF adds them. Only the chosen
    /// few are normalised: the ranking of a row's raw logits is that of its log-probabilities.
    private func bestContinuations(
        logits: UnsafeMutablePointer<Float>, sequence: [Int32], runningScore: Float, count: Int
    ) -> [(Float, Int)] {
        let scored = vocabulary.count
        let shift = logSoftmaxShift(logits, count: scored)
        applyProcessors(
            logits, sequence: sequence, options: options,
            endOfSequence: weights.config.endOfSequenceTokenID, vocabulary: vocabulary)
        return topEntries(logits, count: scored, k: count).map { logit, token in
            ((logit - shift) + runningScore, token)
        }
    }
}
