import Foundation

/// `pairgen run` and `pairgen resume` (the main job, issue 4).
enum RunCommand {
    static func run(_ arguments: [String]) throws -> Int32 {
        throw UsageError(message: "run is not built yet", usage: "usage: pairgen run ...")
    }

    static func resume(_ arguments: [String]) throws -> Int32 {
        throw UsageError(message: "resume is not built yet", usage: "usage: pairgen resume RUNDIR")
    }
}
