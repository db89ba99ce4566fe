import Foundation
import SentencePieceShim

/// The checkpoint's SentencePiece model (spiece.model), through the reference library.
///
/// Encoding follows HF transformers' T5 tokenizer: SentencePiece ids, then `</s>`, cut to a
/// maximum with `</s>` kept last. Decoding skips pad, eos, unknown and control pieces, and ids
/// the tokenizer lacks (mT5's embedding has more rows than its vocabulary).
public final class Tokenizer: @unchecked Sendable {
    private let processor: OpaquePointer
    /// The file it was loaded from.
    public let path: String
    /// Number of pieces SentencePiece knows; larger ids are sentinels or unused rows.
    public let pieceCount: Int
    /// The id appended to every input.
    public let endOfSequenceID: Int32
    private let skippedIDs: Set<Int32>

    /// Loads spiece.model; `endOfSequenceID` and `padID` come from config.json.
    public init(modelFile url: URL, endOfSequenceID: Int32 = 1, padID: Int32 = 0) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw MT5Error.missingFile(path: url.path)
        }
        var message = [CChar](repeating: 0, count: 512)
        guard let processor = pg_spm_load(url.path, &message, message.count) else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                as: UTF8.self)
            throw MT5Error.tokenizer(path: url.path, reason: reason)
        }
        self.processor = processor
        path = url.path
        pieceCount = Int(pg_spm_piece_count(processor))
        self.endOfSequenceID = endOfSequenceID
        var skipped: Set<Int32> = [endOfSequenceID, padID]
        for id in 0..<Int32(pieceCount) where pg_spm_is_control(processor, id) != 0 {
            skipped.insert(id)
        }
        skippedIDs = skipped
    }

    deinit { pg_spm_free(processor) }

    /// Input ids for a passage: pieces then `</s>`, at most `maxTokens` in all.
    public func encode(_ text: String, maxTokens: Int) throws -> [Int32] {
        var pieces: [Int32] = try encodePieces(text)
        if pieces.count > maxTokens - 1 { pieces.removeLast(pieces.count - (maxTokens - 1)) }
        pieces.append(endOfSequenceID)
        return pieces
    }

    /// SentencePiece ids of the text, with nothing appended.
    public func encodePieces(_ text: String) throws -> [Int32] {
        var ids: UnsafeMutablePointer<Int32>?
        var count = 0
        var message = [CChar](repeating: 0, count: 512)
        var copy = text
        let status = copy.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                pg_spm_encode(processor, chars.baseAddress, chars.count,
                    &ids, &count, &message, message.count)
            }
        }
        guard status == 0, let ids else {
            throw MT5Error.tokenizer(path: path, reason: Self.text(message))
        }
        defer { pg_spm_free_ids(ids) }
        return Array(UnsafeBufferPointer(start: ids, count: count))
    }

    /// Text of generated ids, special and unknown ids skipped, as `skip_special_tokens` does.
    public func decode(_ ids: [Int32]) -> String {
        let kept = ids.filter { $0 >= 0 && Int($0) < pieceCount && !skippedIDs.contains($0) }
        guard !kept.isEmpty else { return "" }
        var text: UnsafeMutablePointer<CChar>?
        var length = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = kept.withUnsafeBufferPointer { buffer in
            pg_spm_decode(processor, buffer.baseAddress, buffer.count,
                &text, &length, &message, message.count)
        }
        // Every id is in range, so SentencePiece cannot refuse it; an empty string is the
        // honest answer if it ever does.
        guard status == 0, let text else { return "" }
        defer { pg_spm_free_text(text) }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
    }

    private static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
