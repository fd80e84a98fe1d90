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

    /// The wide style's pools (and the LLM features cached for them) must not change when the
    /// grammar grows: the first 500 captions of e11's second pool (seed 11, colors 60%), as the
    /// tenth session's code wrote them to `runs/e13pdhalf/captions.txt`, FNV-1a 64 of their lines.
    func testWideCaptionsAreThoseEarlierRunsCached() {
        let pool = ShapesDataset(captions: 500, seed: 11, imageSize: 32, grammar: .wide, colorRate: 0.6)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in pool.captions.joined(separator: "\n").utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        XCTAssertEqual(pool.captions.prefix(2), ["render a couple of small squares",
                                                  "a picture of up top a white heart that is tiny, with down at the bottom a circle whose color is pink"])
        XCTAssertEqual(hash, 0x70e2_7c0a_42fc_cbe7)
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
