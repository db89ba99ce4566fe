import Foundation

/// Where one tensor's elements lie inside a mapped checkpoint file, and their layout.
struct TensorLocation: Sendable {
    /// The checkpoint's name for the tensor, e.g. "encoder.block.0.layer.0.SelfAttention.q.weight".
    var name: String

    /// Index of the file in the store's list of mapped files.
    var fileIndex: Int

    /// The element type as the file names it ("F32", "I64", "LongStorage"...).
    var dtypeName: String

    /// Dimensions, outermost first.
    var shape: [Int]

    /// Offset of element 0 from the start of the file, in bytes.
    var byteOffset: Int

    /// Element strides, outermost first; nil when the tensor is row-major and contiguous.
    var strides: [Int]?

    /// The element type, or nil when it is not one we convert.
    var dtype: WeightDType? { WeightDType(rawValue: dtypeName) }

    /// The number of elements (shape's product; the parsers have checked it cannot overflow).
    var elementCount: Int { checkedProduct(shape) ?? 0 }

    /// Identifies the stored bytes, so names that share storage (tied weights) share one copy.
    var storageKey: StorageKey {
        StorageKey(
            fileIndex: fileIndex, byteOffset: byteOffset, dtypeName: dtypeName, shape: shape,
            strides: strides)
    }

    /// Equal for two names whose elements are the same bytes read the same way.
    struct StorageKey: Hashable {
        var fileIndex: Int
        var byteOffset: Int
        var dtypeName: String
        var shape: [Int]
        var strides: [Int]?
    }
}

extension WeightDType {
    /// Bytes per element.
    var itemSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        }
    }
}

/// Bytes per element of the dtypes a checkpoint may hold, by their safetensors names.
func itemSize(ofDTypeNamed name: String) -> Int? {
    switch name {
    case "F64", "I64", "U64": return 8
    case "F32", "I32", "U32": return 4
    case "F16", "BF16", "I16", "U16": return 2
    case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2": return 1
    default: return nil
    }
}

/// Widens IEEE 754 binary16 bits to a Float exactly (subnormals, infinities and NaN included).
///
/// Without branches, so the loops that call it vectorize: the 5-bit exponent and 10-bit
/// mantissa, moved into a binary32's exponent and mantissa fields, read as 2^-112 times the
/// half's value (for a half subnormal too, as a binary32 subnormal), and multiplying by 2^112
/// restores it exactly. Infinities and NaN (exponent 31) get the all-ones exponent instead.
@inline(__always)
func floatFromHalfBits(_ bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let magnitude = UInt32(bits & 0x7FFF) << 13
    let finite = (Float(bitPattern: magnitude) * 0x1p112).bitPattern
    let special = magnitude | 0x7F80_0000
    return Float(bitPattern: sign | (bits & 0x7C00 == 0x7C00 ? special : finite))
}

/// Widens bfloat16 bits (the top half of a binary32) to a Float exactly.
@inline(__always)
func floatFromBFloat16Bits(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

extension TensorLocation {
    /// Writes the elements, row-major, as Float into `destination`, which holds `elementCount`.
    ///
    /// `base` is the start of the mapped file. The caller has checked that every element lies
    /// inside the file and that the dtype is supported.
    func convert(
        fileBase base: UnsafeRawPointer, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        guard let dtype, destination.count > 0 else { return }
        let source = base + byteOffset
        guard let strides else {
            convertContiguous(source, dtype: dtype, into: destination)
            return
        }

        // A strided view: walk the indices in row-major order like an odometer.
        var index = [Int](repeating: 0, count: shape.count)
        var element = 0
        for position in 0..<destination.count {
            destination[position] = load(source, element: element, dtype: dtype)
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                element += strides[axis]
                if index[axis] < shape[axis] { break }
                element -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

/// Elements converted per task when a large tensor is converted on several threads.
private let conversionChunk = 1 << 20

private func convertContiguous(
    _ source: UnsafeRawPointer, dtype: WeightDType,
    into destination: UnsafeMutableBufferPointer<Float>
) {
    let count = destination.count
    let chunks = (count + conversionChunk - 1) / conversionChunk
    // Each task writes its own disjoint range of the destination.
    let pointers = ConversionPointers(source: source, output: destination.baseAddress!)
    let work = { @Sendable (chunk: Int) in
        let start = chunk * conversionChunk
        let end = min(start + conversionChunk, count)
        let source = pointers.source
        let output = pointers.output
        // One loop per dtype keeps the dtype test out of the per-element work.
        switch dtype {
        case .f32:
            for element in start..<end {
                output[element] = load(source, element: element, dtype: .f32)
            }
        case .f16:
            for element in start..<end {
                output[element] = load(source, element: element, dtype: .f16)
            }
        case .bf16:
            for element in start..<end {
                output[element] = load(source, element: element, dtype: .bf16)
            }
        }
    }
    if chunks <= 1 {
        work(0)
    } else {
        DispatchQueue.concurrentPerform(iterations: chunks, execute: work)
    }
}

private struct ConversionPointers: @unchecked Sendable {
    let source: UnsafeRawPointer
    let output: UnsafeMutablePointer<Float>
}

@inline(__always)
private func load(_ source: UnsafeRawPointer, element: Int, dtype: WeightDType) -> Float {
    switch dtype {
    case .f32:
        let bits = source.loadUnaligned(fromByteOffset: element * 4, as: UInt32.self)
        return Float(bitPattern: UInt32(littleEndian: bits))
    case .f16:
        let bits = source.loadUnaligned(fromByteOffset: element * 2, as: UInt16.self)
        return floatFromHalfBits(UInt16(littleEndian: bits))
    case .bf16:
        let bits = source.loadUnaligned(fromByteOffset: element * 2, as: UInt16.self)
        return floatFromBFloat16Bits(UInt16(littleEndian: bits))
    }
}
