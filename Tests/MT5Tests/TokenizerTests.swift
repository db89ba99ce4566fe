import XCTest
@testable import MT5

final class TokenizerPlaceholderTests: XCTestCase {
    func testNothing() {}
}
