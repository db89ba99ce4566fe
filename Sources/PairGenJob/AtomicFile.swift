import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes files so that they appear only complete: a temporary file beside the target, fsync,
/// rename over the target, fsync of the directory. After a crash the target holds either the
/// old bytes or the new ones, never a mix.
public enum AtomicFile {
    /// The prefix of temporary files, which a new run deletes.
    public static let temporaryPrefix = ".tmp-"

    /// Replaces `url`'s contents with `data`.
    public static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(
            temporaryPrefix + url.lastPathComponent + "-\(getpid())")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure(temporary) }
        var written = 0
        let ok = data.withUnsafeBytes { bytes -> Bool in
            while written < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress! + written,
                    bytes.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += count
            }
            return fsync(descriptor) == 0
        }
        let error = failure(temporary)
        close(descriptor)
        guard ok else {
            unlink(temporary.path)
            throw error
        }
        guard rename(temporary.path, url.path) == 0 else {
            let error = failure(url)
            unlink(temporary.path)
            throw error
        }
        try syncDirectory(directory)
    }

    /// fsync on a directory, so that a rename in it survives a crash.
    public static func syncDirectory(_ directory: URL) throws {
        let descriptor = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(directory) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure(directory) }
    }

    /// Deletes temporary files a killed process left in `directory`.
    public static func removeLeftovers(in directory: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(temporaryPrefix) {
            unlink(directory.appendingPathComponent(name).path)
        }
    }

    private static func failure(_ url: URL) -> JobError {
        JobError.writeFailed(path: url.path, reason: String(cString: strerror(errno)))
    }
}
