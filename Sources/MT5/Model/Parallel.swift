import MT5Kernels

/// Runs `body(i)` for i in 0..<count on up to `threads` threads, in contiguous chunks.
/// The body must only write memory that belongs to its own index.
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let workers = min(max(threads, 1), count)
    parallelTasks(workers, threads: workers) { worker in
        for index in (count * worker / workers)..<(count * (worker + 1) / workers) {
            body(index)
        }
    }
}

/// Runs `body(i)` for i in 0..<count on up to `threads` threads of the kernels' pool, each
/// taking the next index as soon as it is free: for tasks of uneven length, or threads that
/// start late. The body must only write memory that belongs to its own index, and must not
/// start parallel work itself.
func parallelTasks(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    guard min(threads, count) > 1 else {
        for index in 0..<count { body(index) }
        return
    }
    withoutActuallyEscaping(body) { body in
        var task = body
        withUnsafeMutablePointer(to: &task) { task in
            pg_run_tasks(Int32(threads), Int32(count), { context, index in
                context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(index))
            }, task)
        }
    }
}
