import Foundation
import MT5Kernels
import XCTest
@testable import MT5

/// The fast mode's 8-bit product: its error stays within what rounding weights and inputs
/// allows, its integer sums make every CPU path, thread count and batch give the same bits,
/// and a quantized model still writes sensible queries.
final class QuantizedTests: XCTestCase {
    private var random = SeededRandom(seed: 11, stream: 0)

    private func randomFloats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float(random.nextUnit() * 2 - 1) * scale }
    }

    private func quantizedWeight(_ w: [Float], out: Int, inputs: Int) -> LinearWeight {
        w.withUnsafeBufferPointer {
            LinearWeight($0, outFeatures: out, inFeatures: inputs, quantized: true)
        }
    }

    private func apply(_ weight: LinearWeight, _ x: [Float], rows: Int, threads: Int = 3)
        -> [Float]
    {
        var y = [Float](repeating: .nan, count: rows * weight.outFeatures)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                weight.apply(x.baseAddress!, rows: rows, into: y.baseAddress!, threads: threads)
            }
        }
        return y
    }

    /// Shapes at the edges of every blocking: 6-row blocks, 16-wide panels, groups of 4
    /// inputs (padded), passes of 1024 inputs.
    private let shapes = [(1, 1, 1), (5, 17, 3), (6, 16, 256), (7, 33, 257), (13, 40, 300),
        (2, 250, 64), (8, 20, 1030), (3, 5, 2053)]

    func testErrorStaysWithinTheRoundingBound() {
        for (rows, out, inputs) in shapes {
            // Inputs with an offset and an outlier, as hidden states have.
            var x = randomFloats(rows * inputs).map { $0 + 0.3 }
            x[0] = 9
            let w = randomFloats(out * inputs, scale: 0.2)
            let y = apply(quantizedWeight(w, out: out, inputs: inputs), x, rows: rows)
            for r in 0..<rows {
                let row = x[(r * inputs)..<((r + 1) * inputs)]
                let low = min(0, row.min()!), high = max(0, row.max()!)
                // Rounding moves an input by at most half a step of its row's range / 127,
                // a weight by half a step of its feature's max |w| / 127 (plus float noise).
                let inputStep = Double(high - low) / 127 / 2
                for o in 0..<out {
                    let feature = w[(o * inputs)..<((o + 1) * inputs)]
                    let weightStep = Double(feature.map(abs).max()!) / 127 / 2
                    var exact = 0.0, bound = 0.0
                    for k in 0..<inputs {
                        let a = Double(x[r * inputs + k]), b = Double(w[o * inputs + k])
                        exact += a * b
                        bound += abs(a) * weightStep + (abs(b) + weightStep) * inputStep
                    }
                    let error = abs(Double(y[r * out + o]) - exact)
                    XCTAssertLessThanOrEqual(error, bound * 1.0001 + 1e-5,
                        "rows \(rows) out \(out) in \(inputs) at [\(r), \(o)]")
                }
            }
        }
    }

    func testErrorIsSmallOnTypicalValues() {
        // Rounding errors cancel: on random values the product is far better than the bound.
        let (rows, out, inputs) = (12, 64, 768)
        let x = randomFloats(rows * inputs)
        let w = randomFloats(out * inputs, scale: 0.05)
        let y = apply(quantizedWeight(w, out: out, inputs: inputs), x, rows: rows)
        var squaredError = 0.0, squaredValue = 0.0
        for r in 0..<rows {
            for o in 0..<out {
                var exact = 0.0
                for k in 0..<inputs { exact += Double(x[r * inputs + k] * w[o * inputs + k]) }
                squaredError += pow(Double(y[r * out + o]) - exact, 2)
                squaredValue += exact * exact
            }
        }
        XCTAssertLessThan((squaredError / squaredValue).squareRoot(), 0.02)
    }

    func testEveryPathThreadCountAndBatchGiveTheSameBits() {
        for (rows, out, inputs) in shapes {
            let x = randomFloats(rows * inputs)
            let w = randomFloats(out * inputs)
            let weight = quantizedWeight(w, out: out, inputs: inputs)
            let all = apply(weight, x, rows: rows)
            for threads in [1, 2, 5] {
                XCTAssertEqual(apply(weight, x, rows: rows, threads: threads), all)
            }
            for r in Set([0, rows / 2, rows - 1]) {
                let alone = apply(weight, Array(x[(r * inputs)..<((r + 1) * inputs)]), rows: 1)
                XCTAssertEqual(alone, Array(all[(r * out)..<((r + 1) * out)]), "row \(r)")
            }
            pg_kernels_use_vectorized(0)
            let portable = apply(quantizedWeight(w, out: out, inputs: inputs), x, rows: rows)
            pg_kernels_use_vectorized(1)
            XCTAssertEqual(portable, all, "portable code, \(rows)×\(out)×\(inputs)")
        }
    }

    func testSubsetOfRowsKeepsTheirQuantizedWeights() {
        let (rows, out, inputs) = (7, 45, 70)
        let x = randomFloats(rows * inputs)
        let weight = quantizedWeight(randomFloats(out * inputs), out: out, inputs: inputs)
        let picked = [44, 0, 17, 16, 3]
        let subset = LinearWeight(rows: picked, of: weight)
        XCTAssertTrue(subset.isQuantized)
        let all = apply(weight, x, rows: rows)
        let some = apply(subset, x, rows: rows)
        for r in 0..<rows {
            for (index, o) in picked.enumerated() {
                XCTAssertEqual(some[r * picked.count + index], all[r * out + o])
            }
        }
        // A row read back is q · scale: within half a step of the original.
        var row = [Float](repeating: 0, count: inputs)
        row.withUnsafeMutableBufferPointer { weight.copyRow(3, into: $0.baseAddress!) }
        XCTAssertNotEqual(row, [Float](repeating: 0, count: inputs))
    }

    func testZeroAndConstantRows() {
        let (out, inputs) = (18, 9)
        let w = randomFloats(out * inputs)
        let weight = quantizedWeight(w, out: out, inputs: inputs)
        let zeros = apply(weight, [Float](repeating: 0, count: inputs), rows: 1)
        XCTAssertEqual(zeros, [Float](repeating: 0, count: out))
        let constant = apply(weight, [Float](repeating: -2.5, count: inputs), rows: 1)
        for o in 0..<out {
            let exact = w[(o * inputs)..<((o + 1) * inputs)].reduce(0, +) * -2.5
            XCTAssertEqual(constant[o], exact, accuracy: 0.02 * 2.5 * Float(inputs))
        }
        // An all-zero weight feature.
        let zeroWeight = quantizedWeight([Float](repeating: 0, count: 4 * inputs), out: 4,
            inputs: inputs)
        XCTAssertEqual(apply(zeroWeight, randomFloats(2 * inputs), rows: 2),
            [Float](repeating: 0, count: 8))
    }

    func testDegenerateValuesGiveTheSameBitsOnEveryPath() {
        // Ranges too small to invert, infinities and NaN: defined integers either way.
        let (rows, out, inputs) = (4, 18, 9)
        var w = randomFloats(out * inputs)
        for k in 0..<inputs { w[k] = 1e-38 * Float(k) }
        var x = randomFloats(rows * inputs)
        for k in 0..<inputs { x[k] = 2e-38 * Float(k % 3) }
        x[inputs] = .nan
        x[2 * inputs + 1] = .infinity
        func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
        let vectorized = apply(quantizedWeight(w, out: out, inputs: inputs), x, rows: rows)
        pg_kernels_use_vectorized(0)
        let portable = apply(quantizedWeight(w, out: out, inputs: inputs), x, rows: rows)
        pg_kernels_use_vectorized(1)
        XCTAssertEqual(bits(portable), bits(vectorized))
        // The tiny-range row comes out as zeros, not NaN.
        XCTAssertEqual(Array(vectorized[0..<out]), [Float](repeating: 0, count: out))
    }

    /// A quantized checkpoint: first-step log-probabilities near HF's, greedy queries mostly
    /// HF's, and its own output independent of threads and batching.
    func testQuantizedModelStaysCloseToHF() throws {
        for name in ["tiny", "odd"] {
            let reference = try Fixtures.reference(name)
            let generator = try QueryGenerator(
                modelDirectory: Fixtures.checkpoint(name), threads: 2, quantized: true)
            XCTAssertTrue(generator.quantized)
            var worst: Float = 0, total: Float = 0, count = 0
            for testCase in reference.cases {
                let logits = generator.nextTokenLogits(
                    inputIDs: testCase.input_ids,
                    decoderIDs: [generator.config.decoderStartTokenID])
                let shift = logits.withUnsafeBufferPointer {
                    logSoftmaxShift($0.baseAddress!, count: $0.count)
                }
                for (id, expected) in zip(testCase.first_step.ids, testCase.first_step.log_probs)
                {
                    worst = max(worst, abs(logits[id] - shift - expected))
                    total += abs(logits[id] - shift - expected)
                    count += 1
                }
            }
            // These checkpoints are 12 and 16 features wide: a product sums so few terms that
            // rounding errors hardly cancel (0.05 on average, 0.64 at worst when written). On
            // the mT5-base shape `pairgen bench fast` measures the error.
            XCTAssertLessThan(total / Float(count), 0.1, name)
            XCTAssertLessThan(worst, 1.0, name)
            XCTAssertGreaterThan(worst, 0, "\(name): quantized logits equal fp32's exactly")

            let passages = reference.cases.map { Fixtures.passages[$0.passage] }
            var greedy = GenerationOptions()
            greedy.maxLength = reference.greedy["max_length"]!
            let seeds = passages.map { _ in UInt64(0) }
            let results = try generator.generate(passages: passages, options: greedy, seeds: seeds)
            let firstTokensSame = zip(reference.cases, results).filter { testCase, queries in
                queries[0].tokenIDs.prefix(3) == testCase.greedy.prefix(3)
            }.count
            XCTAssertGreaterThanOrEqual(
                Double(firstTokensSame), 0.5 * Double(passages.count), name)

            let single = try QueryGenerator(
                modelDirectory: Fixtures.checkpoint(name), threads: 1, quantized: true)
            for options in [GenerationOptions.modelCardBeam, greedy] {
                let batched = try generator.generate(
                    passages: passages, options: options, seeds: seeds)
                XCTAssertEqual(
                    try single.generate(passages: passages, options: options, seeds: seeds),
                    batched)
                let alone = try generator.generate(
                    passages: [passages[1]], options: options, seeds: [0])
                XCTAssertEqual(alone[0], batched[1])
            }
        }
    }
}
