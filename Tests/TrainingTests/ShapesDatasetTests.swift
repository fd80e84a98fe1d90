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
