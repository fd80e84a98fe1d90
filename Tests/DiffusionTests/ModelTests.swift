import XCTest
import GradientTestSupport
import Foundation
import Kernels
import NeuralLayers
import PromptEncoder
@testable import Diffusion
import Sampling

final class ModelTests: XCTestCase {
    /// End to end: refiners + DiT + rectified-flow loss, for each prediction target / loss space.
    func testEndToEndGradient() {
        for (pred, lossSpace) in [(Prediction.cleanImage, LossSpace.velocity), (.cleanImage, .cleanImage), (.velocity, .velocity)] {
            let model = LIDiTModel(config: tinyConfig(prediction: pred, loss: lossSpace), seed: 3)
            randomizeParameters(model.parameters, seed: 4)
            let B = 3
            var batch = randomTrainingBatch(for: model, batch: B, textTokens: [5, 6], seed: 11)
            batch.sigmas = [0.02, 0.4, 0.85]     // one below σ_min = 0.05 (JiT's clamp)
            batch.text.fusionWeights = [1, 0.6]
            batch.text.dropText = [false, false, true]
            let loss = { () -> Double in model.loss(batch).loss }
            checkGradients("end-to-end \(pred)/\(lossSpace)", store: model.parameters, inputs: [], epsilon: 3e-3, samples: 300,
                           lossFn: loss) {
                model.trainingStep(batch)
            }
        }
    }

    func testLossValues() {
        let model = LIDiTModel(config: tinyConfig(prediction: .cleanImage, loss: .velocity), seed: 3)
        // At init the output is exactly zero (adaLN-Zero gates, zero final layer): x̂₀ = 0.
        var batch = randomTrainingBatch(for: model, batch: 2, textTokens: [5, 6], seed: 1)
        batch.sigmas = [0.5, 0.01]
        let out = model.predict(noisy: batch.images, sigmas: batch.sigmas, text: batch.text)
        XCTAssertTrue(out.allSatisfy { $0 == 0 })
        let r = model.loss(batch)
        let n = model.geometry.pixelsPerImage
        var expect = [0.0, 0.0]
        for b in 0..<2 {
            let s = Double(max(batch.sigmas[b], 0.05))
            for i in (b * n)..<((b + 1) * n) { expect[b] += Double(batch.images[i] * batch.images[i]) / (s * s) }
            expect[b] /= Double(n)
        }
        XCTAssertEqual(Double(r.perSample[0]), expect[0], accuracy: 1e-4 * expect[0])
        XCTAssertEqual(Double(r.perSample[1]), expect[1], accuracy: 1e-4 * expect[1])
        XCTAssertEqual(r.loss, (expect[0] + expect[1]) / 2, accuracy: 1e-4 * r.loss)
    }

    func testZeroInitialisedRefinerIsIdentityOnInputProjection() {
        for normalize in [false, true] {
            var cfg = tinyConfig().refiner
            cfg.normalizeFeatures = normalize
            cfg.branches[0].instructionTokens = 0
            cfg.branches[1].instructionTokens = 0
            let store = ParameterStore()
            let enc = LIPromptEncoderNetwork(config: cfg, store: store)
            store.finalize(seed: 7)
            let (B, tokens) = (2, [5, 6])
            let input = textInput(cfg, batch: B, tokens: tokens, valid: [[4, 5], [6, 3]], seed: 3)
            let ws = enc.makeWorkspace(batch: B, tokens: tokens)
            var sig: [Float] = [0.3, 0.7]
            enc.forward(store, input, sigmas: &sig, ws)
            let d = cfg.width, ly = ws.yTokens
            var o = 0
            for (a, r) in enc.refiners.enumerated() {
                let L = tokens[a], D = r.llmWidth
                var x = input.branches[a].features
                if normalize {
                    var mean = [Float](repeating: 0, count: B * L), rstd = mean, y = x
                    LayerNormLayer(nil, "", dim: D, eps: 1e-6, affine: false).forward(nil, x, rows: B * L, into: &y, mean: &mean, rstd: &rstd)
                    x = y
                }
                var expected = [Float](repeating: 0, count: B * L * d)
                r.inputProjection.forward(store, x, rows: B * L, into: &expected)
                for b in 0..<B {
                    for t in 0..<L where input.branches[a].mask[b * L + t] != 0 {
                        let got = Array(UnsafeBufferPointer(start: ws.y + (b * ly + o + t) * d, count: d))
                        XCTAssertEqual(got, Array(expected[((b * L + t) * d)..<((b * L + t + 1) * d)]),
                                       "branch \(a) sample \(b) token \(t) normalize=\(normalize)")
                        XCTAssertEqual(ws.yMask[b * ly + o + t], 1)
                    }
                }
                o += L
            }
        }
    }

