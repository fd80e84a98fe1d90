import Foundation
import Shapes
import UserFolders
import XCTest
@testable import Training

/// The shapes pool the trainer draws from: every draw a pure function of (seed, step, slot), and
/// no held-out (color, shape) pair anywhere in it.
final class ShapesDatasetTests: XCTestCase {
    func testDrawsAreDeterministic() {
        let a = ShapesDataset(captions: 300, seed: 11, imageSize: 32), b = ShapesDataset(captions: 300, seed: 11, imageSize: 32)
        XCTAssertEqual(a.captions, b.captions)
        for (step, slot) in [(0, 0), (1, 3), (17, 31), (1000, 5)] {
            let i = a.index(step: step, slot: slot)
            XCTAssertEqual(i, b.index(step: step, slot: slot))
            XCTAssertEqual(a.image(index: i, step: step, slot: slot), b.image(index: i, step: step, slot: slot))
        }
        // New places for the same caption at another step; another seed, another pool.
        XCTAssertNotEqual(a.image(index: 0, step: 0, slot: 0), a.image(index: 0, step: 1, slot: 0))
        XCTAssertNotEqual(a.captions, ShapesDataset(captions: 300, seed: 12, imageSize: 32).captions)
    }

    func testPoolNeverShowsAHeldOutCombination() {
        let pool = ShapesDataset(captions: 1500, seed: 1, imageSize: 32)
        for (caption, description) in zip(pool.captions, pool.descriptions) {
            for group in description.groups {
                if let color = group.color { XCTAssertFalse(HeldOut.contains(color: color, shape: group.shape), caption) }
            }
        }
    }

    /// Data must never be the bottleneck of training (~30 samples/s here). The rate is printed,
    /// not asserted: a timing on a shared machine says more about the machine than the code (the
    /// trainer's log shows the data share).
    /// `readingOrderSpread` is refused without reading order or outside [0, 0.4], and reaches the
    /// pool's layout: the same captions (so the cached features stay valid), other pictures.
    func testReadingOrderSpreadIsCheckedAndReachesTheLayout() throws {
        var config = TrainingConfig.standard()
        config.data.readingOrderSpread = 0.3
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual("\($0)", "readingOrderSpread needs readingOrder") }
        config.data.readingOrder = true
        XCTAssertNoThrow(try config.validate())
        config.data.readingOrderSpread = 0.5
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual("\($0)", "readingOrderSpread must be in [0, 0.4] (got 0.5)") }

        var data = TrainingConfig.Data()
        data.captions = 200; data.readingOrder = true
        let plain = ShapesDataset(data, imageSize: 32)
        data.readingOrderSpread = 0.3
        let spread = ShapesDataset(data, imageSize: 32)
        XCTAssertEqual(plain.captions, spread.captions)
        let pairs = plain.descriptions.indices.filter { plain.descriptions[$0].groups.count == 2 && plain.descriptions[$0].relation == nil }
        XCTAssertFalse(pairs.isEmpty)
        let differ = pairs.filter { plain.image(index: $0, step: 3, slot: 0) != spread.image(index: $0, step: 3, slot: 0) }
        XCTAssertEqual(spread.layout.readingOrderSpread, 0.3)
        XCTAssertNil(plain.layout.readingOrderSpread)
        // Pictures whose plain layout already spreads the pair are drawn the same.
        XCTAssertGreaterThan(differ.count, pairs.count / 4)
    }

    func testPicturesPerSecond() throws {
        #if DEBUG
        throw XCTSkip("a throughput figure only means something in a release build")
        #endif
        let pool = ShapesDataset(captions: 500, seed: 3, imageSize: 64)
        let start = Date()
        var values = 0
        for slot in 0..<2000 { values += pool.image(index: pool.index(step: 0, slot: slot), step: 0, slot: slot).count }
        print("shapes dataset: \(Int(2000 / Date().timeIntervalSince(start))) pictures/s at 64×64 (one core)")
        XCTAssertEqual(values, 2000 * 64 * 64 * 3)
    }
}

final class FeatureCacheFolderTests: XCTestCase {
    /// The trainer's LLM feature cache lives where every other user folder is resolved.
    func testFeatureCacheIsTheUserFeaturesFolder() {
        XCTAssertEqual(FeatureCache.defaultRoot.path, UserFolder.features.path())
    }
}
