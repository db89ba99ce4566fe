import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on a run directory (flock on its `.lock` file), so that two processes
/// never write the same run. The kernel drops it when the process dies, even by kill -9.
public final class RunLock {
    private let descriptor: Int32

    /// Takes the lock or throws `JobError.runLocked` naming the holder's pid.
    public init(directory: URL) throws {
        let path = directory.appendingPathComponent(".lock").path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw JobError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            let holder = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
            close(descriptor)
            throw JobError.runLocked(directory: directory.path,
                holder: holder.isEmpty ? "pid unknown" : "pid \(holder)")
        }
        let pid = Array("\(getpid())".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
