import XCTest
final class PairGenJobPlaceholderTests: XCTestCase { func testNothing() {} }
