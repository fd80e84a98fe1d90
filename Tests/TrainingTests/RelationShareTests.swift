import XCTest
import Shapes
@testable import Training

/// The shapes pool's draws: uniform by default (the stream every earlier run trained on), or with a
/// set share of relation captions. Needs no LLM files.
final class RelationShareTests: XCTestCase {
    let pool = ShapesDataset(captions: 2000, seed: 1, imageSize: 32)
    let draws = (0..<1000).flatMap { step in (0..<8).map { (step, $0) } }

    func relationFraction(_ d: ShapesDataset) -> Double {
        Double(draws.filter { d.descriptions[d.index(step: $0.0, slot: $0.1)].relation != nil }.count) / Double(draws.count)
    }

    func testWithoutAShareDrawsAreTheUniformStreamEarlierRunsUsed() {
        for (step, slot) in draws.prefix(200) {
            let expected = Int(SplitMix64.mix(1 ^ SplitMix64.mix(UInt64(step) &* 0x9E37_79B9 &+ UInt64(slot))) % 2000)
            XCTAssertEqual(pool.index(step: step, slot: slot), expected)
        }
        let inPool = Double(pool.descriptions.filter { $0.relation != nil }.count) / 2000
        XCTAssertEqual(relationFraction(pool), inPool, accuracy: 0.03)
        XCTAssertLessThan(inPool, 0.35)
    }

    func testAShareSetsTheFractionOfRelationDrawsAndCoversThem() {
        let d = ShapesDataset(captions: 2000, seed: 1, imageSize: 32, relationShare: 0.6)
        XCTAssertEqual(d.captions, pool.captions, "the share changes the draws, not the pool (so cached features stay valid)")
        XCTAssertEqual(relationFraction(d), 0.6, accuracy: 0.03)
        let drawn = Set(draws.map { d.index(step: $0.0, slot: $0.1) })
        let relations = Set(d.descriptions.indices.filter { d.descriptions[$0].relation != nil })
        XCTAssertGreaterThan(Double(drawn.intersection(relations).count), 0.95 * Double(relations.count))
        // About 3200 draws over about 1500 other captions: 1 − e^−2.1 ≈ 0.88 of them expected.
        XCTAssertGreaterThan(Double(drawn.subtracting(relations).count), 0.8 * Double(2000 - relations.count))
        XCTAssertEqual(d.index(step: 7, slot: 3), d.index(step: 7, slot: 3))
        XCTAssertEqual(relationFraction(ShapesDataset(captions: 2000, seed: 1, imageSize: 32, relationShare: 0)), 0)
        XCTAssertEqual(relationFraction(ShapesDataset(captions: 2000, seed: 1, imageSize: 32, relationShare: 1)), 1)
    }

    func testRelationsRestrictTheRelationDrawsToThoseKinds() throws {
        let horizontal: Set<Relation> = [.leftOf, .rightOf]
        let d = ShapesDataset(captions: 2000, seed: 1, imageSize: 32, relationShare: 0.5, relations: horizontal)
        XCTAssertEqual(d.captions, pool.captions)
        let drawn = draws.compactMap { d.descriptions[d.index(step: $0.0, slot: $0.1)].relation?.relation }
        XCTAssertEqual(Double(drawn.count) / Double(draws.count), 0.5, accuracy: 0.03)
        XCTAssertEqual(Set(drawn), horizontal)
        let inPool = Set(d.descriptions.indices.filter { d.descriptions[$0].relation.map { horizontal.contains($0.relation) } ?? false })
        XCTAssertGreaterThan(Double(Set(draws.map { d.index(step: $0.0, slot: $0.1) }).intersection(inPool).count), 0.95 * Double(inPool.count))

        var config = TrainingConfig.standard()
        config.data.relations = [.leftOf]
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual("\($0)", "relations needs a relation share") }
        config.data.relationShare = 0.5
        XCTAssertNoThrow(try config.validate())
        config.data.relations = []
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual("\($0)", "relations must name at least one relation") }
        let json = #"{"captions": 10, "seed": 1, "maxObjects": 4, "relationShare": 1, "relations": ["left of", "right of"]}"#
        XCTAssertEqual(try JSONDecoder().decode(TrainingConfig.Data.self, from: Data(json.utf8)).relations, [.leftOf, .rightOf])
    }

    func testAShareOutsideZeroToOneIsRejected() throws {
        var config = TrainingConfig.standard()
        config.data.relationShare = 1.5
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual("\($0)", "relation share must be in [0, 1]") }
        config.data.relationShare = 0.5
        XCTAssertNoThrow(try config.validate())
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(TrainingConfig.standard()))
        XCTAssertNil(decoded.data.relationShare)
    }
}
