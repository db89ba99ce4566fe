import Foundation

/// Turns text into index terms: Unicode words, lowercased, optionally accent-folded, stopwords
/// dropped, Snowball-stemmed.
///
/// A word is a maximal run of letters, digits and combining marks (Unicode's Alphabetic and
/// Numeric properties); everything else separates words. The analyzer is saved with an index
/// so that queries are analysed exactly as its passages were.
public struct Analyzer: Codable, Sendable, Equatable {
    /// The Snowball name of the language, e.g. "portuguese".
    public let language: String
    /// Whether the language's stopword list is applied (after lowercasing and folding).
    public let removeStopwords: Bool
    /// Whether terms go through the language's Snowball stemmer.
    public let stem: Bool
    /// Whether accents are stripped: "ação" and "acao" become the same term.
    public let foldAccents: Bool

    private let stopwords: Set<String>
    private let stemmers: StemmerPool?

    /// An analyzer for `language`, an ISO 639 code ("pt", "en") or a Snowball name.
    public init(
        language: String, removeStopwords: Bool = true, stem: Bool = true,
        foldAccents: Bool = false
    ) throws {
        let name = Analyzer.snowballName(language)
        guard SnowballStemmer.algorithms.contains(name) else {
            throw BM25Error.unsupportedLanguage(
                language, reason: "no Snowball stemmer; languages: "
                    + SnowballStemmer.algorithms.joined(separator: ", "))
        }
        self.language = name
        self.removeStopwords = removeStopwords
        self.stem = stem
        self.foldAccents = foldAccents
        if removeStopwords {
            guard let words = StopwordLists.words(for: name) else {
                throw BM25Error.unsupportedLanguage(
                    language, reason: "no stopword list (lists: "
                        + StopwordLists.languages.joined(separator: ", ")
                        + "); analyse without stopword removal")
            }
            stopwords = Set(words.map { foldAccents ? Analyzer.fold($0) : $0 })
        } else {
            stopwords = []
        }
        stemmers = stem ? try StemmerPool(algorithm: name) : nil
    }

    /// The terms of `text` in order, repeats kept.
    public func terms(_ text: String) -> [String] {
        var result: [String] = []
        forEachTerm(text) { result.append($0) }
        return result
    }

    /// Calls `body` with each term of `text` in order.
    func forEachTerm(_ text: String, _ body: (String) -> Void) {
        if let stemmers {
            stemmers.withStemmer { stemmer in
                forEachWord(text) { word in
                    if let kept = filtered(word) {
                        var kept = kept
                        body(kept.withUTF8 { stemmer.stem($0) })
                    }
                }
            }
        } else {
            forEachWord(text) { word in
                if let kept = filtered(word) { body(kept) }
            }
        }
    }

    /// The word folded if asked, or nil when it is a stopword.
    private func filtered(_ word: String) -> String? {
        let folded = foldAccents ? Analyzer.fold(word) : word
        if removeStopwords, stopwords.contains(folded) { return nil }
        return folded
    }

    /// Calls `body` with each lowercased word of `text`; ASCII takes a fast path.
    private func forEachWord(_ text: String, _ body: (String) -> Void) {
        var text = text
        var word: [UInt8] = []
        word.reserveCapacity(64)
        func flush() {
            if !word.isEmpty {
                body(String(decoding: word, as: UTF8.self))
                word.removeAll(keepingCapacity: true)
            }
        }
        text.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte < 0x80 {
                    index += 1
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"),
                        UInt8(ascii: "0")...UInt8(ascii: "9"):
                        word.append(byte)
                    case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                        word.append(byte | 0x20)
                    default:
                        flush()
                    }
                    continue
                }
                let (scalar, length) = Analyzer.decodeScalar(bytes, at: index)
                index += length
                guard let scalar, Analyzer.isWordScalar(scalar) else {
                    flush()
                    continue
                }
                if scalar.properties.changesWhenLowercased {
                    word.append(contentsOf: scalar.properties.lowercaseMapping.utf8)
                } else {
                    word.append(contentsOf: UTF8.encode(scalar)!)
                }
            }
        }
        flush()
    }

    /// Letters, digits and marks make words.
    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isAlphabetic || properties.numericType != nil { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// The scalar starting at a non-ASCII byte and its length in bytes; nil for a bad sequence
    /// (String's storage is valid UTF-8, so this only guards against surprises).
    private static func decodeScalar(
        _ bytes: UnsafeBufferPointer<UInt8>, at index: Int
    ) -> (Unicode.Scalar?, Int) {
        let lead = bytes[index]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        guard length > 1, index + length <= bytes.count else { return (nil, 1) }
        var value = UInt32(lead) & (0xFF >> UInt32(length + 1))
        for offset in 1..<length {
            value = value << 6 | UInt32(bytes[index + offset] & 0x3F)
        }
        return (Unicode.Scalar(value), length)
    }

    /// The word with its combining marks removed after canonical decomposition.
    static func fold(_ word: String) -> String {
        guard word.utf8.contains(where: { $0 >= 0x80 }) else { return word }
        var scalars = String.UnicodeScalarView()
        for scalar in word.decomposedStringWithCanonicalMapping.unicodeScalars
        where scalar.properties.generalCategory != .nonspacingMark {
            scalars.append(scalar)
        }
        return String(scalars)
    }

    /// The Snowball algorithm name for an ISO 639-1/639-2 code, with or without a region
    /// ("pt-BR", "en_US"); other names pass through.
    static func snowballName(_ language: String) -> String {
        let key = language.lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" })
            .first.map(String.init) ?? ""
        let codes: [String: String] = [
            "ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek",
            "en": "english", "es": "spanish", "et": "estonian", "eu": "basque",
            "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi", "hu": "hungarian",
            "hy": "armenian", "id": "indonesian", "it": "italian", "lt": "lithuanian",
            "ne": "nepali", "nl": "dutch", "no": "norwegian", "pt": "portuguese",
            "ro": "romanian", "ru": "russian", "sr": "serbian", "sv": "swedish", "ta": "tamil",
            "tr": "turkish", "yi": "yiddish", "eng": "english", "por": "portuguese",
        ]
        return codes[key] ?? key
    }

    private enum CodingKeys: String, CodingKey {
        case language, removeStopwords = "remove_stopwords", stem, foldAccents = "fold_accents"
    }

    /// Decodes the four settings and rebuilds the analyzer, checking the language again.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            language: container.decode(String.self, forKey: .language),
            removeStopwords: container.decode(Bool.self, forKey: .removeStopwords),
            stem: container.decode(Bool.self, forKey: .stem),
            foldAccents: container.decode(Bool.self, forKey: .foldAccents))
    }

    /// Encodes the four settings that define the analysis.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(language, forKey: .language)
        try container.encode(removeStopwords, forKey: .removeStopwords)
        try container.encode(stem, forKey: .stem)
        try container.encode(foldAccents, forKey: .foldAccents)
    }

    /// Two analyzers are equal when their settings are.
    public static func == (lhs: Analyzer, rhs: Analyzer) -> Bool {
        lhs.language == rhs.language && lhs.removeStopwords == rhs.removeStopwords
            && lhs.stem == rhs.stem && lhs.foldAccents == rhs.foldAccents
    }
}
