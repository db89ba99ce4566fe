import XCTest

@testable import BM25

/// Tokenizing, lowercasing, accent folding, stopwords and Snowball stemming.
final class AnalyzerTests: XCTestCase {
    func testWordsAreLettersAndDigitsLowercased() throws {
        let analyzer = try Analyzer(language: "en", removeStopwords: false, stem: false)
        XCTAssertEqual(
            analyzer.terms("COVID-19 hits São Paulo; Ünïcode_test 3.14 ΑΘΗΝΑ"),
            ["covid", "19", "hits", "são", "paulo", "ünïcode", "test", "3", "14", "αθηνα"])
        XCTAssertEqual(analyzer.terms(""), [])
        XCTAssertEqual(analyzer.terms(" ... \n\t"), [])
    }

    func testCombiningMarksStayInTheirWord() throws {
        let analyzer = try Analyzer(language: "pt", removeStopwords: false, stem: false)
        // "ação" written with a combining tilde and cedilla.
        let decomposed = "ac\u{0327}a\u{0303}o!"
        XCTAssertEqual(analyzer.terms(decomposed).count, 1)
        let folding = try Analyzer(language: "pt", removeStopwords: false, stem: false,
                                   foldAccents: true)
        XCTAssertEqual(folding.terms(decomposed), ["acao"])
        XCTAssertEqual(folding.terms("Ação ÉPOCA"), ["acao", "epoca"])
    }

    func testPortugueseStopwordsAndStemmer() throws {
        let analyzer = try Analyzer(language: "pt")
        XCTAssertEqual(analyzer.language, "portuguese")
        let terms = analyzer.terms("As meninas estavam correndo pelas ruas da cidade")
        XCTAssertFalse(terms.contains("as"))
        XCTAssertFalse(terms.contains("da"))
        XCTAssertTrue(terms.contains("menin"), "\(terms)")
        XCTAssertTrue(terms.contains("corr"), "\(terms)")
        XCTAssertEqual(analyzer.terms("cidade"), analyzer.terms("cidades"))
    }

    func testEnglishStopwordsAreBM25sList() throws {
        let analyzer = try Analyzer(language: "en", stem: false)
        XCTAssertEqual(analyzer.terms("The cells of the brain are not dividing"),
                       ["cells", "brain", "dividing"])
        let stemmed = try Analyzer(language: "english")
        XCTAssertEqual(stemmed.terms("The cells of the brain are not dividing"),
                       ["cell", "brain", "divid"])
    }

    func testLanguageCodesWithRegionsAndSnowballNames() throws {
        XCTAssertEqual(try Analyzer(language: "pt-BR").language, "portuguese")
        XCTAssertEqual(try Analyzer(language: "en_US").language, "english")
        XCTAssertEqual(try Analyzer(language: "Portuguese").language, "portuguese")
        XCTAssertEqual(try Analyzer(language: "de").terms("Die Häuser"), ["haus"])
    }

    func testUnknownLanguageIsNamed() {
        XCTAssertThrowsError(try Analyzer(language: "klingon")) { error in
            XCTAssertTrue("\(error)".contains("klingon"), "\(error)")
        }
        // A Snowball language with no stopword list needs removeStopwords: false.
        XCTAssertThrowsError(try Analyzer(language: "fi")) { error in
            XCTAssertTrue("\(error)".contains("fi"), "\(error)")
        }
        XCTAssertNoThrow(try Analyzer(language: "fi", removeStopwords: false))
    }

    func testCodableRoundTrip() throws {
        let analyzer = try Analyzer(language: "pt", removeStopwords: true, stem: false,
                                    foldAccents: true)
        let data = try JSONEncoder().encode(analyzer)
        let decoded = try JSONDecoder().decode(Analyzer.self, from: data)
        XCTAssertEqual(decoded, analyzer)
        XCTAssertEqual(decoded.terms("Ações da época"), analyzer.terms("Ações da época"))
    }

    func testConcurrentAnalysisAgrees() throws {
        let analyzer = try Analyzer(language: "pt")
        let texts = Fixtures.reference.documents.prefix(64).map { $0.joined(separator: " ") }
        let expected = texts.map { analyzer.terms($0) }
        let results = UnsafeMutableBufferPointer<[String]>.allocate(capacity: texts.count)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        let output = UnsafeSendableBuffer(results)
        DispatchQueue.concurrentPerform(iterations: texts.count) { number in
            output.buffer[number] = analyzer.terms(texts[number])
        }
        XCTAssertEqual(Array(results), expected)
    }
}

/// The analyzer without a stemmer against bm25s's tokens (letters and digits, its stopword
/// lists) on real Portuguese and English text: Fixtures/analyzer_tokens.json.
final class AnalyzerReferenceTests: XCTestCase {
    struct Case: Decodable {
        let language: String
        let text: String
        let tokens: [String]
    }

    func testTokensMatchBM25s() throws {
        let data = try Data(contentsOf: Fixtures.url("analyzer_tokens.json"))
        let cases = try JSONDecoder().decode([Case].self, from: data)
        XCTAssertEqual(cases.count, 100)
        var analyzers: [String: Analyzer] = [:]
        var compared = 0
        for (number, reference) in cases.enumerated() {
            if analyzers[reference.language] == nil {
                analyzers[reference.language] = try Analyzer(
                    language: reference.language, stem: false)
            }
            let terms = analyzers[reference.language]!.terms(reference.text)
            XCTAssertEqual(terms, reference.tokens, "case \(number): \(reference.text.prefix(60))")
            compared += reference.tokens.count
        }
        XCTAssertGreaterThan(compared, 8_000)
    }
}
