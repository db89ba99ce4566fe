import Foundation
import MT5Kernels
import XCTest
@testable import MT5

/// The AVX2 kernels and the thread pool against plain references, and the portable code paths
/// against HF transformers.
final class KernelTests: XCTestCase {
    private var random = SeededRandom(seed: 7, stream: 0)

    private func randomFloats(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float(random.nextUnit() * 2 - 1) }
    }

    /// y = x · Wᵀ through the packed kernel, all panels on one call.
    private func packedProduct(_ x: [Float], rows: Int, _ w: [Float], out: Int, inputs: Int)
        -> [Float]
    {
        let weight = w.withUnsafeBufferPointer {
            LinearWeight($0, outFeatures: out, inFeatures: inputs)
        }
        var y = [Float](repeating: .nan, count: rows * out)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                weight.apply(x.baseAddress!, rows: rows, into: y.baseAddress!, threads: 3)
            }
        }
        return y
    }

    func testProductMatchesDoublePrecisionReference() {
        // Edges of every blocking: rows around the 6-row block, outputs around the 16-wide
        // panel, inputs past the 256-input pass.
        for (rows, out, inputs) in [(1, 1, 1), (5, 17, 3), (6, 16, 256), (7, 33, 257),
            (13, 40, 300), (2, 250, 64)]
        {
            let x = randomFloats(rows * inputs)
            let w = randomFloats(out * inputs)
            let y = packedProduct(x, rows: rows, w, out: out, inputs: inputs)
            for r in 0..<rows {
                for o in 0..<out {
                    var exact = 0.0
                    for k in 0..<inputs { exact += Double(x[r * inputs + k] * w[o * inputs + k]) }
                    XCTAssertEqual(Double(y[r * out + o]), exact, accuracy: 1e-5 * Double(inputs),
                        "rows \(rows) out \(out) in \(inputs) at [\(r), \(o)]")
                }
            }
        }
    }

    func testRowValuesDoNotDependOnBatchOrThreads() throws {
        // OpenBLAS, which runs where AVX2 is missing, rounds a row by its place in the batch.
        try XCTSkipUnless(LinearWeight.packs, "this CPU lacks AVX2 and FMA")
        let (rows, out, inputs) = (13, 70, 300)
        let x = randomFloats(rows * inputs)
        let w = randomFloats(out * inputs)
        let all = packedProduct(x, rows: rows, w, out: out, inputs: inputs)
        for r in [0, 5, 6, 12] {
            let alone = packedProduct(
                Array(x[(r * inputs)..<((r + 1) * inputs)]), rows: 1, w, out: out,
                inputs: inputs)
            XCTAssertEqual(alone, Array(all[(r * out)..<((r + 1) * out)]), "row \(r)")
        }
        let weight = w.withUnsafeBufferPointer {
            LinearWeight($0, outFeatures: out, inFeatures: inputs)
        }
        for threads in [1, 2, 5] {
            var y = [Float](repeating: .nan, count: rows * out)
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    weight.apply(x.baseAddress!, rows: rows, into: y.baseAddress!,
                        threads: threads)
                }
            }
            XCTAssertEqual(y, all, "\(threads) threads")
        }
    }

    func testSubsetOfRowsKeepsTheirWeights() {
        let (out, inputs) = (40, 20)
        let w = randomFloats(out * inputs)
        let full = w.withUnsafeBufferPointer {
            LinearWeight($0, outFeatures: out, inFeatures: inputs)
        }
        let subset = LinearWeight(rows: [3, 17, 39], of: full)
        var row = [Float](repeating: 0, count: inputs)
        for (index, source) in [3, 17, 39].enumerated() {
            row.withUnsafeMutableBufferPointer { subset.copyRow(index, into: $0.baseAddress!) }
            XCTAssertEqual(row, Array(w[(source * inputs)..<((source + 1) * inputs)]))
        }
    }

    func testExponentialMatchesLibm() {
        var values: [Float] = stride(from: -90, through: 90, by: 0.01).map { Float($0) }
        values += [-.infinity, .infinity, -1e-30, 0, 88.72, -87.33, 1e-7]
        var computed = values
        let sum = computed.withUnsafeMutableBufferPointer {
            pg_exp_in_place($0.baseAddress!, $0.count, 0)
        }
        var expected = 0.0
        for (value, result) in zip(values, computed) {
            let reference = expf(value)
            expected += Double(reference)
            if reference < Float.leastNormalMagnitude {
                XCTAssertLessThan(result, Float.leastNormalMagnitude, "exp(\(value))")
            } else if reference.isInfinite {
                XCTAssertEqual(result, reference, "exp(\(value))")
            } else {
                XCTAssertEqual(result, reference, accuracy: reference * 3e-7, "exp(\(value))")
            }
        }
        XCTAssertEqual(sum, expected, accuracy: 1e-6 * expected)
        var nan: [Float] = [.nan]
        _ = pg_exp_in_place(&nan, 1, 0)
        XCTAssertTrue(nan[0].isNaN)
    }

    func testGeluMatchesItsFormula() {
        let values: [Float] = stride(from: -12, through: 12, by: 0.003).map { Float($0) }
        var computed = values
        let ones = [Float](repeating: 1, count: values.count)
        computed.withUnsafeMutableBufferPointer {
            pg_gelu_gate($0.baseAddress!, ones, $0.count)
        }
        for (x, result) in zip(values, computed) {
            let v = Double(x)
            let exact = 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
            XCTAssertEqual(Double(result), exact, accuracy: 4e-7 * max(1, abs(v)), "gelu(\(x))")
        }
    }

    func testParallelTasksRunEveryIndexOnce() {
        for count in [0, 1, 2, 3, 17, 1000] {
            for threads in [1, 2, 4] {
                var hits = [Int](repeating: 0, count: count)
                hits.withUnsafeMutableBufferPointer { hits in
                    for _ in 0..<20 {
                        parallelTasks(count, threads: threads) { hits[$0] += 1 }
                    }
                }
                XCTAssertEqual(hits, Array(repeating: 20, count: count),
                    "\(count) tasks on \(threads) threads")
            }
        }
        // Callers on several threads at once: one gets the pool, the others run alone.
        let totals = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4 * 100)
        totals.initialize(repeating: 0)
        defer { totals.deallocate() }
        let shared = SharedCounts(totals)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for _ in 0..<50 {
                parallelTasks(100, threads: 2) { shared.counts[caller * 100 + $0] += 1 }
            }
        }
        XCTAssertEqual(Array(totals), Array(repeating: 50, count: 400))
    }

    /// The code for CPUs without AVX2 (plain loops, OpenBLAS, libm) gives HF's tokens too.
    func testPortableCodeMatchesHF() throws {
        pg_kernels_use_vectorized(0)
        defer { pg_kernels_use_vectorized(1) }
        XCTAssertFalse(LinearWeight.packs)
        for name in ["tiny", "odd"] {
            let reference = try Fixtures.reference(name)
            let generator = try QueryGenerator(
                modelDirectory: Fixtures.checkpoint(name), threads: 2)
            let passages = reference.cases.map { Fixtures.passages[$0.passage] }
            var greedy = GenerationOptions()
            greedy.maxLength = reference.greedy["max_length"]!
            let results = try generator.generate(
                passages: passages, options: greedy, seeds: passages.map { _ in 0 })
            for (testCase, queries) in zip(reference.cases, results) {
                XCTAssertEqual(queries.map(\.tokenIDs), [testCase.greedy],
                    "\(name) passage \(testCase.passage)")
            }
            for testCase in reference.cases.prefix(2) {
                let logits = generator.nextTokenLogits(
                    inputIDs: testCase.input_ids,
                    decoderIDs: [generator.config.decoderStartTokenID])
                let shift = logits.withUnsafeBufferPointer {
                    logSoftmaxShift($0.baseAddress!, count: $0.count)
                }
                let step = testCase.first_step
                for (id, expected) in zip(step.ids, step.log_probs) {
                    XCTAssertEqual(logits[id] - shift, expected, accuracy: 1e-4)
                }
            }
        }
    }
}

/// Counters that the callers of the pool test write, each its own slots.
private final class SharedCounts: @unchecked Sendable {
    let counts: UnsafeMutableBufferPointer<Int>
    init(_ counts: UnsafeMutableBufferPointer<Int>) { self.counts = counts }
}
