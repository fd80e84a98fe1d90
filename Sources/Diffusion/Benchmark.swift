import Foundation
import Kernels
import NeuralLayers
import PromptEncoder

/// Timing of one training step (forward + backward, no optimizer) on random data.
public struct TrainingBenchmark: Sendable, CustomStringConvertible {
    public var batch: Int
    public var threads: Int
    public var parameterCount: Int
    public var textTokens: [Int]
    /// Median seconds of the forward pass (+ loss), the backward pass, and both.
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    public var stepSeconds: Double
    public var samplesPerSecond: Double
    /// Forward GFLOP per sample (2 × multiply-adds of GEMMs and attention products).
    public var forwardGFLOPPerSample: Double
    /// Achieved GFLOP/s counting a training step as 3 × forward (the usual 6·params·tokens convention).
    public var gflops: Double
    /// Of which the prompt encoder's refiners take this share of the forward FLOPs.
    public var encoderFlopShare: Double
    /// Median seconds of the parts: refiners forward, DiT forward (+ loss), DiT backward, refiners backward.
    public var parts: [String: Double] = [:]
    /// sgemm GFLOP/s on a 1536³ product measured in the same run (the kernels' tiled sgemm, all threads):
    /// the reference for `gflops` on a machine whose load varies.
    public var sgemmPeakGFLOPS: Double = 0
    /// Bytes of activation/gradient workspace.
    public var workspaceBytes: Int = 0

    public var description: String {
        String(format: "batch %d threads %d params %.2fM text %@: fwd %.3f s bwd %.3f s step %.3f s → %.1f samples/s, %.2f GFLOP/sample fwd, %.1f GFLOP/s (refiners %.0f%% of FLOPs)",
               batch, threads, Double(parameterCount) / 1e6, textTokens.description, forwardSeconds, backwardSeconds, stepSeconds,
               samplesPerSecond, forwardGFLOPPerSample, gflops, 100 * encoderFlopShare)
            + String(format: "\n  sgemm 1536³ in the same run: %.1f GFLOP/s → step at %.0f%% of it; workspace %.0f MB",
                     sgemmPeakGFLOPS, 100 * gflops / max(sgemmPeakGFLOPS, 1e-9), Double(workspaceBytes) / 1e6)
            + parts.sorted { $0.key < $1.key }.map { String(format: "\n  %@ %.3f s", $0.key, $0.value) }.joined()
    }
}

/// A batch of random data shaped for `model` (features N(0,1); each sample's valid text length drawn
/// between half and all of its branch's tokens; σ uniform in (0, 1)).
public func randomTrainingBatch(for model: LIDiTModel, batch B: Int, textTokens: [Int], seed: UInt64 = 1) -> TrainingBatch {
    var rng = RandomGenerator(seed: seed)
    let n = model.geometry.pixelsPerImage
    let images = rng.normals(count: B * n); rng = RandomGenerator(seed: seed &+ 1)
    let noise = rng.normals(count: B * n)
    var sig = RandomGenerator(seed: seed &+ 2)
    let sigmas = (0..<B).map { _ in min(0.999, max(0.001, sig.uniform())) }
    var branches: [RefinerBranchInput] = []
    for (a, cfg) in model.config.refiner.branches.enumerated() {
        let L = textTokens[a]
        let feats = RandomGenerator(seed: seed &+ 10 &+ UInt64(a)).normals(count: B * L * cfg.width)
        var mask = [UInt8](repeating: 0, count: B * L)
        for b in 0..<B {
            let lo = max(cfg.instructionTokens + 1, L / 2)
            let valid = min(L, lo + sig.integer(below: max(1, L - lo + 1)))
            for t in 0..<valid { mask[b * L + t] = 1 }
        }
        branches.append(RefinerBranchInput(tokens: L, features: feats, mask: mask))
    }
    return TrainingBatch(batch: B, images: images, noise: noise, sigmas: sigmas,
                         text: RefinerInput(batch: B, branches: branches))
}

/// Times forward, backward and the whole step of a training iteration at `config`'s size
/// (the default model: 64×64, 8×8 patches, width 192, depth 6; two branches of `textTokens` tokens).
public func benchmarkTrainingStep(config: LIDiTConfig = .standard(), batch: Int = 64, textTokens: [Int]? = nil,
                                  repeats: Int = 3, seed: UInt64 = 0) -> TrainingBenchmark {
    let tokens = textTokens ?? config.refiner.branches.map { _ in 40 }
    let model = LIDiTModel(config: config, seed: seed)
    let data = randomTrainingBatch(for: model, batch: batch, textTokens: tokens, seed: seed &+ 100)
    let ws = model.workspace(batch: batch, textTokens: tokens)
    func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    var fwd: [Double] = [], bwd: [Double] = []
    var parts: [String: [Double]] = [:]
    for i in 0...max(1, repeats) {
        model.parameters.zeroGradients()
        let t0 = now()
        _ = model.forwardLoss(data, ws)
        let t1 = now()
        model.backward(ws)
        let t2 = now()
        if i > 0 { fwd.append(t1 - t0); bwd.append(t2 - t1) }   // the first run warms caches and pages
        // The parts, timed separately.
        let p = model.parameters, e = ws.encoder, n = ws.network
        let a0 = now()
        model.encoder.forward(p, data.text, sigmas: ws.sigmas, e)
        let a1 = now()
        model.network.forward(p, x: ws.noisy, sigmas: ws.sigmas, text: e.y, textValid: e.yMask, batch: batch,
                              textTokens: e.yTokens, n)
        let a2 = now()
        model.network.backward(p, dOutput: ws.dOutput, n, dText: ws.dY)
        let a3 = now()
        model.encoder.backward(p, dY: ws.dY, e)
        let a4 = now()
        if i > 0 {
            parts["1 refiners forward", default: []].append(a1 - a0)
            parts["2 DiT forward", default: []].append(a2 - a1)
            parts["3 DiT backward", default: []].append(a3 - a2)
            parts["4 refiners backward", default: []].append(a4 - a3)
        }
    }
    func median(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }
    let peak: Double = {
        let n = 1536
        let a = RandomGenerator(seed: 5).normals(count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var ts: [Double] = []
        for _ in 0..<4 {
            let t0 = now()
            sgemm(m: n, n: n, k: n, a: a, lda: n, b: a, ldb: n, c: &c, ldc: n)
            ts.append(now() - t0)
        }
        return 2 * pow(Double(n), 3) / median(Array(ts.dropFirst())) / 1e9
    }()
    let steps = zip(fwd, bwd).map { $0 + $1 }
    let flops = Double(model.forwardFlopsPerSample(textTokens: tokens))
    let encFlops = Double(model.encoder.forwardFlopsPerSample(tokens: tokens))
    let step = median(steps)
    return TrainingBenchmark(batch: batch, threads: Parallel.threads, parameterCount: model.parameters.count, textTokens: tokens,
                             forwardSeconds: median(fwd), backwardSeconds: median(bwd), stepSeconds: step,
                             samplesPerSecond: Double(batch) / step, forwardGFLOPPerSample: flops / 1e9,
                             gflops: 3 * flops * Double(batch) / step / 1e9, encoderFlopShare: encFlops / flops,
                             parts: parts.mapValues(median), sgemmPeakGFLOPS: peak,
                             workspaceBytes: ws.encoder.arena.byteCount + ws.network.arena.byteCount + ws.arena.byteCount)
}
