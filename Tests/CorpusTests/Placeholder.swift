import XCTest
final class CorpusPlaceholderTests: XCTestCase { func testNothing() {} }
