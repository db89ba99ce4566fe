import Foundation

// `pairgen` owns stdout (data) and stderr (progress, warnings, errors). Usage errors exit 2,
// runtime failures exit 1.
let arguments = Array(CommandLine.arguments.dropFirst())
let status = CommandLine.dispatch(arguments)
exit(status)