    func testPermutingPaddedPositionsLeavesValidOutputsUnchanged() {
        let model = LIDiTModel(config: tinyConfig(), seed: 3)
        randomizeParameters(model.parameters, seed: 5)
        let (B, tokens) = (2, [5, 6])
        let valid = [[3, 5], [6, 2]]
        let input = textInput(model.config.refiner, batch: B, tokens: tokens, valid: valid, seed: 3)
        let noisy = RandomGenerator(seed: 8).normals(count: B * model.geometry.pixelsPerImage)
        let sig: [Float] = [0.3, 0.6]
        func run(_ inp: RefinerInput) -> (y: [Float], mask: [UInt8], out: [Float]) {
            let out = model.predict(noisy: noisy, sigmas: sig, text: inp)
            let ws = model.workspace(batch: B, textTokens: tokens).encoder
            let n = B * ws.yTokens
            return (Array(UnsafeBufferPointer(start: ws.y, count: n * model.config.refiner.width)),
                    Array(UnsafeBufferPointer(start: ws.yMask, count: n)), out)
        }
        let before = run(input)
        var permuted = input
        for (a, br) in model.config.refiner.branches.enumerated() {
            let L = tokens[a], D = br.width
            for b in 0..<B {
                let pads = Array(valid[a][b]..<L)
                guard !pads.isEmpty else { continue }
                // Rotate the padded tokens' features, then overwrite one with fresh values.
                for (i, t) in pads.enumerated() {
                    let src = pads[(i + 1) % pads.count]
                    for k in 0..<D { permuted.branches[a].features[(b * L + t) * D + k] = input.branches[a].features[(b * L + src) * D + k] }
                }
                let fresh = RandomGenerator(seed: 99).normals(count: D)
                for k in 0..<D { permuted.branches[a].features[(b * L + pads[0]) * D + k] = 5 * fresh[k] }
            }
        }
        XCTAssertNotEqual(input.branches[0].features, permuted.branches[0].features)
        let after = run(permuted)
        XCTAssertEqual(before.mask, after.mask)
        let d = model.config.refiner.width
        for i in 0..<before.mask.count where before.mask[i] != 0 {
            XCTAssertEqual(Array(before.y[(i * d)..<((i + 1) * d)]), Array(after.y[(i * d)..<((i + 1) * d)]), "Y token \(i)")
        }
        XCTAssertEqual(before.out, after.out, "DiT output")
    }

