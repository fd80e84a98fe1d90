import XCTest
@testable import Shapes

final class RandomTests: XCTestCase {
    /// Reference outputs of Vigna's splitmix64.c for seed 1234567.
    func testSplitMix64MatchesTheReference() {
        var rng = SplitMix64(seed: 1_234_567)
        XCTAssertEqual((0..<5).map { _ in rng.next() },
                       [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                        4_593_380_528_125_082_431, 16_408_922_859_458_223_821])
    }

    func testIntBelowStaysInRangeAndCoversIt() {
        var rng = SplitMix64(seed: 9)
        var seen = Set<Int>()
        for _ in 0..<2000 {
            let value = rng.int(below: 7)
            XCTAssertTrue((0..<7).contains(value))
            seen.insert(value)
        }
        XCTAssertEqual(seen.count, 7)
    }

    func testIndexedStreamsAreIndependentOfEachOther() {
        var a = SplitMix64(seed: 5, index: 0), b = SplitMix64(seed: 5, index: 1)
        let first = (0..<8).map { _ in a.next() }, second = (0..<8).map { _ in b.next() }
        XCTAssertTrue(Set(first).isDisjoint(with: second))
        var again = SplitMix64(seed: 5, index: 1)
        XCTAssertEqual((0..<8).map { _ in again.next() }, second)
    }

    func testShuffleIsAPermutation() {
        var rng = SplitMix64(seed: 3)
        let items = Array(0..<50)
        let shuffled = rng.shuffled(items)
        XCTAssertNotEqual(shuffled, items)
        XCTAssertEqual(shuffled.sorted(), items)
    }
}
