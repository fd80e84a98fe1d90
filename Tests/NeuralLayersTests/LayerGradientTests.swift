import XCTest
import GradientTestSupport
import Kernels
@testable import NeuralLayers

/// Finite-difference checks (Float, central differences) of every layer's backward pass.
/// Loss = Σ r ⊙ y with fixed random r, so ∂L/∂y = r.
final class LayerGradientTests: XCTestCase {
    func testLinear() {
        let store = ParameterStore()
        let lin = Linear(store, "lin", inFeatures: 5, outFeatures: 6)
        store.finalize(seed: 1)
        randomizeParameters(store, seed: 2)
        let rows = 7
        let x = Buf(normal: rows * 5, seed: 3), dx = Buf(rows * 5)
        let y = Buf(rows * 6), r = Buf(normal: rows * 6, seed: 4)
        let loss = { () -> Double in lin.forward(store, x.p, rows: rows, into: y.p); return GradientCheck.weightedSum(y.p, r.p, count: y.count) }
        checkGradients("linear", store: store, inputs: [("x", x, dx)], lossFn: loss) {
            lin.forward(store, x.p, rows: rows, into: y.p)
            lin.backward(store, x: x.p, dy: r.p, rows: rows, dx: dx.p)
        }
    }

    func testLinearLargeRowsTiledWeightGradient() {
        // Exercises the tiled weight-gradient path (rows·in·out ≥ 2¹⁸) against a Double reference.
        let store = ParameterStore()
        let (rows, inF, outF) = (2100, 40, 70)
        let lin = Linear(store, "lin", inFeatures: inF, outFeatures: outF)
        store.finalize(seed: 1)
        let x = Buf(normal: rows * inF, seed: 3), dy = Buf(normal: rows * outF, seed: 4)
        lin.backward(store, x: x.p, dy: dy.p, rows: rows, dx: nil)
        let dW = store.gradient(lin.weight), db = store.gradient(lin.bias!)
        for o in stride(from: 0, to: outF, by: 7) {
            for i in stride(from: 0, to: inF, by: 3) {
                var s = 0.0
                for r in 0..<rows { s += Double(dy.p[r * outF + o]) * Double(x.p[r * inF + i]) }
                XCTAssertEqual(Double(dW[o * inF + i]), s, accuracy: 1e-3)
            }
            var sb = 0.0
            for r in 0..<rows { sb += Double(dy.p[r * outF + o]) }
            XCTAssertEqual(Double(db[o]), sb, accuracy: 1e-3)
        }
    }

    func testLayerNormAffineAndPlain() {
        for affine in [true, false] {
            let store = ParameterStore()
            let ln = LayerNormLayer(affine ? store : nil, "norm", dim: 9, eps: 1e-6, affine: affine)
            store.finalize(seed: 1)
            randomizeParameters(store, seed: 5)
            let rows = 6
            let x = Buf(normal: rows * 9, seed: 3), dx = Buf(rows * 9)
            let y = Buf(rows * 9), r = Buf(normal: rows * 9, seed: 4)
            let mean = Buf(rows), rstd = Buf(rows)
            let loss = { () -> Double in
                ln.forward(store, x.p, rows: rows, into: y.p, mean: mean.p, rstd: rstd.p)
                return GradientCheck.weightedSum(y.p, r.p, count: y.count)
            }
            checkGradients("layernorm affine=\(affine)", store: affine ? store : nil, inputs: [("x", x, dx)], epsilon: 3e-3, lossFn: loss) {
                _ = loss()
                ln.backward(store, x: x.p, dy: r.p, mean: mean.p, rstd: rstd.p, rows: rows, dx: dx.p)
            }
        }
    }

    func testRMSNorm() {
        let store = ParameterStore()
        let n = RMSNormLayer(store, "q_norm", dim: 8)
        store.finalize(seed: 1)
        randomizeParameters(store, seed: 5)
        let rows = 10
        let x = Buf(normal: rows * 8, seed: 3), dx = Buf(rows * 8)
        let y = Buf(rows * 8), r = Buf(normal: rows * 8, seed: 4), rstd = Buf(rows)
        let loss = { () -> Double in
            n.forward(store, x.p, rows: rows, into: y.p, rstd: rstd.p)
            return GradientCheck.weightedSum(y.p, r.p, count: y.count)
        }
        checkGradients("rmsnorm", store: store, inputs: [("x", x, dx)], epsilon: 3e-3, lossFn: loss) {
            _ = loss()
            n.backward(store, x: x.p, dy: r.p, rstd: rstd.p, rows: rows, dx: dx.p)
        }
    }