    /// With the full mask the first token's refined output depends on later tokens; with the causal mask
    /// it does not. The change to later tokens (+δ on one, −δ on another) keeps the pooled mean — the
    /// conditioning input seen by every token — fixed, so only attention can carry it.
    func testCausalMaskAblation() {
        for causal in [false, true] {
            let cfg = RefinerConfig(branches: [LLMBranchConfig(name: "llm", width: 12)], width: 16, heads: 2, blocks: 2,
                                    causalMask: causal, normalizeFeatures: false)
            let store = ParameterStore()
            let enc = LIPromptEncoderNetwork(config: cfg, store: store)
            store.finalize(seed: 1)
            randomizeParameters(store, seed: 2)
            let L = 6
            let input = textInput(cfg, batch: 1, tokens: [L], valid: [[L]], seed: 4)
            var changed = input
            let delta = RandomGenerator(seed: 5).normals(count: 12)
            for k in 0..<12 { changed.branches[0].features[3 * 12 + k] += delta[k]; changed.branches[0].features[4 * 12 + k] -= delta[k] }
            let ws = enc.makeWorkspace(batch: 1, tokens: [L])
            var sig: [Float] = [0.5]
            func firstAndLast(_ inp: RefinerInput) -> ([Float], [Float]) {
                enc.forward(store, inp, sigmas: &sig, ws)
                return (Array(UnsafeBufferPointer(start: ws.y, count: 16)), Array(UnsafeBufferPointer(start: ws.y + 5 * 16, count: 16)))
            }
            let (f0, l0) = firstAndLast(input), (f1, l1) = firstAndLast(changed)
            let firstDiff = zip(f0, f1).map { abs($0 - $1) }.max()!
            let lastDiff = zip(l0, l1).map { abs($0 - $1) }.max()!
            if causal {
                XCTAssertLessThan(firstDiff, 1e-5, "causal: first token must not see later tokens")
            } else {
                XCTAssertGreaterThan(firstDiff, 1e-3, "full mask: first token must see later tokens")
            }
            XCTAssertGreaterThan(lastDiff, 1e-3, "the last token sees the changed tokens either way")
        }
    }

    func testZeroFusionWeightMasksBranchOut() {
        let model = LIDiTModel(config: tinyConfig(), seed: 3)
        randomizeParameters(model.parameters, seed: 5)
        let (B, tokens) = (2, [5, 6])
        var input = textInput(model.config.refiner, batch: B, tokens: tokens, valid: [[5, 4], [6, 6]], seed: 3)
        input.fusionWeights = [1, 0]
        let noisy = RandomGenerator(seed: 8).normals(count: B * model.geometry.pixelsPerImage)
        let sig: [Float] = [0.3, 0.6]
        let out1 = model.predict(noisy: noisy, sigmas: sig, text: input)
        let ws = model.workspace(batch: B, textTokens: tokens).encoder
        for b in 0..<B { for j in 4..<8 { XCTAssertEqual(ws.yMask[b * 8 + j], 0, "branch b's tokens masked") } }
        var other = input
        other.branches[1].features = RandomGenerator(seed: 77).normals(count: other.branches[1].features.count)
        let out2 = model.predict(noisy: noisy, sigmas: sig, text: other)
        XCTAssertEqual(out1, out2, "a switched-off branch has no influence")
    }

    func testDroppedTextIgnoresFeatures() {
        let model = LIDiTModel(config: tinyConfig(), seed: 3)
        randomizeParameters(model.parameters, seed: 5)
        let (B, tokens) = (2, [5, 6])
        var input = textInput(model.config.refiner, batch: B, tokens: tokens, valid: [[5, 4], [6, 6]], seed: 3)
        input.dropText = [true, false]
        let n = model.geometry.pixelsPerImage
        let noisy = RandomGenerator(seed: 8).normals(count: B * n)
        let sig: [Float] = [0.3, 0.6]
        let out1 = model.predict(noisy: noisy, sigmas: sig, text: input)
        var other = input
        for a in 0..<2 {
            let D = model.config.refiner.branches[a].width, L = tokens[a]
            for i in 0..<(L * D) { other.branches[a].features[i] += 1 }   // sample 0 only
        }
        let out2 = model.predict(noisy: noisy, sigmas: sig, text: other)
        XCTAssertEqual(Array(out1[0..<n]), Array(out2[0..<n]))
        XCTAssertEqual(Array(out1[n...]), Array(out2[n...]))
    }

