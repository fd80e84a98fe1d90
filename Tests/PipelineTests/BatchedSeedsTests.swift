import XCTest
import ModelFiles
import Sampling
@testable import Pipeline

/// Users rely on seeds: a batch of seeds (the studio's multi-image jobs, `lidit eval`'s seeds of a
/// case) must give each seed's picture exactly as generating that seed alone does. On the default
/// model, with both LLMs, guidance and a negative prompt, a deterministic and an ancestral sampler.
final class BatchedSeedsTests: XCTestCase {
    func testABatchOfSeedsGivesEachSeedsPictureBitForBit() throws {
        for id in ["smollm2", "gemma3"] where !ModelStore().isPresent(KnownModel.named(id)!) {
            throw XCTSkip("\(id) is missing: run `lidit models fetch`")
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let pipeline = try ImagePipeline.load(modelPath: repo.appendingPathComponent("models/lidit-shapes.safetensors").path)
        let seeds: [UInt64] = [3, 0, 11]
        for (sampler, negative) in [(SamplerKind.euler, ""), (.eulerAncestral, "a green star")] {
            var request = GenerationRequest(prompt: "three blue circles above a red square")
            request.negativePrompt = negative
            request.sampler = SamplerSettings(sampler: sampler, steps: 6, shift: 3, guidanceScale: 4)
            let batch = try pipeline.generate(request, seeds: seeds)
            XCTAssertEqual(batch.count, seeds.count)
            for (picture, seed) in zip(batch, seeds) {
                let alone = try pipeline.generate(request, seeds: [seed])[0]
                XCTAssertTrue(picture.pixels == alone.pixels, "\(sampler) seed \(seed): the batch's picture is the seed's own")
            }
            // Seeds are not all drawing the same picture: the comparison above has teeth.
            XCTAssertFalse(batch[0].pixels == batch[1].pixels)
        }
    }
}
