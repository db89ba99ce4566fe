import Corpus
import Foundation
import XCTest
@testable import PairGenJob

final class SamplerTests: XCTestCase {
    func passage(_ number: Int) -> Passage {
        Passage(id: "d\(number)", title: "", text: "texto \(number)", file: "f", line: number + 1)
    }

    func testSameSeedSameSampleWhateverTheOrder() {
        var forward = PassageSampler(capacity: 25, seed: 9)
        var backward = PassageSampler(capacity: 25, seed: 9)
        for number in 0..<1000 { forward.offer(passage(number), document: number) }
        for number in (0..<1000).reversed() { backward.offer(passage(number), document: number) }
        XCTAssertEqual(forward.sample(), backward.sample())
        XCTAssertEqual(forward.sample().count, 25)
        let documents = forward.sample().map(\.document)
        XCTAssertEqual(documents, documents.sorted(), "the sample comes in corpus order")

        var other = PassageSampler(capacity: 25, seed: 10)
        for number in 0..<1000 { other.offer(passage(number), document: number) }
        XCTAssertNotEqual(other.sample().map(\.document), documents)
    }

    func testMemoryStaysAtCapacity() {
        var sampler = PassageSampler(capacity: 10, seed: 1)
        for number in 0..<20_000 {
            sampler.offer(passage(number), document: number)
            XCTAssertLessThanOrEqual(sampler.count, 10)
        }
        XCTAssertEqual(sampler.count, 10)
    }

    func testSampleIsSpreadOverTheCorpus() {
        var sampler = PassageSampler(capacity: 200, seed: 3)
        for number in 0..<2000 { sampler.offer(passage(number), document: number) }
        let late = sampler.sample().filter { $0.document >= 1000 }.count
        XCTAssertTrue((60...140).contains(late), "\(late) of 200 from the second half")
    }

    func testAllKeepsEveryPassageInOrder() {
        var sampler = PassageSampler(capacity: nil, seed: 1)
        for number in 0..<50 { sampler.offer(passage(number), document: number) }
        XCTAssertEqual(sampler.sample().map(\.document), Array(0..<50))
    }

    func testStableSeedsAreFixedValues() {
        // Fixed by SipHash: they must never change between processes or versions.
        XCTAssertEqual(StableSeed.passage(jobSeed: 42, passageID: "CF1"),
            StableSeed.passage(jobSeed: 42, passageID: "CF1"))
        XCTAssertNotEqual(StableSeed.passage(jobSeed: 42, passageID: "CF1"),
            StableSeed.passage(jobSeed: 43, passageID: "CF1"))
        XCTAssertNotEqual(StableSeed.derive(["ab", "c"]), StableSeed.derive(["a", "bc"]))
        // SipHash-2-4's published test vectors, key 00 01 ... 0f.
        let key: (UInt64, UInt64) = (0x0706_0504_0302_0100, 0x0F0E_0D0C_0B0A_0908)
        XCTAssertEqual(SipHash.hash([], key: key), 0x726F_DB47_DD0E_0E31)
        XCTAssertEqual(SipHash.hash(Array(0..<15), key: key), 0xA129_CA61_49BE_45E5)
        XCTAssertEqual(SipHash.hash(Array(0..<8), key: key), 0x93F5_F579_9A93_2462)
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
    }
}
