import CBLAS
import Foundation
import MT5Kernels

/// The weight of a bias-free `nn.Linear`, [out, in] as the checkpoint stores it, ready for
/// y[rows, out] = x[rows, in] · Wᵀ.
///
/// On CPUs with AVX2 and FMA the weight is packed once, at load time, into panels of 16 output
/// features (see MT5Kernels.h) and multiplied by our own kernel: a BLAS packs its operand again
/// on every call, which costs a decoder step about a seventh of its time. Each output is then a
/// single fused multiply-add chain in input order, so no value depends on the thread count,
/// on how many rows share the call or on a row's place among them. Elsewhere the checkpoint's
/// own buffer goes to OpenBLAS.
///
/// In the fast mode weights are quantized to 8 bits instead (per output feature), and each call
/// quantizes its input rows to 7 bits (per row): the product is then exact integer arithmetic,
/// about twice as fast, with the same values on every CPU and thread count.
final class LinearWeight: @unchecked Sendable {
    let outFeatures: Int
    let inFeatures: Int
    private let storage: Storage

    private enum Storage {
        /// Panels of 16 output features, [panels, in, 16], for the vectorized kernel.
        case packed(FloatBuffer)
        /// The row-major weight for OpenBLAS; `owner` keeps it alive when this weight made it.
        case rowMajor(UnsafePointer<Float>, owner: FloatBuffer?)
        /// 8-bit panels (see pg_q8_quantize_weight) with a scale and a sum per output.
        case quantized(QuantizedWeight)
    }

    /// The numbers of a weight quantized by pg_q8_quantize_weight.
    struct QuantizedWeight {
        private let valueMemory: FloatBuffer
        let scales: FloatBuffer
        private let sumMemory: FloatBuffer

        init(outFeatures: Int, inFeatures: Int) {
            let bytes = pg_q8_packed_bytes(Int32(outFeatures), Int32(inFeatures))
            valueMemory = FloatBuffer(count: (bytes + 3) / 4, zeroed: false)
            scales = FloatBuffer(count: outFeatures, zeroed: false)
            sumMemory = FloatBuffer(count: outFeatures, zeroed: false)
        }

        var values: UnsafeMutablePointer<Int8> {
            UnsafeMutableRawPointer(valueMemory.pointer).assumingMemoryBound(to: Int8.self)
        }
        var sums: UnsafeMutablePointer<Int32> {
            UnsafeMutableRawPointer(sumMemory.pointer).assumingMemoryBound(to: Int32.self)
        }
    }

    /// Whether weights are packed for the vectorized kernel (decided once, from the CPU).
    static var packs: Bool { pg_kernels_vectorized() != 0 }

    /// Wraps a checkpoint buffer of [outFeatures, inFeatures] floats, packing it where the
    /// kernel runs; the buffer is not read again after packing.
    /// `quantized` makes the fast mode's 8-bit weight instead, on any CPU.
    init(
        _ weight: UnsafeBufferPointer<Float>, outFeatures: Int, inFeatures: Int,
        quantized: Bool = false
    ) {
        precondition(weight.count == outFeatures * inFeatures)
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        if quantized {
            precondition((1..<65536).contains(inFeatures), "8-bit sums need 1...65535 inputs")
            let weights = QuantizedWeight(outFeatures: outFeatures, inFeatures: inFeatures)
            pg_q8_quantize_weight(
                weight.baseAddress!, Int32(outFeatures), Int32(inFeatures), weights.values,
                weights.scales.pointer, weights.sums)
            storage = .quantized(weights)
        } else {
            storage = Self.packs
                ? .packed(Self.pack(weight.baseAddress!, outFeatures, inFeatures))
                : .rowMajor(weight.baseAddress!, owner: nil)
        }
    }

    /// The listed rows of another weight, in the order given.
    init(rows: [Int], of source: LinearWeight) {
        outFeatures = rows.count
        inFeatures = source.inFeatures
        if case .quantized(let original) = source.storage {
            let weights = QuantizedWeight(outFeatures: rows.count, inFeatures: inFeatures)
            pg_q8_copy_rows(
                original.values, original.scales.pointer, original.sums, Int32(inFeatures),
                rows.map { Int32($0) }, Int32(rows.count), weights.values,
                weights.scales.pointer, weights.sums)
            storage = .quantized(weights)
            return
        }
        let copy = FloatBuffer(count: rows.count * inFeatures)
        for (index, row) in rows.enumerated() {
            source.copyRow(row, into: copy.pointer + index * inFeatures)
        }
        storage = Self.packs
            ? .packed(Self.pack(copy.pointer, outFeatures, inFeatures))
            : .rowMajor(UnsafePointer(copy.pointer), owner: copy)
    }

    /// Whether the checkpoint buffer may be given back (it has been packed).
    var isPacked: Bool {
        switch storage {
        case .packed, .quantized: return true
        case .rowMajor: return false
        }
    }

    /// Bytes of weights a product reads.
    var weightBytes: Int {
        switch storage {
        case .packed(let buffer): return buffer.count * 4
        case .rowMajor: return outFeatures * inFeatures * 4
        case .quantized: return Int(pg_q8_packed_bytes(Int32(outFeatures), Int32(inFeatures)))
        }
    }

    /// Whether this is the fast mode's 8-bit weight.
    var isQuantized: Bool {
        if case .quantized = storage { return true }
        return false
    }

