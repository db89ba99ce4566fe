import Foundation

/// An owned, zero-initialised float buffer: the scratch and cache memory of the model.
/// Plain pointers keep the inner loops free of array copy-on-write checks.
///
/// Buffers start on a 64-byte boundary: OpenBLAS picks its code path by the alignment of what
/// it is given, and the same alignment everywhere keeps results the same from run to run.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }
}

/// `count` rounded up to a multiple of 16 floats (64 bytes): the stride of per-row scratch,
/// so that every row's slice starts on the same alignment.
func alignedStride(_ count: Int) -> Int { (count + 15) / 16 * 16 }
