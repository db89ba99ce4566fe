import Foundation

/// Why a generated query was not kept; the raw values are the manifest's counter names.
public enum FilterReason: String, CaseIterable, Sendable {
    case empty
    case duplicateInPassage = "duplicate_in_passage"
    case duplicateInJob = "duplicate_in_job"
    case copiesPassage = "copies_passage"
    case roundTrip = "round_trip"
    case noNegatives = "too_few_negatives"
}

/// The text-only filters of the filter stage: empty, duplicate and copied queries.
///
/// Queries are compared after `normalize`: lowercased, whitespace collapsed, trimmed.
public struct QueryFilter {
    /// The settings in force.
    public let settings: FilterSettings

    /// A filter with `settings`.
    public init(settings: FilterSettings) { self.settings = settings }

    /// The form two queries are compared in.
    public static func normalize(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Why `query` is dropped, or nil to keep it. `earlier` holds the normalized queries
    /// generated before it for the same passage; `written` the normalized queries already
    /// written for the job.
    public func verdict(
        query: String, passageTitle: String, passageText: String, earlier: Set<String>,
        written: Set<String>
    ) -> FilterReason? {
        let normalized = Self.normalize(query)
        if normalized.count < settings.minQueryChars { return .empty }
        if settings.dedupWithinPassage && earlier.contains(normalized) {
            return .duplicateInPassage
        }
        if settings.dedupAcrossJob && written.contains(normalized) { return .duplicateInJob }
        if settings.dropCopies
            && Self.copies(normalized, title: passageTitle, text: passageText,
                minWords: settings.copyMinWords)
        {
            return .copiesPassage
        }
        return nil
    }

    /// Whether a normalized query equals the title or text, or is a run of at least
    /// `minWords` words found verbatim in the passage.
    static func copies(_ query: String, title: String, text: String, minWords: Int) -> Bool {
        let normalizedText = normalize(text)
        if query == normalizedText || query == normalize(title) { return true }
        let words = query.split(separator: " ").count
        guard words >= minWords else { return false }
        return (" " + normalizedText + " ").contains(" " + query + " ")
    }
}
