import Foundation

/// What one run of the binary printed and returned.
struct ProcessResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// The `pairgen` executable built beside the test bundle.
func pairGenExecutable() -> URL {
    var directory = Bundle.main.bundleURL
    if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
    let candidate = directory.appendingPathComponent("pairgen")
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    // Bundle.main is the xctest runner on some set-ups; the products folder is the test's own.
    for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
        let sibling = bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("pairgen")
        if FileManager.default.isExecutableFile(atPath: sibling.path) { return sibling }
    }
    return candidate
}

/// Runs `pairgen` with arguments and waits for it; output is collected from temporary files so
/// that large outputs cannot dead-lock on a full pipe.
func runPairGen(
    _ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil
) throws -> ProcessResult {
    let scratch = FileManager.default.temporaryDirectory
        .appendingPathComponent("pairgen-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)

    let process = Process()
    process.executableURL = pairGenExecutable()
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()

    return ProcessResult(
        status: process.terminationStatus,
        standardOutput: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
        standardError: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}
