import Foundation

// HF transformers' logits processors (generation/logits_process.py), applied in the order its
// generate() applies them: no_repeat_ngram_size, min_new_tokens, then for sampling the
// warpers temperature, top-k and top-p.

/// Bans every token that would complete an n-gram already present in `sequence` (which
/// starts with the decoder start token, as HF's decoder input does). Returns how many bans it
/// made (a token banned twice counts twice).
@discardableResult
func banRepeatedNgrams(
    sequence: [Int32], size: Int, scores: UnsafeMutablePointer<Float>,
    vocabulary: OutputVocabulary
) -> Int {
    guard size > 0, sequence.count >= size else { return 0 }
    var bans = 0
    let prefixStart = sequence.count - (size - 1)
    // Each earlier window whose first n−1 tokens equal the current suffix bans its last token.
    for windowStart in 0...(sequence.count - size) {
        var matches = true
        for offset in 0..<(size - 1)
        where sequence[windowStart + offset] != sequence[prefixStart + offset] {
            matches = false
            break
        }
        if matches, let banned = vocabulary.index(of: sequence[windowStart + size - 1]) {
            scores[banned] = -.infinity
            bans += 1
        }
    }
    return bans
}

/// Forbids end-of-sequence until `minimum` tokens follow the decoder start token.
func enforceMinimumNewTokens(
    sequenceLength: Int, minimum: Int, endOfSequence: Int32, scores: UnsafeMutablePointer<Float>,
    vocabulary: OutputVocabulary
) {
    if sequenceLength - 1 < minimum, let index = vocabulary.index(of: endOfSequence) {
        scores[index] = -.infinity
    }
}

/// The processors every decoding mode applies, in HF's order: no_repeat_ngram_size, then
/// min_new_tokens.
///
/// When they ban every token (possible only with a small trimmed vocabulary), end-of-sequence
/// gets its score back: the query ends there rather than continue with a token of no
/// probability (HF's sampling fails on such a row, and its greedy search picks token 0).
func applyProcessors(
    _ scores: UnsafeMutablePointer<Float>, sequence: [Int32], options: GenerationOptions,
    endOfSequence: Int32, vocabulary: OutputVocabulary
) {
    let end = vocabulary.index(of: endOfSequence)
    let endScore = end.map { scores[$0] }
    var bans = 1
    if options.noRepeatNgramSize > 0 {
        bans += banRepeatedNgrams(
            sequence: sequence, size: options.noRepeatNgramSize, scores: scores,
            vocabulary: vocabulary)
    }
    enforceMinimumNewTokens(
        sequenceLength: sequence.count, minimum: options.minNewTokens,
        endOfSequence: endOfSequence, scores: scores, vocabulary: vocabulary)
    // Only when the bans could cover the vocabulary is the row searched for a live token.
    guard bans >= vocabulary.count, let end, let endScore else { return }
    for index in 0..<vocabulary.count where scores[index] > -.infinity { return }
    scores[end] = endScore
}

/// Sampling warpers over one row of logits, in place: temperature, then top-k (ties with the
/// k-th value are kept), then top-p (the smallest high-probability set reaching p, found on
/// the ascending sort as HF does). Returns the surviving token ids in ascending order; the
/// scores of other tokens are left as they were, so callers read only the survivors.
func samplingCandidates(
    _ scores: UnsafeMutablePointer<Float>, count: Int, temperature: Double, topK: Int,
    topP: Double
) -> [Int] {
    if temperature != 1.0 {
        let divisor = Float(temperature)
        for i in 0..<count { scores[i] /= divisor }
    }
    var kept: [Int] = []
    if topK > 0 && topK < count {
        let threshold = kthLargest(scores, count: count, k: topK)
        for i in 0..<count where scores[i] >= threshold && scores[i] > -.infinity {
            kept.append(i)
        }
    } else {
        kept.reserveCapacity(count)
        for i in 0..<count where scores[i] > -.infinity { kept.append(i) }
    }
    guard topP < 1.0, kept.count > 1 else { return kept }

    // Ascending by score; equal scores keep id order.
    let ascending = kept.sorted {
        scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1
    }
    let maximum = scores[ascending[ascending.count - 1]]
    var exponentials = [Float](repeating: 0, count: ascending.count)
    var total = 0.0
    for (position, i) in ascending.enumerated() {
        exponentials[position] = expf(scores[i] - maximum)
        total += Double(exponentials[position])
    }
    let limit = Float(1 - topP)
    var cumulative: Float = 0
    var removed = Set<Int>()
    for (position, i) in ascending.enumerated() {
        cumulative += Float(Double(exponentials[position]) / total)
        // The most likely token always stays.
        if cumulative <= limit && position < ascending.count - 1 { removed.insert(i) }
    }
    return removed.isEmpty ? kept : kept.filter { !removed.contains($0) }
}

/// The warpers of `samplingCandidates` with removed tokens set to -infinity, as HF leaves
/// them.
func warpForSampling(
    _ scores: UnsafeMutablePointer<Float>, count: Int, temperature: Double, topK: Int,
    topP: Double
) {
    let kept = samplingCandidates(
        scores, count: count, temperature: temperature, topK: topK, topP: topP)
    var next = 0
    for i in 0..<count {
        if next < kept.count && kept[next] == i {
            next += 1
        } else {
            scores[i] = -.infinity
        }
    }
}

/// Draws one of `candidates` (ascending ids) with probability softmax(scores) over them,
/// summing in id order in double precision so that the draw is the same everywhere. Returns
/// the token and its log-probability.
func drawToken(
    scores: UnsafePointer<Float>, candidates: [Int], random: inout SeededRandom
) -> (token: Int, logProbability: Double) {
    var maximum = -Float.infinity
    for i in candidates where scores[i] > maximum { maximum = scores[i] }
    var total = 0.0
    for i in candidates { total += Double(expf(scores[i] - maximum)) }
    let target = random.nextUnit() * total
    var cumulative = 0.0
    var chosen = candidates[candidates.count - 1]
    for i in candidates {
        cumulative += Double(expf(scores[i] - maximum))
        if cumulative > target {
            chosen = i
            break
        }
    }
    return (chosen, Double(scores[chosen] - maximum) - log(total))
}

/// The k-th largest value of a row (k ≥ 1).
func kthLargest(_ scores: UnsafePointer<Float>, count: Int, k: Int) -> Float {
    var top = [Float](repeating: -.infinity, count: k)  // descending
    for i in 0..<count {
        let value = scores[i]
        guard value > top[k - 1] else { continue }
        var position = k - 1
        while position > 0 && top[position - 1] < value {
            top[position] = top[position - 1]
            position -= 1
        }
        top[position] = value
    }
    return top[k - 1]
}

/// The `k` best (value, index) pairs of a row, best first; equal values keep index order.
func topEntries(_ scores: UnsafePointer<Float>, count: Int, k: Int) -> [(Float, Int)] {
    var top: [(Float, Int)] = []
    top.reserveCapacity(k + 1)
    for i in 0..<count {
        let value = scores[i]
        if top.count == k, let last = top.last, !(value > last.0) { continue }
        var position = top.count
        while position > 0 && top[position - 1].0 < value { position -= 1 }
        top.insert((value, i), at: position)
        if top.count > k { top.removeLast() }
    }
    return top
}
