import Foundation
import XCTest

/// Runs the built `pairgen` binary as a user would.
final class UsageTests: XCTestCase {
    func testUnknownCommandExitsWithUsageStatus() throws {
        let result = try runPairGen(["frobnicate"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.standardError.contains("unknown command 'frobnicate'"))
    }

    func testHelpListsCommands() throws {
        let result = try runPairGen(["--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.standardOutput.contains("generate"))
    }
}