    func testActivations() {
        for kind in [Activation.silu, .geluTanh] {
            let n = 37
            let x = Buf(normal: n, seed: 3, scale: 2), dx = Buf(n), y = Buf(n), r = Buf(normal: n, seed: 4)
            let loss = { () -> Double in activationForward(kind, x.p, y.p, count: n); return GradientCheck.weightedSum(y.p, r.p, count: n) }
            checkGradients("\(kind)", store: nil, inputs: [("x", x, dx)], epsilon: 1e-3, lossFn: loss) {
                activationBackward(kind, x: x.p, dy: r.p, dx: dx.p, count: n, accumulate: true)
            }
            // Values against the textbook formulas.
            activationForward(kind, x.p, y.p, count: n)
            for i in 0..<n {
                let v = Double(x.p[i])
                let ref = kind == .silu ? v / (1 + exp(-v)) : 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
                XCTAssertEqual(Double(y.p[i]), ref, accuracy: 1e-6 * max(1, abs(ref)))
            }
        }
    }

    func testModulateAndGatedResidual() {
        let (B, T, D, stride) = (3, 4, 5, 15)
        let x = Buf(normal: B * T * D, seed: 1), dx = Buf(B * T * D)
        let mod = Buf(normal: B * stride, seed: 2, scale: 0.5), dmod = Buf(B * stride)
        let f = Buf(normal: B * T * D, seed: 3), df = Buf(B * T * D)
        let y = Buf(B * T * D), r = Buf(normal: B * T * D, seed: 4)
        // y = modulate(x; shift = mod[0:D], scale = mod[D:2D]) then out = y + gate ⊙ f, gate = mod[2D:3D]
        let tmp = Buf(B * T * D)
        let loss = { () -> Double in
            modulateForward(x.p, shift: mod.p, scale: mod.p + D, conditionStride: stride, batch: B, tokens: T, dim: D, into: tmp.p)
            gatedResidualForward(tmp.p, f.p, gate: mod.p + 2 * D, conditionStride: stride, batch: B, tokens: T, dim: D, into: y.p)
            return GradientCheck.weightedSum(y.p, r.p, count: y.count)
        }
        checkGradients("modulate+gate", store: nil, inputs: [("x", x, dx), ("mod", mod, dmod), ("f", f, df)], epsilon: 1e-2, lossFn: loss) {
            _ = loss()
            gatedResidualBackward(dOut: r.p, f: f.p, gate: mod.p + 2 * D, conditionStride: stride, batch: B, tokens: T, dim: D,
                                  dF: df.p, dGate: dmod.p + 2 * D)
            modulateBackward(x: x.p, dy: r.p, scale: mod.p + D, conditionStride: stride, batch: B, tokens: T, dim: D,
                             dx: dx.p, accumulate: true, dShift: dmod.p, dScale: dmod.p + D)
        }
    }

    func testMaskedMean() {
        let (B, T, D) = (3, 5, 4)
        let mask: [UInt8] = [1, 1, 0, 1, 0,  0, 0, 0, 0, 0,  1, 1, 1, 1, 1]
        let x = Buf(normal: B * T * D, seed: 1), dx = Buf(B * T * D), y = Buf(B * D), r = Buf(normal: B * D, seed: 2)
        mask.withUnsafeBufferPointer { m in
            let loss = { () -> Double in
                maskedMeanForward(x.p, mask: m.baseAddress, batch: B, tokens: T, dim: D, into: y.p)
                return GradientCheck.weightedSum(y.p, r.p, count: y.count)
            }
            checkGradients("masked mean", store: nil, inputs: [("x", x, dx)], lossFn: loss) {
                maskedMeanBackward(dOut: r.p, mask: m.baseAddress, batch: B, tokens: T, dim: D, dx: dx.p)
            }
            _ = loss()
            for d in 0..<D {
                XCTAssertEqual(y.p[d], (x.p[d] + x.p[D + d] + x.p[3 * D + d]) / 3, accuracy: 1e-6)
                XCTAssertEqual(y.p[D + d], 0, "a row without valid tokens pools to zero")
            }
        }
    }

