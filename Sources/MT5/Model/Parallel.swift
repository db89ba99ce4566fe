import Dispatch

/// Runs `body(i)` for i in 0..<count on up to `threads` threads, in contiguous chunks.
/// The body must only write memory that belongs to its own index.
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let workers = min(max(threads, 1), count)
    guard workers > 1 else {
        for index in 0..<count { body(index) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // The caller promises disjoint writes, which is what makes sharing the closure safe.
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let start = count * worker / workers
            let end = count * (worker + 1) / workers
            for index in start..<end { shared.value(index) }
        }
    }
}

/// A value handed to other threads under a promise the compiler cannot check.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
