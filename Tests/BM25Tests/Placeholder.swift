import XCTest
final class BM25PlaceholderTests: XCTestCase { func testNothing() {} }
