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
final class LinearWeight: @unchecked Sendable {
    let outFeatures: Int
    let inFeatures: Int
    private let storage: Storage

    private enum Storage {
        /// Panels of 16 output features, [panels, in, 16], for the vectorized kernel.
        case packed(FloatBuffer)
        /// The row-major weight for OpenBLAS; `owner` keeps it alive when this weight made it.
        case rowMajor(UnsafePointer<Float>, owner: FloatBuffer?)
    }

    /// Whether weights are packed for the vectorized kernel (decided once, from the CPU).
    static var packs: Bool { pg_kernels_vectorized() != 0 }

    /// Wraps a checkpoint buffer of [outFeatures, inFeatures] floats, packing it where the
    /// kernel runs; the buffer is not read again after packing.
    init(_ weight: UnsafeBufferPointer<Float>, outFeatures: Int, inFeatures: Int) {
        precondition(weight.count == outFeatures * inFeatures)
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        storage = Self.packs
            ? .packed(Self.pack(weight.baseAddress!, outFeatures, inFeatures))
            : .rowMajor(weight.baseAddress!, owner: nil)
    }

    /// The listed rows of another weight, in the order given.
    init(rows: [Int], of source: LinearWeight) {
        outFeatures = rows.count
        inFeatures = source.inFeatures
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
        if case .packed = storage { return true }
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
        }
        let regrouped = FloatBuffer(
            count: pg_packed_rows_count(Int32(rows), Int32(inFeatures)), zeroed: false)
        pg_pack_rows(x, Int32(rows), Int32(inFeatures), Int32(inFeatures), regrouped.pointer)
        let panels = (outFeatures + Int(PG_PANEL_WIDTH) - 1) / Int(PG_PANEL_WIDTH)
        // Several tasks per thread, handed out as threads come free: a thread that
        // starts late or runs slower then does less. The split never changes a value.
        let tasks = threads > 1 ? min(4 * threads, panels) : 1
        let source = UnsafePointer(regrouped.pointer)
        withExtendedLifetime(regrouped) {
            parallelTasks(tasks, threads: threads) { task in
                pg_packed_product(
                    source, Int32(rows), Int32(inFeatures), packed.pointer,
                    Int32(outFeatures), Int32(panels * task / tasks),
                    Int32(panels * (task + 1) / tasks), y, Int32(outFeatures))
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
