import Foundation
import Kernels
import Shapes
import XCTest
@testable import Training

/// A mixture of pools: each draw picks a pool by its share, then exactly the entry and picture
/// that pool alone would give; the pools' feature caches join into one in caption order.
final class MixedDatasetTests: XCTestCase {
    let a = ShapesDataset(captions: 300, seed: 1, imageSize: 32)
    let b = ShapesDataset(captions: 200, seed: 2, imageSize: 32, colorRate: 0)

    func testDrawsFollowTheSharesAndThePoolsOwnDraws() {
        let mix = MixedDataset(pools: [a, b], shares: [1, 3])
        XCTAssertEqual(mix.captions, a.captions + b.captions)
        var fromB = 0, total = 0
        for step in 0..<200 {
            for slot in 0..<32 {
                let i = mix.index(step: step, slot: slot)
                total += 1
                if i >= a.captions.count {
                    fromB += 1
                    XCTAssertEqual(i - a.captions.count, b.index(step: step, slot: slot))
                } else {
                    XCTAssertEqual(i, a.index(step: step, slot: slot))
                }
            }
        }
        // 6400 draws: the standard error of the share is 0.0054.
        XCTAssertEqual(Double(fromB) / Double(total), 0.75, accuracy: 0.025)
        // A picture is the pool's own picture for its entry.
        XCTAssertEqual(mix.image(index: 300 + 17, step: 5, slot: 3), b.image(index: 17, step: 5, slot: 3))
        XCTAssertEqual(mix.image(index: 299, step: 5, slot: 3), a.image(index: 299, step: 5, slot: 3))
    }

    func testSharesDefaultToPoolSizesAndZeroShareIsNeverDrawn() {
        XCTAssertEqual(MixedDataset(pools: [a, b]).shares, [0.6, 0.4])
        let onlyB = MixedDataset(pools: [a, b], shares: [0, 1])
        for step in 0..<50 { for slot in 0..<8 { XCTAssertGreaterThanOrEqual(onlyB.index(step: step, slot: slot), 300) } }
    }

    func testConfigDescribesAMixtureAndRejectsBadOnes() throws {
        var config = TrainingConfig.standard()
        config.data.captions = 300; config.data.seed = 1
        var other = TrainingConfig.Data()
        other.captions = 200; other.seed = 2; other.colorRate = 0
        config.data.alongside = [other]
        try config.validate()
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: try JSONEncoder().encode(config))
        XCTAssertEqual(decoded, config)
        let mix = shapesData(decoded.data, imageSize: 32)
        XCTAssertTrue(mix is MixedDataset)
        XCTAssertEqual(mix.captions, a.captions + b.captions)
        XCTAssertEqual(mix.captionGroups, [a.captions, b.captions])
        XCTAssertEqual(shapesData(TrainingConfig.Data(), imageSize: 32).captionGroups.count, 1)

        var halfShared = config
        halfShared.data.share = 1
        XCTAssertThrowsError(try halfShared.validate())
        var nested = config
        nested.data.alongside![0].alongside = [TrainingConfig.Data()]
        XCTAssertThrowsError(try nested.validate())
        var tooMany = config
        tooMany.data.alongside![0].maxObjects = 9
        XCTAssertThrowsError(try tooMany.validate())
        var tooFew = config
        tooFew.data.maxObjects = 1
        XCTAssertThrowsError(try tooFew.validate())
        var badPool = config
        badPool.data.alongside![0].colorRate = 2
        XCTAssertThrowsError(try badPool.validate())
    }

    func testConcatenatedCachesKeepEveryCaptionsFeatures() {
        let width = 3
        let prefix: [Float] = [1, 2, 3]
        func half(_ x: [Float]) -> [UInt16] {
            var out = [UInt16](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { convertFloatToHalf($0.baseAddress!, &out, count: x.count) }
            return out
        }
        let first = FeatureCache(encoderID: "e", width: width, prefix: prefix, starts: [0, 1], counts: [1, 2],
                                 rows: half([4, 5, 6, 7, 8, 9, 10, 11, 12]))
        let second = FeatureCache(encoderID: "e", width: width, prefix: prefix, starts: [0], counts: [1],
                                  rows: half([13, 14, 15]))
        let joined = FeatureCache.concatenated([first, second])
        func features(_ cache: FeatureCache, _ i: Int) -> [Float] {
            var out = [Float](repeating: 0, count: cache.tokenCount(i) * width)
            _ = out.withUnsafeMutableBufferPointer { cache.features(i, into: $0.baseAddress!) }
            return out
        }
        XCTAssertEqual(features(joined, 0), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(features(joined, 1), [1, 2, 3, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(features(joined, 2), [1, 2, 3, 13, 14, 15])
    }
}
