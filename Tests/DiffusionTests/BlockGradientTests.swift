import XCTest
import GradientTestSupport
import Kernels
import NeuralLayers
import PromptEncoder
@testable import Diffusion

/// Finite-difference checks of the refiner blocks, the DiT block, the DiT network and the encoder,
/// with masks, and with every zero-initialised gate set to small random values.
final class BlockGradientTests: XCTestCase {
    func testTokenRefinerBlock() {
        for causal in [false, true] {
            let store = ParameterStore()
            let (B, L, d) = (2, 5, 8)
            let blk = TokenRefinerBlock(store, "blk", width: d, heads: 2, mlpRatio: 2, activation: .silu)
            store.finalize(seed: 1)
            randomizeParameters(store, seed: 2)
            let arena = Arena()
            let a = blk.makeActivations(arena, batch: B, tokens: L)
            let s = RefinerScratch(arena, batch: B, maxTokens: L, maxKeys: L, width: d, heads: 2, mlpHidden: 2 * d, modChunks: 6)
            let h = Buf(normal: B * L * d, seed: 3), dh = Buf(B * L * d)
            let c = Buf(normal: B * d, seed: 4), dc = Buf(B * d)
            let y = Buf(B * L * d), r = Buf(normal: B * L * d, seed: 5)
            let keyMask: [UInt8] = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]
            keyMask.withUnsafeBufferPointer { km in
                let mask = AttentionMask(causal ? .causal : .bidirectional, keyValid: km.baseAddress)
                let loss = { () -> Double in
                    blk.forward(store, h.p, siluC: c.p, batch: B, tokens: L, mask: mask, a, into: y.p)
                    return GradientCheck.weightedSum(y.p, r.p, count: y.count)
                }
                checkGradients("token refiner block causal=\(causal)", store: store, inputs: [("h", h, dh), ("siluC", c, dc)],
                               epsilon: 3e-3, lossFn: loss) {
                    _ = loss()
                    dh.p.update(from: r.p, count: r.count)
                    blk.backward(store, h: h.p, siluC: c.p, batch: B, tokens: L, a, dRes: dh.p, dSiluC: dc.p, scratch: s)
                }
            }
        }
    }

    func testCollaborativeBlock() {
        let store = ParameterStore()
        let (B, L, S, d) = (2, 4, 6, 8)
        let blk = CollaborativeRefinerBlock(store, "collab", width: d, heads: 2, mlpRatio: 2, activation: .silu, qkNorm: true)
        store.finalize(seed: 1)
        randomizeParameters(store, seed: 2)
        let arena = Arena()
        let a = blk.makeActivations(arena, batch: B, tokens: L, contextTokens: S)
        let s = RefinerScratch(arena, batch: B, maxTokens: L, maxKeys: S, width: d, heads: 2, mlpHidden: 2 * d, modChunks: 6)
        let h = Buf(normal: B * L * d, seed: 3), dh = Buf(B * L * d)
        let ctx = Buf(normal: B * S * d, seed: 6), dctx = Buf(B * S * d)
        let c = Buf(normal: B * d, seed: 4), dc = Buf(B * d)
        let y = Buf(B * L * d), r = Buf(normal: B * L * d, seed: 5)
        let ctxMask: [UInt8] = [1, 1, 0, 1, 1, 0,  1, 1, 1, 1, 1, 1]
        ctxMask.withUnsafeBufferPointer { cm in
            let loss = { () -> Double in
                blk.forward(store, h.p, context: ctx.p, contextValid: cm.baseAddress!, siluC: c.p, batch: B, tokens: L,
                            contextTokens: S, a, into: y.p)
                return GradientCheck.weightedSum(y.p, r.p, count: y.count)
            }
            checkGradients("collaborative block", store: store, inputs: [("h", h, dh), ("context", ctx, dctx), ("siluC", c, dc)],
                           epsilon: 3e-3, lossFn: loss) {
                _ = loss()
                dh.p.update(from: r.p, count: r.count)
                blk.backward(store, h: h.p, context: ctx.p, siluC: c.p, batch: B, tokens: L, contextTokens: S, a,
                             dRes: dh.p, dContext: dctx.p, dSiluC: dc.p, scratch: s)
            }
            for i in 0..<d { XCTAssertEqual(dctx.p[2 * d + i], 0, "masked context token gets no gradient") }
        }
    }

    func testDiTBlock() {
        let store = ParameterStore()
        let (B, T, S, d, dy) = (2, 4, 5, 8, 6)
        let blk = DiTBlock(store, "blk", width: d, textWidth: dy, heads: 2, mlpRatio: 2, activation: .geluTanh, qkNorm: true)
        store.finalize(seed: 1)
        randomizeParameters(store, seed: 2)
        let arena = Arena()
        let a = blk.makeActivations(arena, batch: B, tokens: T, textTokens: S)
        let s = DiTScratch(arena, batch: B, tokens: T, textTokens: S, width: d, textWidth: dy, heads: 2, mlpHidden: 2 * d)
        let h = Buf(normal: B * T * d, seed: 3), dh = Buf(B * T * d)
        let text = Buf(normal: B * S * dy, seed: 6), dtext = Buf(B * S * dy)
        let c = Buf(normal: B * d, seed: 4), dc = Buf(B * d)
        let y = Buf(B * T * d), r = Buf(normal: B * T * d, seed: 5)
        let textMask: [UInt8] = [1, 1, 1, 0, 0,  1, 1, 1, 1, 1]
        textMask.withUnsafeBufferPointer { tm in
            let loss = { () -> Double in
                blk.forward(store, h.p, siluC: c.p, text: text.p, textValid: tm.baseAddress!, batch: B, tokens: T, textTokens: S,
                            a, into: y.p)
                return GradientCheck.weightedSum(y.p, r.p, count: y.count)
            }
            checkGradients("DiT block", store: store, inputs: [("h", h, dh), ("text", text, dtext), ("siluC", c, dc)],
                           epsilon: 3e-3, lossFn: loss) {
                _ = loss()
                dh.p.update(from: r.p, count: r.count)
                blk.backward(store, h: h.p, siluC: c.p, text: text.p, batch: B, tokens: T, textTokens: S, a, dRes: dh.p,
                             dText: dtext.p, dSiluC: dc.p, scratch: s)
            }
        }
    }

    /// Patchify → embed + PE → t/pooled-text conditioning → blocks → final modulated LN + linear → unpatchify.
    func testDiTNetwork() {
        for depth in [0, 2] { ditNetworkCheck(depth: depth) }
        ditNetworkCheck(depth: 2, pooledDropped: [true, false])
    }

    /// depth 0 isolates patchify, embedding, conditioning, final layer and unpatchify.
    func ditNetworkCheck(depth: Int, pooledDropped: [Bool] = []) {
        var cfg = tinyConfig()
        cfg.depth = depth
        let store = ParameterStore()
        let net = LIDiTNetwork(config: cfg, textWidth: 6, store: store)
        store.finalize(seed: 1)
        randomizeParameters(store, seed: 2)
        let (B, S) = (2, 5)
        let ws = net.makeWorkspace(batch: B, textTokens: S)
        let n = cfg.geometry.pixelsPerImage
        let x = Buf(normal: B * n, seed: 3), dx = Buf(B * n)
        let text = Buf(normal: B * S * 6, seed: 4), dtext = Buf(B * S * 6)
        let sig = Buf(B); sig.p[0] = 0.3; sig.p[1] = 0.8
        let r = Buf(normal: B * n, seed: 5)
        let textMask: [UInt8] = [1, 1, 0, 0, 0,  1, 1, 1, 1, 1]
        textMask.withUnsafeBufferPointer { tm in
            let loss = { () -> Double in
                net.forward(store, x: x.p, sigmas: sig.p, text: text.p, textValid: tm.baseAddress!, batch: B, textTokens: S,
                            pooledDropped: pooledDropped, ws)
                return GradientCheck.weightedSum(ws.output, r.p, count: B * n)
            }
            // x gets no gradient from the network's backward (inputs are data); check text and parameters.
            checkGradients("DiT network depth \(depth), pooled dropped \(pooledDropped)", store: store, inputs: [("text", text, dtext)], epsilon: 1e-2, samples: 150, lossFn: loss) {
                _ = loss()
                net.backward(store, dOutput: r.p, ws, dText: dtext.p)
            }
            _ = dx
        }
    }

    /// Token refiners + collaborative refiner + crop + fusion weights + concatenation, with padding and
    /// dropped text.
    func testPromptEncoderNetwork() {
        for (weights, drop) in [([Float(0.7), 1.0], [false, false]), ([1, 0], [false, true])] {
            let cfg = tinyConfig().refiner
            let store = ParameterStore()
            let enc = LIPromptEncoderNetwork(config: cfg, store: store)
            store.finalize(seed: 1)
            randomizeParameters(store, seed: 2)
            let (B, tokens) = (2, [5, 6])
            var input = textInput(cfg, batch: B, tokens: tokens, valid: [[4, 5], [6, 3]], seed: 9)
            input.fusionWeights = weights
            input.dropText = drop
            let ws = enc.makeWorkspace(batch: B, tokens: tokens)
            let ly = enc.outputTokens(tokens)
            XCTAssertEqual(ly, 4 + 4)
            let r = Buf(normal: B * ly * cfg.width, seed: 5)
            let sig = Buf(B); sig.p[0] = 0.25; sig.p[1] = 0.9
            let loss = { () -> Double in
                enc.forward(store, input, sigmas: sig.p, ws)
                return GradientCheck.weightedSum(ws.y, r.p, count: B * ly * cfg.width)
            }
            checkGradients("prompt encoder weights=\(weights) drop=\(drop)", store: store, inputs: [], epsilon: 3e-3, samples: 200,
                           lossFn: loss) {
                _ = loss()
                enc.backward(store, dY: r.p, ws)
            }
        }
    }
}
