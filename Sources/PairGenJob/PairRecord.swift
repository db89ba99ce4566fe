import Foundation

/// One training example: a query, its passage and its hard negatives, with ids and BM25 scores.
public struct PairRecord: Sendable, Equatable {
    /// The generated query.
    public var query: String
    /// The passage the query was written for.
    public var positive: String
    /// The negatives' texts, in mining order.
    public var negatives: [String]
    /// `<positive id>/q<n>`, n counting the passage's generated queries from 0.
    public var queryID: String
    /// The passage id.
    public var positiveID: String
    /// The negatives' ids.
    public var negativeIDs: [String]
    /// The passage's BM25 score for the query.
    public var positiveScore: Double
    /// The negatives' BM25 scores for the query.
    public var negativeScores: [Double]

    /// One JSON line (with "\n"), keys in a fixed order, texts first: query, positive,
    /// negative_1...negative_n, query_id, positive_id, negative_ids, positive_bm25_score,
    /// negative_bm25_scores. Written by hand because JSONEncoder cannot keep this order.
    public func jsonLine() -> String {
        var line = "{\"query\":" + JSONText.string(query)
        line += ",\"positive\":" + JSONText.string(positive)
        for (index, negative) in negatives.enumerated() {
            line += ",\"negative_\(index + 1)\":" + JSONText.string(negative)
        }
        line += ",\"query_id\":" + JSONText.string(queryID)
        line += ",\"positive_id\":" + JSONText.string(positiveID)
        line += ",\"negative_ids\":[" + negativeIDs.map(JSONText.string).joined(separator: ",")
        line += "],\"positive_bm25_score\":" + JSONText.number(positiveScore)
        line += ",\"negative_bm25_scores\":["
        line += negativeScores.map(JSONText.number).joined(separator: ",") + "]}\n"
        return line
    }

    /// Reads a line written by `jsonLine`; nil when it is not one.
    public init?(jsonLine: Substring) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(jsonLine.utf8))
                as? [String: Any],
            let query = object["query"] as? String, let positive = object["positive"] as? String,
            let queryID = object["query_id"] as? String,
            let positiveID = object["positive_id"] as? String,
            let negativeIDs = object["negative_ids"] as? [String],
            let positiveScore = (object["positive_bm25_score"] as? NSNumber)?.doubleValue,
            let negativeScores = (object["negative_bm25_scores"] as? [NSNumber])?
                .map(\.doubleValue)
        else { return nil }
        var negatives: [String] = []
        while let text = object["negative_\(negatives.count + 1)"] as? String {
            negatives.append(text)
        }
        self.init(query: query, positive: positive, negatives: negatives, queryID: queryID,
            positiveID: positiveID, negativeIDs: negativeIDs, positiveScore: positiveScore,
            negativeScores: negativeScores)
    }

    /// Makes a record.
    public init(
        query: String, positive: String, negatives: [String], queryID: String, positiveID: String,
        negativeIDs: [String], positiveScore: Double, negativeScores: [Double]
    ) {
        self.query = query
        self.positive = positive
        self.negatives = negatives
        self.queryID = queryID
        self.positiveID = positiveID
        self.negativeIDs = negativeIDs
        self.positiveScore = positiveScore
        self.negativeScores = negativeScores
    }
}

/// JSON text for strings and numbers, written the same way on every run.
public enum JSONText {
    /// A quoted JSON string: quote, backslash and control characters escaped (the short
    /// forms where JSON has them, \u00XX otherwise); everything else is written as UTF-8.
    public static func string(_ value: String) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case let control where control.value < 0x20 || control.value == 0x7F:
                out += String(format: "\\u%04x", control.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A finite number rounded to 6 decimals (shortest form that reads back the same);
    /// non-finite values, which JSON cannot hold, become null.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        let rounded = (value * 1_000_000).rounded() / 1_000_000
        if rounded == rounded.rounded() && abs(rounded) < 1e15 {
            return String(Int64(rounded))
        }
        return "\(rounded)"
    }
}