    func testMLPAndTimestepEmbedder() {
        let store = ParameterStore()
        let mlp = MLP(store, "mlp", inFeatures: 6, hidden: 10, outFeatures: 5, activation: .geluTanh)
        let temb = TimestepEmbedder(store, "t", dim: 8, frequencyDim: 16)
        store.finalize(seed: 1)
        randomizeParameters(store, seed: 2)
        let arena = Arena()
        let rows = 5
        let x = Buf(normal: rows * 6, seed: 3), dx = Buf(rows * 6)
        let y = Buf(rows * 5), r = Buf(normal: rows * 5, seed: 4)
        let t = Buf(3); t.p[0] = 0; t.p[1] = 250; t.p[2] = 999
        let e = Buf(3 * 8), re = Buf(normal: 3 * 8, seed: 5)
        let ma = mlp.makeActivations(arena, rows: rows), ta = temb.makeActivations(arena, batch: 3)
        let scratch = arena.floats(rows * 10)
        let loss = { () -> Double in
            mlp.forward(store, x.p, rows: rows, ma, into: y.p)
            temb.forward(store, timesteps: t.p, batch: 3, ta, into: e.p)
            return GradientCheck.weightedSum(y.p, r.p, count: y.count) + GradientCheck.weightedSum(e.p, re.p, count: e.count)
        }
        checkGradients("mlp+timestep", store: store, inputs: [("x", x, dx)], lossFn: loss) {
            _ = loss()
            mlp.backward(store, x: x.p, dy: r.p, rows: rows, ma, dx: dx.p, scratch: scratch)
            temb.backward(store, dy: re.p, batch: 3, ta)
        }
    }

    func testTimestepSinusoidCosFirst() {
        var t: [Float] = [500]
        var out = [Float](repeating: 0, count: 256)
        timestepSinusoid(&t, batch: 1, dim: 256, into: &out)
        XCTAssertEqual(out[0], Float(cos(500.0)), accuracy: 1e-6)   // f_0 = 1, cos first
        XCTAssertEqual(out[128], Float(sin(500.0)), accuracy: 1e-6)
        let f5 = exp(-log(10_000.0) * 5 / 128)
        XCTAssertEqual(out[5], Float(cos(500 * f5)), accuracy: 1e-6)
        XCTAssertEqual(out[133], Float(sin(500 * f5)), accuracy: 1e-6)
    }

    func attentionCheck(cross: Bool, qkNorm: Bool, kind: AttentionMask.Kind, padded: Bool) {
        let store = ParameterStore()
        let (B, T, S, D, C, H) = (2, 4, cross ? 5 : 4, 8, cross ? 6 : 8, 2)
        let att = AttentionLayer(store, "attn", dim: D, contextDim: cross ? C : nil, heads: H, qkNorm: qkNorm)
        store.finalize(seed: 1)
        randomizeParameters(store, seed: 2, scale: 0.5)
        let arena = Arena()
        let a = att.makeActivations(arena, batch: B, queries: T, keys: S)
        let sc = AttentionLayer.Scratch(arena, batch: B, queries: T, keys: S, heads: H, dim: D, contextDim: C)
        let x = Buf(normal: B * T * D, seed: 3), dx = Buf(B * T * D)
        let ctx = Buf(normal: B * S * C, seed: 4), dctx = Buf(B * S * C)
        let y = Buf(B * T * D), r = Buf(normal: B * T * D, seed: 5)
        var valid = [UInt8](repeating: 1, count: B * S)
        if padded { valid[S - 1] = 0; valid[S + S - 2] = 0; valid[S + S - 1] = 0 }
        valid.withUnsafeBufferPointer { vp in
            let mask = AttentionMask(kind, keyValid: vp.baseAddress)
            let loss = { () -> Double in
                att.forward(store, x.p, context: cross ? UnsafePointer(ctx.p) : nil, batch: B, queries: T, keys: S, mask: mask, a, into: y.p)
                return GradientCheck.weightedSum(y.p, r.p, count: y.count)
            }
            var inputs = [("x", x, dx)]
            if cross { inputs.append(("context", ctx, dctx)) }
            checkGradients("attention cross=\(cross) qk=\(qkNorm) \(kind) padded=\(padded)", store: store, inputs: inputs,
                           epsilon: 3e-3, lossFn: loss) {
                _ = loss()
                att.backward(store, x: x.p, context: cross ? UnsafePointer(ctx.p) : nil, batch: B, queries: T, keys: S, a,
                             dy: r.p, dx: dx.p, dContext: cross ? dctx.p : nil, scratch: sc)
            }
            if padded {
                // Masked keys get no gradient.
                let padRow = cross ? (S - 1) * C : (S - 1) * D
                let src = cross ? dctx : dx
                let w = cross ? C : D
                if cross { for i in 0..<w { XCTAssertEqual(src.p[padRow + i], 0) } }
            }
        }
    }