    private static func pack(_ weight: UnsafePointer<Float>, _ out: Int, _ inputs: Int)
        -> FloatBuffer
    {
        let buffer = FloatBuffer(count: pg_packed_count(Int32(out), Int32(inputs)))
        pg_pack_weight(weight, Int32(out), Int32(inputs), buffer.pointer)
        return buffer
    }

    /// Row `row` of the weight (the inputs of one output feature) into `target[inFeatures]`.
    func copyRow(_ row: Int, into target: UnsafeMutablePointer<Float>) {
        switch storage {
        case .packed(let packed):
            pg_unpack_row(packed.pointer, Int32(inFeatures), Int32(row), target)
        case .rowMajor(let weight, _):
            target.update(from: weight + row * inFeatures, count: inFeatures)
        case .quantized(let weights):
            pg_q8_dequantize_row(
                weights.values, weights.scales.pointer, Int32(inFeatures), Int32(row), target)
        }
    }

    /// y[rows, outFeatures] = x[rows, inFeatures] · Wᵀ, on up to `threads` threads.
    func apply(
        _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, threads: Int
    ) {
        guard rows > 0 else { return }
        let packed: FloatBuffer
        switch storage {
        case .packed(let buffer): packed = buffer
        case .rowMajor(let weight, _):
            applyWithBLAS(x, rows: rows, weight: weight, into: y, threads: threads)
            return
        case .quantized(let weights):
            applyQuantized(x, rows: rows, weights: weights, into: y, threads: threads)
            return
        }
        let regrouped = FloatBuffer(
            count: pg_packed_rows_count(Int32(rows), Int32(inFeatures)), zeroed: false)
        pg_pack_rows(x, Int32(rows), Int32(inFeatures), Int32(inFeatures), regrouped.pointer)
        let source = UnsafePointer(regrouped.pointer)
        withExtendedLifetime(regrouped) {
            forPanelRanges(threads: threads) { begin, end in
                pg_packed_product(
                    source, Int32(rows), Int32(inFeatures), packed.pointer,
                    Int32(outFeatures), begin, end, y, Int32(outFeatures))
            }
        }
    }

    /// Splits the weight's panels of 16 outputs into ranges run on up to `threads` threads:
    /// several per thread, handed out as threads come free, so that a thread that starts late
    /// or runs slower does less. The split never changes a value.
    private func forPanelRanges(threads: Int, _ body: (Int32, Int32) -> Void) {
        let panels = (outFeatures + Int(PG_PANEL_WIDTH) - 1) / Int(PG_PANEL_WIDTH)
        let tasks = threads > 1 ? min(4 * threads, panels) : 1
        parallelTasks(tasks, threads: threads) { task in
            body(Int32(panels * task / tasks), Int32(panels * (task + 1) / tasks))
        }
    }

    /// The 8-bit path: rows are quantized once, then split over panels as above.
    private func applyQuantized(
        _ x: UnsafePointer<Float>, rows: Int, weights: QuantizedWeight,
        into y: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let bytes = pg_q8_rows_bytes(Int32(rows), Int32(inFeatures))
        let quantized = FloatBuffer(count: (bytes + 3) / 4, zeroed: false)
        let rowScales = FloatBuffer(count: rows, zeroed: false)
        var rowZeros = [Int32](repeating: 0, count: rows)
        let rowBytes = UnsafeMutableRawPointer(quantized.pointer)
            .assumingMemoryBound(to: UInt8.self)
        // Whole blocks of 6 rows per task: blocks share no bytes.
        let blocks = (rows + 5) / 6
        let rowTasks = min(blocks, threads > 1 ? 2 * threads : 1)
        rowZeros.withUnsafeMutableBufferPointer { zeros in
            let zeros = zeros.baseAddress!
            parallelTasks(rowTasks, threads: threads) { task in
                pg_q8_quantize_rows(
                    x, Int32(min(rows, 6 * (blocks * task / rowTasks))),
                    Int32(min(rows, 6 * (blocks * (task + 1) / rowTasks))), Int32(inFeatures),
                    Int32(inFeatures), rowBytes, rowScales.pointer, zeros)
            }
        }
        withExtendedLifetime((quantized, rowScales)) {
            rowZeros.withUnsafeBufferPointer { zeros in
                let zeros = zeros.baseAddress!
                forPanelRanges(threads: threads) { begin, end in
                    pg_q8_product(
                        rowBytes, rowScales.pointer, zeros, Int32(rows), Int32(inFeatures),
                        weights.values, weights.scales.pointer, weights.sums,
                        Int32(outFeatures), begin, end, y, Int32(outFeatures))
                }
            }
        }
    }

    /// The OpenBLAS path: OpenBLAS runs single-threaded (see useSingleThreadedBLAS) on blocks
    /// of output features whose edges depend only on the layer's width, so that the thread
    /// count never changes a value.
    private func applyWithBLAS(
        _ x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>, threads: Int
    ) {
        // 384 columns for the model's own layers; a 32nd of a vocabulary projection (every
        // block packs the input again, so few large ones are cheaper).
        let width = outFeatures > 16_384 ? (outFeatures / 32 + 15) / 16 * 16 : 384
        let blocks = (outFeatures + width - 1) / width
        parallelFor(blocks, threads: threads) { block in
            let start = block * width
            let count = min(width, outFeatures - start)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(count),
                Int32(inFeatures), 1, x, Int32(inFeatures), weight + start * inFeatures,
                Int32(inFeatures), 0, y + start, Int32(outFeatures))
        }
    }
}
