import XCTest
import Foundation
import Diffusion
import ImageIO
import Kernels
import ModelFiles
import PromptEncoder
import Sampling
import Shapes
import Pipeline
@testable import Training

/// These use the real LLM files (skipped with a message when they are absent) and a tiny
/// LI-DiT so they run in seconds.
final class TrainingTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        let store = ModelStore()
        for m in KnownModel.all where !store.isPresent(m) { throw XCTSkip("\(m.fileName) missing: run `lidit models fetch`") }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    static func tinyConfig() -> TrainingConfig {
        var model = LIDiTConfig.standard()
        model.imageSize = 16; model.patch = 4; model.width = 32; model.depth = 1; model.heads = 2
        model.refiner.width = 32; model.refiner.heads = 2; model.refiner.blocks = 1
        var c = TrainingConfig(model: model, encoders: [.init(id: "smollm2"), .init(id: "gemma3")])
        c.data.captions = 6
        c.batchSize = 3
        c.optimizer.totalSteps = 6
        c.optimizer.warmupSteps = 2
        c.checkpointSeconds = 1e9
        c.sampleEvery = 1_000_000
        c.logEvery = 1
        return c
    }

    func losses(_ folder: URL) throws -> [String] {
        try String(contentsOf: folder.appendingPathComponent("loss.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { line in
                let f = line.split(separator: ",")
                return "\(f[0]),\(f[1]),\(f[3])"   // step, loss, gradient norm
            }
    }

    func testInterruptedRunResumesOnTheSameLossCurve() throws {
        let features = dir.appendingPathComponent("features")
        let straight = dir.appendingPathComponent("straight"), interrupted = dir.appendingPathComponent("interrupted")
        let t1 = try Trainer(folder: straight, config: Self.tinyConfig(), featureRoot: features) { _ in }
        try t1.train(shouldStop: { false }, report: { _ in }, log: { _ in })
        XCTAssertEqual(t1.step, 6)

        var calls = 0
        let t2 = try Trainer(folder: interrupted, config: Self.tinyConfig(), featureRoot: features) { _ in }
        try t2.train(shouldStop: { calls += 1; return calls > 4 }, report: { _ in }, log: { _ in })
        XCTAssertEqual(t2.step, 4, "stopped after four steps, with a checkpoint")
        let t3 = try Trainer(folder: interrupted, config: nil, featureRoot: features) { _ in }
        XCTAssertEqual(t3.step, 4)
        try t3.train(shouldStop: { false }, report: { _ in }, log: { _ in })
        XCTAssertEqual(try losses(straight), try losses(interrupted), "the resumed run must continue the same curve")
        XCTAssertEqual(try losses(straight).count, 6)
        XCTAssertEqual(try noiseLog(straight), try noiseLog(interrupted), "the per-σ log must continue the same curve too")
        let a = try SafetensorsFile.read(path: t1.checkpointPath), b = try SafetensorsFile.read(path: t3.checkpointPath)
        XCTAssertEqual(a.tensor("ema")?.values, b.tensor("ema")?.values)
    }

    func testWarmStartAcrossConfigurationsCopiesTheTensorsTheyShare() throws {
        let features = dir.appendingPathComponent("features")
        let source = try Trainer(folder: dir.appendingPathComponent("source"), config: Self.tinyConfig(), featureRoot: features) { _ in }
        try source.train(shouldStop: { false }, report: { _ in }, log: { _ in })
        let file = dir.appendingPathComponent("source.safetensors").path
        try source.exportModel(to: file, modelID: "source")

        var withoutPool = Self.tinyConfig()
        withoutPool.model.pooledText = false
        var log: [String] = []
        let target = try Trainer(folder: dir.appendingPathComponent("target"), config: withoutPool, featureRoot: features,
                                 initialWeights: file) { log.append($0) }
        let src = source.model.parameters, dst = target.model.parameters
        var weights = try SafetensorsFile.read(path: file).tensor("weights")!.values
        XCTAssertEqual(weights.count, src.count)
        XCTAssertLessThan(dst.count, src.count, "the run without the pooled-text embedder is smaller")
        for e in dst.entries {
            let s = src.entry(named: e.name)!
            let copied = Array(UnsafeBufferPointer(start: dst.values + e.offset, count: e.count))
            let inFile = Array(weights[s.offset..<s.offset + s.count])
            XCTAssertEqual(copied, inFile, "\(e.name) must come from the file, at its own offset there")
        }
        XCTAssertTrue(log.contains { $0.contains("initialised \(dst.entries.count) of \(dst.entries.count) tensors") }, "\(log)")

        // The other way round, the embedder the file lacks is initialised afresh and named.
        let noPoolFile = dir.appendingPathComponent("nopool.safetensors").path
        try target.exportModel(to: noPoolFile, modelID: "nopool")
        log = []
        let back = try Trainer(folder: dir.appendingPathComponent("back"), config: Self.tinyConfig(), featureRoot: features,
                               initialWeights: noPoolFile) { log.append($0) }
        XCTAssertTrue(log.contains { $0.contains("newly initialised: dit.y_embedder.fc1.weight") }, "\(log)")
        weights = try SafetensorsFile.read(path: noPoolFile).tensor("weights")!.values
        let e = back.model.parameters.entry(named: "dit.final.linear.weight") ?? back.model.parameters.entries.last!
        let s = target.model.parameters.entry(named: e.name)!
        XCTAssertEqual(Array(UnsafeBufferPointer(start: back.model.parameters.values + e.offset, count: e.count)),
                       Array(weights[s.offset..<s.offset + s.count]))

        // A file that shares nothing is refused with a one-line reason.
        var other = Self.tinyConfig()
        other.model.width = 48; other.model.refiner.width = 48; other.model.patch = 2
        XCTAssertThrowsError(try Trainer(folder: dir.appendingPathComponent("other"), config: other, featureRoot: features,
                                         initialWeights: noPoolFile) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("shares no weights"), "\(error)")
        }
    }

    /// A 16×16 model in 4×4 patches carried to 8×8 in 2×2 patches (the same 4×4 token grid): the
    /// small model's output on any image is the big one's on that image upsampled, box-downsampled.
    func testWarmStartFoldsPatchesForImagesHalfTheSize() throws {
        let features = dir.appendingPathComponent("features")
        let source = try Trainer(folder: dir.appendingPathComponent("source"), config: Self.tinyConfig(), featureRoot: features) { _ in }
        var rng = SplitMix64(seed: 11)
        source.optimizer.ema = source.optimizer.ema.map { _ in Float(rng.unit() - 0.5) * 0.4 }
        let file = dir.appendingPathComponent("big.safetensors").path
        try source.exportModel(to: file, modelID: "big")
        let big = LIDiTModel(config: Self.tinyConfig().model)
        XCTAssertEqual(try warmStart(big.parameters, geometry: big.geometry, from: file).fresh, [])

        var smallConfig = Self.tinyConfig().model
        smallConfig.imageSize = 8; smallConfig.patch = 2
        let small = LIDiTModel(config: smallConfig, seed: 3)
        let copied = try warmStart(small.parameters, geometry: small.geometry, from: file)
        XCTAssertEqual(copied.fresh, [], "the patch embedding and output projection are folded, not left fresh")
        XCTAssertEqual(copied.matched, small.parameters.entries.count)

        let batch = source.batch(step: 0)
        let (B, C, n) = (batch.batch, 3, 8)
        let x = (0..<(B * C * n * n)).map { _ in Float(rng.unit() * 2 - 1) }
        var upsampled = [Float](repeating: 0, count: B * C * 4 * n * n)
        for plane in 0..<(B * C) { for y in 0..<(2 * n) { for xx in 0..<(2 * n) {
            upsampled[(plane * 2 * n + y) * 2 * n + xx] = x[(plane * n + y / 2) * n + xx / 2]
        } } }
        let bigOut = big.predict(noisy: upsampled, sigmas: batch.sigmas, text: batch.text)
        let smallOut = small.predict(noisy: x, sigmas: batch.sigmas, text: batch.text)
        var worst: Float = 0, scale: Float = 0
        for plane in 0..<(B * C) { for y in 0..<n { for xx in 0..<n {
            var mean: Float = 0
            for dy in 0..<2 { for dx in 0..<2 { mean += bigOut[(plane * 2 * n + 2 * y + dy) * 2 * n + 2 * xx + dx] / 4 } }
            worst = max(worst, abs(mean - smallOut[(plane * n + y) * n + xx]))
            scale = max(scale, abs(mean))
        } } }
        XCTAssertGreaterThan(scale, 0.05, "a random model's output is not near zero")
        XCTAssertLessThan(worst, 1e-4 * max(1, scale))

        // Patches that do not divide are not folded: those tensors start fresh and are named.
        var odd = Self.tinyConfig().model
        odd.imageSize = 12; odd.patch = 3
        let other = LIDiTModel(config: odd)
        let partial = try warmStart(other.parameters, geometry: other.geometry, from: file)
        XCTAssertTrue(partial.fresh.contains("dit.x_embedder.weight"), "\(partial.fresh)")
    }

    func testAGrownCaptionPoolComputesOnlyItsNewParts() throws {
        let encoder = try LLMTextEncoder.load("smollm2")
        let sha = KnownModel.named("smollm2")!.sha256
        let root = dir.appendingPathComponent("features")
        let pool = ["a red circle", "two blue squares", "a green star above a heart", "a yellow ring", "a purple diamond"]
        let grown = pool + ["three orange crosses", "a small pink triangle"]
        func load(_ captions: [String], root: URL) throws -> FeatureCache {
            try FeatureCache.load(encoder: encoder, modelSHA256: sha, layer: -3, captions: captions, root: root, partSize: 2)
        }
        _ = try load(pool, root: root)
        let folder = try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)
        XCTAssertEqual(folder.count, 1, "one folder per encoder setting, whatever the pool")
        let partsBefore = Set(try FileManager.default.contentsOfDirectory(atPath: folder[0].path).filter { $0.hasSuffix(".f16") })
        XCTAssertEqual(partsBefore.count, 3)   // [0, 1], [2, 3], [4]
        // Zero the stored numbers of part [0, 1]: reading it back gives zeros, computing it again would not.
        var hasher = SHA256()
        for c in pool[0..<2] { hasher.update(Array(c.utf8)); hasher.update([0]) }
        let firstPart = folder[0].appendingPathComponent("part-" + String(hasher.finalize().prefix(24)) + ".f16")
        let stored = try Data(contentsOf: firstPart)
        try Data(count: stored.count).write(to: firstPart)

        let cache = try load(grown, root: root)
        let partsAfter = Set(try FileManager.default.contentsOfDirectory(atPath: folder[0].path).filter { $0.hasSuffix(".f16") })
        // [0, 1] and [2, 3] are reused; [4, 5] and [6] are new; the old partial [4] stays for the old pool.
        XCTAssertTrue(partsBefore.isSubset(of: partsAfter))
        XCTAssertEqual(partsAfter.count, 5)

        let fresh = try load(grown, root: dir.appendingPathComponent("fresh"))
        let width = encoder.model.config.width
        for i in grown.indices {
            XCTAssertEqual(cache.tokenCount(i), fresh.tokenCount(i))
            var a = [Float](repeating: 0, count: cache.tokenCount(i) * width), b = a
            _ = cache.features(i, into: &a); _ = fresh.features(i, into: &b)
            let own = (cache.prefixTokens * width)...
            if i < 2 {
                XCTAssertTrue(a[own].allSatisfy { $0 == 0 }, "caption \(i) was computed again instead of read")
                XCTAssertFalse(b[own].allSatisfy { $0 == 0 })
            } else {
                XCTAssertEqual(a, b, "caption \(i): the grown pool's numbers differ from a fresh build's")
            }
        }
        // A changed caption changes its part's name, so stale numbers are never read.
        var edited = grown; edited[1] = "two blue hearts"
        _ = try load(edited, root: root)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder[0].path).filter { $0.hasSuffix(".f16") }.count, 6)
    }

    func noiseLog(_ folder: URL) throws -> [[String]] {
        try String(contentsOf: folder.appendingPathComponent("loss-by-noise.csv"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func testLossByNoiseLevelFillsTheBinsTheBatchDrew() throws {
        let run = dir.appendingPathComponent("run")
        let trainer = try Trainer(folder: run, config: Self.tinyConfig(), featureRoot: dir.appendingPathComponent("features")) { _ in }
        try trainer.train(shouldStop: { false }, report: { _ in }, log: { _ in })
        let rows = try noiseLog(run)
        XCTAssertEqual(rows.first, ["step"] + (0..<10).map { "sigma_0.\($0)" })
        let overall = try losses(run).map { Double($0.split(separator: ",")[1])! }
        XCTAssertEqual(rows.count, 1 + 6)
        for (k, row) in rows.dropFirst().enumerated() {
            XCTAssertEqual(row.count, 11)
            XCTAssertEqual(row[0], String(k + 1))
            // logEvery is 1: a bin has a value exactly when one of that step's σ fell in it.
            let drawn = Set(trainer.batch(step: k).sigmas.map { min(Int($0 * 10), 9) })
            XCTAssertEqual(Set((0..<10).filter { !row[1 + $0].isEmpty }), drawn, "step \(k + 1)")
            // The step's loss is the mean of its samples, so it lies between its bins' means.
            let values = row.dropFirst().compactMap { Double($0) }
            XCTAssertGreaterThanOrEqual(overall[k], values.min()! - 1e-5)
            XCTAssertLessThanOrEqual(overall[k], values.max()! + 1e-5)
        }
    }

    func testTrainsOnAFolderOfCaptionedPictures() throws {
        let data = dir.appendingPathComponent("pictures")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for (i, (caption, fill)) in [("a plain red picture", UInt8(200)), ("a dark picture", 20), ("a light picture", 240)].enumerated() {
            try PNGFile(image: RGBImage(width: 20, height: 24, fill: fill)).write(path: data.appendingPathComponent("p\(i).png").path)
            try caption.write(to: data.appendingPathComponent("p\(i).txt"), atomically: true, encoding: .utf8)
        }
        var config = Self.tinyConfig()
        config.data.folder = data.path
        config.optimizer.totalSteps = 3
        let t = try Trainer(folder: dir.appendingPathComponent("run"), config: config, featureRoot: dir.appendingPathComponent("features")) { _ in }
        XCTAssertEqual(t.dataset.captions, ["a plain red picture", "a dark picture", "a light picture"])
        // The batch holds the folder's pictures, scaled to the model's 16×16.
        let b = t.batch(step: 0)
        let n = 3 * 16 * 16
        for slot in 0..<config.batchSize {
            let i = t.dataset.index(step: 0, slot: slot)
            let expected = [Float(200), 20, 240][i] / 255 * 2 - 1
            XCTAssertEqual(b.images[slot * n], expected, accuracy: 1e-5)
            XCTAssertEqual(b.images[slot * n + n - 1], expected, accuracy: 1e-5)
        }
        try t.train(shouldStop: { false }, report: { _ in }, log: { _ in })
        XCTAssertEqual(t.step, 3)
        XCTAssertEqual(try losses(dir.appendingPathComponent("run")).count, 3)
        // The run folder remembers its data: resuming needs no flag.
        let resumed = try Trainer(folder: dir.appendingPathComponent("run"), config: nil, featureRoot: dir.appendingPathComponent("features")) { _ in }
        XCTAssertEqual(resumed.config.data.folder, data.path)
        XCTAssertEqual(resumed.step, 3)
    }

    func testGenerationIsIdenticalForOneAndTwoThreadsAndAcrossRuns() throws {
        let t = try Trainer(folder: dir.appendingPathComponent("run"), config: Self.tinyConfig(),
                            featureRoot: dir.appendingPathComponent("features")) { _ in }
        // Random weights (zero-initialised gates and output layer included) exercise every operation.
        let untrainedDigest = t.weightsDigest
        t.optimizer.ema = RandomGenerator(seed: 3).normals(count: t.optimizer.ema.count).map { $0 * 0.05 }
        XCTAssertEqual(t.weightsDigest.count, 8)
        XCTAssertNotEqual(t.weightsDigest, untrainedDigest, "other weights, another id")
        XCTAssertEqual(t.weightsDigest, t.weightsDigest)
        let path = dir.appendingPathComponent("m.safetensors").path
        try t.exportModel(to: path, modelID: "test")
        let pipeline = try ImagePipeline.load(modelPath: path)
        var request = GenerationRequest(prompt: "a red circle to the left of a blue square")
        request.sampler = SamplerSettings(sampler: .eulerAncestral, steps: 6, shift: 1, guidanceScale: 3)
        let saved = Parallel.threads
        defer { Parallel.setThreads(saved) }
        Parallel.setThreads(1)
        let one = try pipeline.generate(request, seeds: [11, 12])
        Parallel.setThreads(2)
        let two = try pipeline.generate(request, seeds: [11, 12])
        let again = try pipeline.generate(request, seeds: [11, 12])
        XCTAssertEqual(one, two)
        XCTAssertEqual(two, again)
        XCTAssertNotEqual(one[0], one[1], "different seeds give different pictures")
        // A batch of seeds gives each seed's own picture.
        XCTAssertEqual(try pipeline.generate(request, seeds: [12])[0], one[1])
    }
}

/// Bring-your-own data: a folder of PNG pictures with same-named .txt captions.
final class ImageFolderDatasetTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    /// Left half red, right half blue, `width`×`height`.
    func halves(width: Int, height: Int) -> RGBImage {
        var img = RGBImage(width: width, height: height, fill: 0)
        for y in 0..<height { for x in 0..<width {
            img.pixels[(y * width + x) * 3 + (x < width / 2 ? 0 : 2)] = 255
        } }
        return img
    }

    func write(_ name: String, _ image: RGBImage, caption: String?) throws {
        try PNGFile(image: image).write(path: dir.appendingPathComponent(name + ".png").path)
        if let caption { try caption.write(to: dir.appendingPathComponent(name + ".txt"), atomically: true, encoding: .utf8) }
    }

    func testLoadsCaptionedPicturesAndSkipsTheRestWithWarnings() throws {
        try write("a", halves(width: 8, height: 8), caption: "red on the left, blue on the right\n")
        try write("b", RGBImage(width: 8, height: 8, fill: 255), caption: "  a white square  ")
        try write("nocaption", RGBImage(width: 8, height: 8, fill: 0), caption: nil)
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]).write(to: dir.appendingPathComponent("broken.png"))
        try "broken".write(to: dir.appendingPathComponent("broken.txt"), atomically: true, encoding: .utf8)
        try Data([0xFF, 0xD8]).write(to: dir.appendingPathComponent("photo.jpg"))
        try write("empty", RGBImage(width: 8, height: 8, fill: 0), caption: "   ")
        var warnings: [String] = []
        let d = try ImageFolderDataset(folder: dir.path, imageSize: 4, seed: 1) { warnings.append($0) }
        XCTAssertEqual(d.files, ["a.png", "b.png"])
        XCTAssertEqual(d.captions, ["red on the left, blue on the right", "a white square"])
        XCTAssertEqual(warnings.count, 4, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.hasPrefix("broken.png: skipped") }, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.hasPrefix("nocaption.png: skipped (no caption file") }, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.hasPrefix("photo.jpg: skipped (only PNG") }, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.hasPrefix("empty.txt: skipped (empty caption)") }, "\(warnings)")
        // Planar [−1, 1]: the red channel is +1 on the left half and −1 on the right; blue the opposite.
        let img = d.image(index: 0, step: 0, slot: 0)
        let n = 16
        XCTAssertEqual(img.count, 3 * n)
        for y in 0..<4 { for x in 0..<4 {
            XCTAssertEqual(img[y * 4 + x], x < 2 ? 1 : -1, accuracy: 1e-6)
            XCTAssertEqual(img[2 * n + y * 4 + x], x < 2 ? -1 : 1, accuracy: 1e-6)
            XCTAssertEqual(img[n + y * 4 + x], -1, accuracy: 1e-6)
        } }
        // Draws are a pure function of (step, slot) and cover the pool.
        XCTAssertEqual(d.index(step: 5, slot: 2), d.index(step: 5, slot: 2))
        XCTAssertEqual(Set((0..<64).map { d.index(step: $0, slot: 0) }), [0, 1])
    }

    func testCentreCropAndAreaAverage() {
        // 6×4: the centred 4×4 square is columns 1...4; left half of it (columns 1, 2) is red.
        let img = halves(width: 6, height: 4)
        let out = SquareResample.resample(img, to: 2)
        // Output column 0 covers source columns 1–2 (both red), column 1 covers 3–4 (both blue).
        XCTAssertEqual(Array(out[0..<3]), [1, 0, 0])
        XCTAssertEqual(Array(out[3..<6]), [0, 0, 1])
        // 3 → 2 pixels: the middle source pixel is split half and half.
        let w = SquareResample.areaWeights(from: 3, to: 2)
        XCTAssertEqual(w[0].map(\.0), [0, 1])
        XCTAssertEqual(w[0][0].1, 2.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(w[0][1].1, 1.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(w[1].map(\.0), [1, 2])
        // Transparent pixels become the mid-gray background.
        var rgba = RGBImage(width: 2, height: 2, channels: 4, fill: 0)
        rgba.pixels[3] = 255; rgba.pixels[0] = 255   // top-left opaque red
        let g = SquareResample.resample(rgba, to: 2)
        XCTAssertEqual(Array(g[0..<3]), [1, 0, 0])
        XCTAssertEqual(Array(g[3..<6]), [0.5, 0.5, 0.5])
    }

    func testAFolderWithoutUsablePicturesIsAClearError() throws {
        try "orphan".write(to: dir.appendingPathComponent("x.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ImageFolderDataset(folder: dir.path, imageSize: 8, seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("no usable pictures"), "\(error)")
        }
        XCTAssertThrowsError(try ImageFolderDataset(folder: dir.path + "/missing", imageSize: 8, seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("no such folder"), "\(error)")
        }
    }
}