    func testSelfAttention() {
        attentionCheck(cross: false, qkNorm: false, kind: .bidirectional, padded: false)
        attentionCheck(cross: false, qkNorm: true, kind: .bidirectional, padded: true)
        attentionCheck(cross: false, qkNorm: false, kind: .causal, padded: true)
    }

    func testCrossAttention() {
        attentionCheck(cross: true, qkNorm: false, kind: .bidirectional, padded: true)
        attentionCheck(cross: true, qkNorm: true, kind: .bidirectional, padded: true)
    }

    func testAdaLNSubLayerWithMLP() {
        for modulated in [true, false] {
            let store = ParameterStore()
            let (B, T, D) = (2, 3, 8)
            let sub = AdaLNSubLayer(store, "sub", dim: D, modulated: modulated)
            let mlp = MLP(store, "mlp", inFeatures: D, hidden: 16, outFeatures: D, activation: .geluTanh)
            store.finalize(seed: 1)
            randomizeParameters(store, seed: 2)
            let arena = Arena()
            let a = sub.makeActivations(arena, rows: B * T), ma = mlp.makeActivations(arena, rows: B * T)
            let s = AdaLNSubLayer.Scratch(arena, rows: B * T, dim: D)
            let mscratch = arena.floats(B * T * 16)
            let stride = sub.chunks * D + 3   // padded stride
            let h = Buf(normal: B * T * D, seed: 3), dh = Buf(B * T * D)
            let mod = Buf(normal: B * stride, seed: 4, scale: 0.5), dmod = Buf(B * stride)
            let y = Buf(B * T * D), r = Buf(normal: B * T * D, seed: 5)
            let loss = { () -> Double in
                sub.forward(store, h.p, mod: mod.p, modStride: stride, batch: B, tokens: T, a, into: y.p) { m, f in
                    mlp.forward(store, m, rows: B * T, ma, into: f)
                }
                return GradientCheck.weightedSum(y.p, r.p, count: y.count)
            }
            checkGradients("adaLN sub-layer modulated=\(modulated)", store: store, inputs: [("h", h, dh), ("mod", mod, dmod)],
                           epsilon: 3e-3, lossFn: loss) {
                _ = loss()
                dh.p.update(from: r.p, count: r.count)   // dRes starts as ∂L/∂out
                sub.backward(store, h: h.p, mod: mod.p, dMod: dmod.p, modStride: stride, batch: B, tokens: T, a,
                             dRes: dh.p, scratch: s) { dF, dM in
                    mlp.backward(store, x: a.m, dy: dF, rows: B * T, ma, dx: dM, scratch: mscratch)
                }
            }
        }
    }

    func testPatchifyRoundTripAndLayout() {
        let g = PatchGeometry(channels: 3, height: 8, width: 12, patch: 4)
        XCTAssertEqual(g.tokens, 6); XCTAssertEqual(g.patchDim, 48)
        let B = 2
        let img = Buf(normal: B * g.pixelsPerImage, seed: 1)
        let tok = Buf(B * g.tokens * g.patchDim), back = Buf(B * g.pixelsPerImage)
        patchify(img.p, batch: B, geometry: g, into: tok.p)
        unpatchify(tok.p, batch: B, geometry: g, into: back.p)
        XCTAssertEqual(img.array, back.array)
        // Batch 1, channel 2, pixel (y=5, x=9): patch (1, 2) = token 5, py=1, px=1 → feature (1·4+1)·3+2 = 17.
        let pixel = ((1 * 3 + 2) * 8 + 5) * 12 + 9
        XCTAssertEqual(tok.p[(1 * 6 + 5) * 48 + 17], img.p[pixel])
    }