    /// A dropped row's DiT sees its text tokens but not their pooled vector: text whose masked mean
    /// is zero (two tokens v and −v) gives the same output dropped or not, any other text does not,
    /// and the row beside it is untouched.
    func testPooledTextDropoutHidesOnlyThePooledVector() {
        let cfg = tinyConfig()
        let store = ParameterStore()
        let net = LIDiTNetwork(config: cfg, textWidth: 6, store: store)
        store.finalize(seed: 1)
        randomizeParameters(store, seed: 2)
        let (B, S, D) = (2, 2, 6)
        let n = cfg.geometry.pixelsPerImage
        let ws = net.makeWorkspace(batch: B, textTokens: S)
        let x = RandomGenerator(seed: 3).normals(count: B * n)
        let sigmas: [Float] = [0.4, 0.7]
        let mask = [UInt8](repeating: 1, count: B * S)
        let v = RandomGenerator(seed: 4).normals(count: D)
        let balanced = v + v.map { -$0 } + RandomGenerator(seed: 5).normals(count: S * D)
        let generic = RandomGenerator(seed: 6).normals(count: B * S * D)
        func output(_ text: [Float], _ dropped: [Bool]) -> [Float] {
            net.forward(store, x: x, sigmas: sigmas, text: text, textValid: mask, batch: B, textTokens: S, pooledDropped: dropped, ws)
            return Array(UnsafeBufferPointer(start: ws.output, count: B * n))
        }
        XCTAssertEqual(output(balanced, [true, false]), output(balanced, [false, false]))
        let kept = output(generic, [false, false]), dropped = output(generic, [true, false])
        XCTAssertNotEqual(Array(kept[0..<n]), Array(dropped[0..<n]))
        XCTAssertEqual(Array(kept[n...]), Array(dropped[n...]))
    }

