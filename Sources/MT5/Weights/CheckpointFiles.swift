import Foundation

/// The weight files of a checkpoint, and for a sharded one the index that assigns tensors to them.
struct CheckpointFiles {
    /// The files holding tensors, in the order they are read.
    var weightFiles: [URL] = []

    /// Tensor name to the path of the shard that holds it, from index files; empty without one.
    var shardByTensor: [String: String] = [:]

    /// How errors that concern the whole checkpoint (a missing tensor) name it.
    var description = ""

    /// Looks in a Hugging Face checkpoint directory, preferring safetensors to torch files and
    /// a single file to a sharded one.
    static func locate(in directory: URL) throws -> CheckpointFiles {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw MT5Error.missingFile(path: directory.path)
        }
        let candidates = [
            "model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "pytorch_model.bin.index.json",
        ]
        for candidate in candidates {
            let url = directory.appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: url.path) {
                return try explicit([url])
            }
        }
        let others = candidates.dropFirst().joined(separator: ", ")
        throw MT5Error.missingFile(
            path: directory.appendingPathComponent(candidates[0]).path + " (nor \(others))")
    }

    /// The given files; a file ending in .json is a shard index whose shards are added.
    static func explicit(_ files: [URL]) throws -> CheckpointFiles {
        var checkpoint = CheckpointFiles()
        var seen: Set<String> = []
        func add(_ url: URL) {
            if seen.insert(url.standardizedFileURL.path).inserted {
                checkpoint.weightFiles.append(url)
            }
        }
        for url in files {
            if url.pathExtension.lowercased() == "json" {
                let shards = try readIndex(url)
                for shard in Set(shards.values).sorted() { add(URL(fileURLWithPath: shard)) }
                checkpoint.shardByTensor.merge(shards) { first, _ in first }
            } else {
                add(url)
            }
        }
        if files.count == 1 {
            checkpoint.description = files[0].path
        } else {
            checkpoint.description = checkpoint.weightFiles.map(\.path).joined(separator: ", ")
        }
        return checkpoint
    }

    /// Reads {"weight_map": {tensor: shard file name}} and returns tensor to shard path, each
    /// shard resolved beside the index.
    static func readIndex(_ url: URL) throws -> [String: String] {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MT5Error.missingFile(path: path)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw MT5Error.unreadableFile(path: path, reason: "\(error)")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw MT5Error.malformedFile(path: path, reason: "not valid JSON (a damaged file?)")
        }
        guard let object = json as? [String: Any], let map = object["weight_map"] else {
            throw MT5Error.malformedFile(path: path, reason: "no 'weight_map' object")
        }
        guard let weightMap = map as? [String: String] else {
            throw MT5Error.malformedFile(
                path: path, reason: "'weight_map' is not an object of file names")
        }
        let folder = url.deletingLastPathComponent()
        var result: [String: String] = [:]
        for (tensor, shard) in weightMap {
            // Shards live beside the index; a path elsewhere is refused rather than followed.
            guard !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"), shard != "..",
                shard != "."
            else {
                throw MT5Error.malformedFile(
                    path: path,
                    reason: "weight_map entry '\(tensor)' names '\(shard)', not a file name")
            }
            result[tensor] = folder.appendingPathComponent(shard).path
        }
        return result
    }
}
