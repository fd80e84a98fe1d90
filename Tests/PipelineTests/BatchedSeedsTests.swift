import XCTest
import Kernels
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
        // Rows run side by side, each row's kernels on the workers its share leaves: the thread
        // count changes that sharing (3 threads over a batch of 4 rows: some rows alone, ...) and
        // must change nothing else.
        var request = GenerationRequest(prompt: "a star to the left of two hearts")
        request.sampler = SamplerSettings(sampler: .dpmpp2m, steps: 5, shift: 3, guidanceScale: 4)
        let saved = Parallel.threads
        defer { Parallel.setThreads(saved) }
        var pictures: [[[UInt8]]] = []
        for threads in [1, 2, 3, 5] {
            Parallel.setThreads(threads)
            pictures.append(try pipeline.generate(request, seeds: [4, 5]).map(\.pixels))
        }
        for (i, p) in pictures.enumerated().dropFirst() { XCTAssertTrue(p == pictures[0], "thread count \([1, 2, 3, 5][i])") }
    }
}
