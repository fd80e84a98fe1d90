import XCTest
import Foundation
import Diffusion
import Kernels
import ModelFiles
import PromptEncoder
import Sampling
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
        let a = try SafetensorsFile.read(path: t1.checkpointPath), b = try SafetensorsFile.read(path: t3.checkpointPath)
        XCTAssertEqual(a.tensor("ema")?.values, b.tensor("ema")?.values)
    }

    func testGenerationIsIdenticalForOneAndTwoThreadsAndAcrossRuns() throws {
        let t = try Trainer(folder: dir.appendingPathComponent("run"), config: Self.tinyConfig(),
                            featureRoot: dir.appendingPathComponent("features")) { _ in }
        // Random weights (zero-initialised gates and output layer included) exercise every operation.
        t.optimizer.ema = RandomGenerator(seed: 3).normals(count: t.optimizer.ema.count).map { $0 * 0.05 }
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