    func testSinCosPositionEmbedding() {
        let e = sinCosPositionEmbedding2D(dim: 8, gridHeight: 3, gridWidth: 4)
        // token (row 2, col 3): [sin(3), sin(3/100), cos(3), cos(3/100), sin(2), sin(2/100), cos(2), cos(2/100)]
        let o = (2 * 4 + 3) * 8
        let expect: [Double] = [sin(3), sin(0.03), cos(3), cos(0.03), sin(2), sin(0.02), cos(2), cos(0.02)]
        for i in 0..<8 { XCTAssertEqual(Double(e[o + i]), expect[i], accuracy: 1e-6) }
    }

    func testParameterStoreNamesInitAndDeterminism() {
        func make() -> ParameterStore {
            let s = ParameterStore()
            _ = Linear(s, "a", inFeatures: 4, outFeatures: 3)
            _ = Linear(s, "gate", inFeatures: 4, outFeatures: 8, weightInit: .zeros)
            s.finalize(seed: 42)
            return s
        }
        let s1 = make(), s2 = make()
        XCTAssertEqual(s1.count, 12 + 3 + 32 + 8)
        XCTAssertEqual(s1.tensor(named: "a.weight"), s2.tensor(named: "a.weight"))
        XCTAssertEqual(s1.tensor(named: "a.weight")!.shape, [3, 4])
        XCTAssertTrue(s1.tensor(named: "gate.weight")!.data.allSatisfy { $0 == 0 })
        XCTAssertTrue(s1.entry(named: "a.weight")!.decays)
        XCTAssertFalse(s1.entry(named: "a.bias")!.decays)
        let bound = Float((6.0 / 7).squareRoot())
        XCTAssertTrue(s1.tensor(named: "a.weight")!.data.allSatisfy { abs($0) <= bound && $0 != 0 })
        XCTAssertTrue(s1.setTensor(named: "a.bias", [1, 2, 3]))
        XCTAssertEqual(s1.tensor(named: "a.bias")!.data, [1, 2, 3])
        XCTAssertFalse(s1.setTensor(named: "a.bias", [1, 2]))
    }

    func testBackwardIsThreadCountInvariant() {
        func run(threads: Int) -> [Float] {
            let saved = Parallel.threads
            Parallel.setThreads(threads)
            defer { Parallel.setThreads(saved) }
            let store = ParameterStore()
            let mlp = MLP(store, "mlp", inFeatures: 64, hidden: 256, outFeatures: 64, activation: .geluTanh)
            let ln = LayerNormLayer(store, "ln", dim: 64, affine: true)
            store.finalize(seed: 3)
            let rows = 512
            let arena = Arena()
            let x = Buf(normal: rows * 64, seed: 1), n = Buf(rows * 64), y = Buf(rows * 64), dx = Buf(rows * 64), dn = Buf(rows * 64)
            let mean = Buf(rows), rstd = Buf(rows)
            let a = mlp.makeActivations(arena, rows: rows)
            let sc = arena.floats(rows * 256)
            ln.forward(store, x.p, rows: rows, into: n.p, mean: mean.p, rstd: rstd.p)
            mlp.forward(store, n.p, rows: rows, a, into: y.p)
            mlp.backward(store, x: n.p, dy: y.p, rows: rows, a, dx: dn.p, scratch: sc)
            ln.backward(store, x: x.p, dy: dn.p, mean: mean.p, rstd: rstd.p, rows: rows, dx: dx.p)
            return Array(UnsafeBufferPointer(start: store.gradients, count: store.count)) + dx.array
        }
        XCTAssertEqual(run(threads: 1), run(threads: 2))
        XCTAssertEqual(run(threads: 1), run(threads: 3))
    }
}

