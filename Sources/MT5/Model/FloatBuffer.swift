import Foundation

/// An owned, zero-initialised float buffer: the scratch and cache memory of the model.
/// Plain pointers keep the inner loops free of array copy-on-write checks.
///
/// Buffers start on a 64-byte boundary: OpenBLAS picks its code path by the alignment of what
/// it is given, and the packed kernels load whole cache lines. Buffers of a mebibyte or more
/// are page mappings that are kept for reuse when released (see MappingRecycler): fresh pages
/// cost this process a fault each, and a decoder state of 350 MB spends a second on them.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    /// The length of the mapping, or 0 when the memory came from the allocator.
    private let mappedLength: Int

    private static let mappingThreshold = 1 << 20

    /// A buffer of `count` floats; `zeroed: false` leaves the memory as it was, for buffers
    /// that are always written before they are read.
    init(count: Int, zeroed: Bool = true) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if bytes >= Self.mappingThreshold,
            let (address, length) = MappingRecycler.shared.take(bytes: bytes, zeroed: zeroed)
        {
            pointer = address.bindMemory(to: Float.self, capacity: max(count, 1))
            mappedLength = length
        } else {
            pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                .bindMemory(to: Float.self, capacity: max(count, 1))
            if zeroed { pointer.initialize(repeating: 0, count: max(count, 1)) }
            mappedLength = 0
        }
    }

    deinit {
        if mappedLength > 0 {
            MappingRecycler.shared.give(UnsafeMutableRawPointer(pointer), length: mappedLength)
        } else {
            UnsafeMutableRawPointer(pointer).deallocate()
        }
    }

    subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }
}

/// Anonymous page mappings released by FloatBuffers, kept (up to 1 GiB) for the next buffers
/// of about the same size: one batch's decoder state is much like the next one's. (With 512
/// MiB, part of a 16-passage sampling batch's state was mapped afresh every batch, and the
/// kernel's page clearing took 3-4% of the time; the peak memory did not change.)
final class MappingRecycler: @unchecked Sendable {
    private var idle: [(address: UnsafeMutableRawPointer, length: Int)] = []
    private var idleBytes = 0
    private let lock = NSLock()
    private static let idleLimit = 1 << 30

    static let shared = MappingRecycler()

    /// A mapping of at least `bytes` (at most twice that), recycled or new; nil if mmap fails.
    func take(bytes: Int, zeroed: Bool) -> (UnsafeMutableRawPointer, Int)? {
        lock.lock()
        let best = idle.indices.filter { idle[$0].length >= bytes && idle[$0].length <= 2 * bytes }
            .min { idle[$0].length < idle[$1].length }
        let recycled = best.map { idle.remove(at: $0) }
        if let recycled { idleBytes -= recycled.length }
        lock.unlock()
        if let recycled {
            if zeroed {
                recycled.address.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            }
            return (recycled.address, recycled.length)
        }
        #if os(Linux)
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE
        #else
        let flags = MAP_PRIVATE | MAP_ANONYMOUS
        #endif
        // Anonymous mappings are zero-filled and page-aligned.
        guard let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, flags, -1, 0),
            address != UnsafeMutableRawPointer(bitPattern: -1)
        else { return nil }
        return (address, bytes)
    }

    /// Takes back a mapping from `take`; unmaps the oldest idle ones past the limit.
    func give(_ address: UnsafeMutableRawPointer, length: Int) {
        lock.lock()
        idle.append((address, length))
        idleBytes += length
        var unmap: [(address: UnsafeMutableRawPointer, length: Int)] = []
        while idleBytes > Self.idleLimit, !idle.isEmpty {
            let oldest = idle.removeFirst()
            idleBytes -= oldest.length
            unmap.append(oldest)
        }
        lock.unlock()
        for mapping in unmap { munmap(mapping.address, mapping.length) }
    }
}

/// `count` rounded up to a multiple of 16 floats (64 bytes): the stride of per-row scratch,
/// so that every row's slice starts on the same alignment.
func alignedStride(_ count: Int) -> Int { (count + 15) / 16 * 16 }
