import Foundation

/// Finds a checkpoint directory from a path or a Hugging Face id.
///
/// An id ORG/NAME is looked up in the Hugging Face cache ($HF_HOME/hub, else
/// ~/.cache/huggingface/hub: models--ORG--NAME/snapshots/REV, REV from refs/main when present)
/// and in $PAIRGEN_MODELS (ORG/NAME or ORG--NAME). A directory counts when it has config.json.
public enum ModelLocator {
    /// The checkpoint directory for `name`, or `JobError.modelNotFound` listing where it looked.
    public static func resolve(
        _ name: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    ) throws -> URL {
        var searched: [String] = []
        let expanded = (name as NSString).expandingTildeInPath
        let direct = URL(fileURLWithPath: expanded, relativeTo: currentDirectory).standardized
        if isCheckpoint(direct) { return direct }
        searched.append(direct.path)

        let parts = name.split(separator: "/").map(String.init)
        if parts.count == 2 && !name.hasPrefix(".") && !name.hasPrefix("/") {
            for hub in hubDirectories(environment) {
                let repo = hub.appendingPathComponent("models--\(parts[0])--\(parts[1])")
                searched.append(repo.appendingPathComponent("snapshots").path + "/*")
                if let snapshot = snapshot(in: repo) { return snapshot }
            }
            if let root = environment["PAIRGEN_MODELS"], !root.isEmpty {
                for candidate in [
                    URL(fileURLWithPath: root).appendingPathComponent(parts[0])
                        .appendingPathComponent(parts[1]),
                    URL(fileURLWithPath: root).appendingPathComponent("\(parts[0])--\(parts[1])"),
                ] {
                    searched.append(candidate.path)
                    if isCheckpoint(candidate) { return candidate }
                }
            } else {
                searched.append("$PAIRGEN_MODELS (not set)")
            }
        }
        throw JobError.modelNotFound(name: name, searched: searched)
    }

    private static func isCheckpoint(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path)
    }

    private static func hubDirectories(_ environment: [String: String]) -> [URL] {
        if let home = environment["HF_HUB_CACHE"], !home.isEmpty {
            return [URL(fileURLWithPath: home)]
        }
        if let home = environment["HF_HOME"], !home.isEmpty {
            return [URL(fileURLWithPath: home).appendingPathComponent("hub")]
        }
        let user = environment["HOME"] ?? NSHomeDirectory()
        return [URL(fileURLWithPath: user).appendingPathComponent(".cache/huggingface/hub")]
    }

    /// refs/main's snapshot when it exists, else the only or the newest complete snapshot.
    private static func snapshot(in repo: URL) -> URL? {
        let snapshots = repo.appendingPathComponent("snapshots")
        if let revision = try? String(contentsOf: repo.appendingPathComponent("refs/main"),
            encoding: .utf8)
        {
            let chosen = snapshots.appendingPathComponent(
                revision.trimmingCharacters(in: .whitespacesAndNewlines))
            if isCheckpoint(chosen) { return chosen }
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshots.path)) ?? []
        let candidates = names.sorted().map { snapshots.appendingPathComponent($0) }
            .filter(isCheckpoint)
        return candidates.max { modified($0) < modified($1) }
    }

    private static func modified(_ url: URL) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate]
            as? Date) ?? .distantPast
    }
}
