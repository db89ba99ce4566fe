import Foundation

/// `pairgen inspect RUNDIR` (the main job, issue 4).
enum InspectCommand {
    static func run(_ arguments: [String]) throws -> Int32 {
        throw UsageError(message: "inspect is not built yet", usage: "usage: pairgen inspect RUNDIR")
    }
}
