import XCTest
import Shapes
@testable import Training

/// The pool's composition weights: what a config asks for is what the pool holds. Needs no LLM files.
final class CompositionTests: XCTestCase {
    enum Kind: Hashable { case single, counting, pair, relation, list }

    func kind(_ d: SceneDescription) -> Kind {
        if d.relation != nil { return .relation }
        switch d.groups.count {
        case 1: return d.groups[0].count == 1 ? .single : .counting
        case 2: return .pair
        default: return .list
        }
    }

    func shares(_ pool: ShapesDataset) -> [Kind: Double] {
        var counts: [Kind: Double] = [:]
        for d in pool.descriptions { counts[kind(d), default: 0] += 1 }
        return counts.mapValues { $0 / Double(pool.descriptions.count) }
    }

    func testWithoutWeightsThePoolIsTheOneEarlierRunsUsed() {
        var data = TrainingConfig.Data()
        data.captions = 500; data.seed = 3; data.grammar = .wide; data.colorRate = 0.6
        let fromConfig = ShapesDataset(data, imageSize: 32)
        let direct = ShapesDataset(captions: 500, seed: 3, imageSize: 32, grammar: .wide, colorRate: 0.6)
        XCTAssertEqual(fromConfig.captions, direct.captions)
        data.compositions = Compositions()
        XCTAssertEqual(ShapesDataset(data, imageSize: 32).captions, direct.captions, "the default weights are the old ones")
    }

    func testWeightsSetThePoolsMix() {
        var data = TrainingConfig.Data()
        data.captions = 3000; data.seed = 5; data.grammar = .wide
        data.compositions = Compositions(single: 0, counting: 0.4, pair: 0.2, relation: 0.4, list: 0)
        let s = shares(ShapesDataset(data, imageSize: 32))
        XCTAssertNil(s[.single]); XCTAssertNil(s[.list])
        XCTAssertEqual(s[.counting] ?? 0, 0.4, accuracy: 0.04)
        XCTAssertEqual(s[.relation] ?? 0, 0.4, accuracy: 0.04)
        XCTAssertEqual(s[.pair] ?? 0, 0.2, accuracy: 0.04)
    }

    func testBadWeightsAreRefused() throws {
        var config = TrainingConfig.standard()
        config.data.compositions = Compositions(single: 0, counting: 0, pair: 0, relation: 0, list: 0)
        XCTAssertThrowsError(try config.validate())
        config.data.compositions = Compositions(single: 1, counting: -1, pair: 0, relation: 0, list: 0)
        XCTAssertThrowsError(try config.validate())
        config.data.compositions = Compositions(single: .nan, counting: 1, pair: 0, relation: 0, list: 0)
        XCTAssertThrowsError(try config.validate())
        config.data.compositions = Compositions(single: 0, counting: 1, pair: 0, relation: 0, list: 0)
        XCTAssertNoThrow(try config.validate())
    }
}