    /// The pooled text scale acts at sampling only: at 0 a sample is what a row with its pooled
    /// vector dropped gives, at 0.5 something else again, and the training loss never sees it.
    func testPooledTextScaleActsAtSamplingOnly() {
        var soft = tinyConfig(), off = tinyConfig()
        soft.pooledTextScale = 0.5
        off.pooledTextScale = 0
        let models = [tinyConfig(), soft, off].map { LIDiTModel(config: $0, seed: 3) }
        for m in models { randomizeParameters(m.parameters, seed: 4) }
        let batch = randomTrainingBatch(for: models[0], batch: 2, textTokens: [5, 6], seed: 11)
        let n = models[0].geometry.pixelsPerImage
        let outs = models.map { $0.predict(noisy: batch.images, sigmas: batch.sigmas, text: batch.text) }
        XCTAssertNotEqual(outs[0], outs[1])
        XCTAssertNotEqual(outs[1], outs[2])
        XCTAssertNotEqual(outs[0], outs[2])

        let ws = models[0].workspace(batch: 1, textTokens: [5, 6])
        ws.sigmas[0] = batch.sigmas[1]
        batch.images.withUnsafeBufferPointer { ws.noisy.update(from: $0.baseAddress! + n, count: n) }
        models[0].runNetworks(text: batch.text.row(1), batch: 1, pooledDropped: [true], ws)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: ws.network.output, count: n)), Array(outs[2][n...]))

        XCTAssertEqual(models[0].loss(batch).loss, models[1].loss(batch).loss)
        XCTAssertEqual(models[0].loss(batch).loss, models[2].loss(batch).loss)
    }

    func testPooledTextScaleIsOptionalAndChecked() throws {
        let json = String(decoding: try JSONEncoder().encode(tinyConfig()), as: UTF8.self)
        XCTAssertFalse(json.contains("pooledTextScale"), "a model without the setting writes no key")
        let text = #"{"refiner": {"branches": [{"name": "smollm2", "width": 576, "instructionTokens": 3}]}, "pooledTextScale": 0.5}"#
        var cfg = try JSONDecoder().decode(LIDiTConfig.self, from: Data(text.utf8))
        XCTAssertEqual(cfg.pooledTextScale, 0.5)
        XCTAssertNil(cfg.validate())
        cfg.pooledTextScale = 1.5
        XCTAssertEqual(cfg.validate(), "pooledTextScale must be in [0, 1] (got 1.5)")
        cfg.pooledTextScale = .nan
        XCTAssertNotNil(cfg.validate())
        cfg.pooledTextScale = 0.5
        cfg.pooledText = false
        XCTAssertEqual(cfg.validate(), "pooledTextScale needs a model with pooled text (pooledText)")
    }

    func testConfigCodable() throws {
        let cfg = LIDiTConfig.standard(instructionTokens: [30, 28])
        let data = try JSONEncoder().encode(cfg)
        XCTAssertEqual(try JSONDecoder().decode(LIDiTConfig.self, from: data), cfg)
        let minimal = #"{"refiner": {"branches": [{"name": "smollm2", "width": 576, "instructionTokens": 3}]}, "patch": 4, "imageSize": 32}"#
        let m = try JSONDecoder().decode(LIDiTConfig.self, from: Data(minimal.utf8))
        XCTAssertEqual(m.patch, 4); XCTAssertEqual(m.width, 192); XCTAssertEqual(m.prediction, .cleanImage)
        XCTAssertEqual(m.refiner.blocks, 2); XCTAssertTrue(m.refiner.collaborativeRefiner)
        XCTAssertNil(m.validate())
        XCTAssertEqual(m.geometry.tokens, 64)
    }

    func testParameterNamesAndAblationSwitches() {
        let full = LIDiTModel(config: tinyConfig())
        let names = full.parameters.entries.map(\.name)
        XCTAssertTrue(names.contains("encoder.a.refiner.blocks.1.attn.q.weight"))
        XCTAssertTrue(names.contains("encoder.b.collaborative.0.cross_attn.k_norm.weight"))
        XCTAssertTrue(names.contains("dit.blocks.1.cross_attn.k.weight"))
        XCTAssertTrue(names.contains("dit.final.linear.weight"))
        XCTAssertEqual(full.parameters.entry(named: "dit.blocks.0.cross_attn.k.weight")!.shape, [16, 12])
        XCTAssertEqual(full.parameters.entry(named: "dit.blocks.0.attn.q.weight")!.shape, [16, 16])
        var cfg = tinyConfig()
        cfg.refiner.tokenRefiner = false
        cfg.refiner.collaborativeRefiner = false
        let bare = LIDiTModel(config: cfg)
        XCTAssertFalse(bare.parameters.entries.contains { $0.name.contains("refiner.blocks") || $0.name.contains("collaborative") || $0.name.contains("t_embedder") && $0.name.hasPrefix("encoder") })
        // Still trains end to end.
        let batch = randomTrainingBatch(for: bare, batch: 2, textTokens: [5, 6])
        bare.parameters.zeroGradients()
        XCTAssertTrue(bare.trainingStep(batch).loss.isFinite)
    }

    func testGradientsAreThreadCountInvariant() {
        func grads(_ threads: Int) -> [Float] {
            let saved = Parallel.threads
            Parallel.setThreads(threads)
            defer { Parallel.setThreads(saved) }
            var cfg = tinyConfig()
            cfg.imageSize = 16; cfg.width = 64; cfg.refiner.width = 64
            let model = LIDiTModel(config: cfg, seed: 1)
            randomizeParameters(model.parameters, seed: 2, scale: 0.1)
            let batch = randomTrainingBatch(for: model, batch: 16, textTokens: [9, 12], seed: 3)
            model.trainingStep(batch)
            return Array(UnsafeBufferPointer(start: model.parameters.gradients, count: model.parameters.count))
        }
        let g1 = grads(1)
        XCTAssertEqual(g1, grads(2))
    }

    func testPlainSGDReducesLoss() {
        let model = LIDiTModel(config: tinyConfig(prediction: .velocity), seed: 1)
        let batch = randomTrainingBatch(for: model, batch: 8, textTokens: [5, 6], seed: 2)
        let p = model.parameters
        var first = 0.0, last = 0.0
        for step in 0..<40 {
            p.zeroGradients()
            let l = model.trainingStep(batch).loss
            if step == 0 { first = l }
            last = l
            for i in 0..<p.count { p.values[i] -= 0.2 * p.gradients[i] }
        }
        XCTAssertLessThan(last, 0.9 * first, "loss \(first) → \(last)")
    }

    func testBenchmarkRuns() {
        let r = benchmarkTrainingStep(config: tinyConfig(), batch: 4, textTokens: [5, 6], repeats: 1)
        XCTAssertGreaterThan(r.samplesPerSecond, 0)
        print(r)
    }

    /// The default size; only when LIDIT_BENCH is set (release: swift test -c release -Xswiftc -enable-testing).
    func testBenchmarkDefaultSize() throws {
        guard ProcessInfo.processInfo.environment["LIDIT_BENCH"] != nil else { throw XCTSkip("set LIDIT_BENCH=1") }
        let batch = Int(ProcessInfo.processInfo.environment["LIDIT_BENCH_BATCH"] ?? "") ?? 64
        print(benchmarkTrainingStep(batch: batch))
    }
}

/// The flat parameter layout is what checkpoints store (Training saves `parameters.values` as one
/// tensor), so it must not change silently: declaration order and shapes are pinned here.
final class LayoutTests: XCTestCase {
    func testStandardModelLayoutIsPinned() {
        let m = LIDiTModel(config: .standard())
        let e = m.parameters.entries
        let block = e.filter { $0.name.hasPrefix("dit.blocks.0.") }.map { "\($0.name.dropFirst(13)) \($0.shape)" }
        XCTAssertEqual(block, [
            "adaLN.weight [1728, 192]", "adaLN.bias [1728]",
            "attn.q.weight [192, 192]", "attn.q.bias [192]", "attn.k.weight [192, 192]", "attn.k.bias [192]",
            "attn.v.weight [192, 192]", "attn.v.bias [192]", "attn.out.weight [192, 192]", "attn.out.bias [192]",
            "attn.q_norm.weight [48]", "attn.k_norm.weight [48]",
            "cross_attn.q.weight [192, 192]", "cross_attn.q.bias [192]", "cross_attn.k.weight [192, 192]", "cross_attn.k.bias [192]",
            "cross_attn.v.weight [192, 192]", "cross_attn.v.bias [192]", "cross_attn.out.weight [192, 192]", "cross_attn.out.bias [192]",
            "cross_attn.q_norm.weight [48]", "cross_attn.k_norm.weight [48]",
            "mlp.fc1.weight [768, 192]", "mlp.fc1.bias [768]", "mlp.fc2.weight [192, 768]", "mlp.fc2.bias [192]",
        ])
        let refiner = e.filter { $0.name.hasPrefix("encoder.smollm2.refiner.blocks.0.") }.map(\.name)
        XCTAssertEqual(refiner.map { String($0.dropFirst(33)) }, [
            "adaLN.weight", "adaLN.bias", "norm1.weight", "norm1.bias",
            "attn.q.weight", "attn.q.bias", "attn.k.weight", "attn.k.bias", "attn.v.weight", "attn.v.bias",
            "attn.out.weight", "attn.out.bias", "norm2.weight", "norm2.bias",
            "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
        ])
        XCTAssertEqual(e.first?.name, "encoder.smollm2.refiner.input.weight")
        XCTAssertEqual(e.last?.name, "dit.final.linear.bias")
        XCTAssertEqual(m.parameters.count, 9_988_416)
    }
}
