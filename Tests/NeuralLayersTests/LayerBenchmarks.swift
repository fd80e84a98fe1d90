import XCTest
import GradientTestSupport
import Foundation
import Kernels
@testable import NeuralLayers

/// Timings of the layers at the default model's shapes (batch 64 × 64 tokens, width 192).
/// Only with LIDIT_BENCH set; meaningful in release builds.
final class LayerBenchmarks: XCTestCase {
    func time(_ label: String, flops: Double, repeats: Int = 5, _ body: () -> Void) {
        body()
        var ts: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            ts.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let t = ts.sorted()[repeats / 2]
        print(String(format: "%-44@ %8.2f ms %7.1f GFLOP/s", label as NSString, t * 1e3, flops / t / 1e9))
    }

    func testLayerTimings() throws {
        guard ProcessInfo.processInfo.environment["LIDIT_BENCH"] != nil else { throw XCTSkip("set LIDIT_BENCH=1") }
        let (B, T, d, S, H) = (64, 64, 192, 48, 4)
        let rows = B * T
        let store = ParameterStore()
        let up = Linear(store, "up", inFeatures: d, outFeatures: 4 * d)
        let sq = Linear(store, "sq", inFeatures: d, outFeatures: d)
        let att = AttentionLayer(store, "att", dim: d, heads: H, qkNorm: true)
        let cross = AttentionLayer(store, "cross", dim: d, heads: H, qkNorm: true)
        store.finalize(seed: 1)
        let arena = Arena()
        let x = Buf(normal: rows * d, seed: 1), y = Buf(rows * 4 * d), dy = Buf(normal: rows * 4 * d, seed: 2), dx = Buf(rows * d)
        let ctx = Buf(normal: B * S * d, seed: 3)
        let peakA = Buf(normal: 1536 * 1536, seed: 4), peakC = Buf(1536 * 1536)
        time("sgemm 1536³ (peak reference)", flops: 2 * pow(1536, 3)) {
            sgemm(m: 1536, n: 1536, k: 1536, a: peakA.p, lda: 1536, b: peakA.p, ldb: 1536, c: peakC.p, ldc: 1536)
        }
        let f = 2.0 * Double(rows * d * 4 * d)
        time("kernels sgemm 4096×768×192 (64-row tiles)", flops: f) {
            sgemm(transposeB: true, m: rows, n: 4 * d, k: d, a: x.p, lda: d, b: store.value(up.weight), ldb: d, c: y.p, ldc: 4 * d)
        }
        time("linear fwd 4096×192→768", flops: f) { up.forward(store, x.p, rows: rows, into: y.p) }
        time("linear bwd dx 4096×768→192", flops: f) {
            sgemm(m: rows, n: d, k: 4 * d, a: dy.p, lda: 4 * d, b: store.value(up.weight), ldb: d, beta: 0, c: dx.p, ldc: d)
        }
        time("linear bwd dW+db 768×192 over 4096", flops: f) {
            up.backward(store, x: x.p, dy: dy.p, rows: rows, dx: nil)
        }
        let f2 = 2.0 * Double(rows * d * d)
        time("linear fwd 4096×192→192", flops: f2) { sq.forward(store, x.p, rows: rows, into: y.p) }
        time("linear bwd 4096×192→192 (dx, dW, db)", flops: 2 * f2) { sq.backward(store, x: x.p, dy: dy.p, rows: rows, dx: dx.p) }
        let aa = att.makeActivations(arena, batch: B, queries: T, keys: T)
        let sc = AttentionLayer.Scratch(arena, batch: B, queries: T, keys: T, heads: H, dim: d)
        let attF = Double(att.flops(batch: B, queries: T, keys: T)), attCore = 4.0 * Double(B * H * T * T * (d / H))
        time("self-attention fwd (all)", flops: attF) {
            att.forward(store, x.p, batch: B, queries: T, keys: T, mask: AttentionMask(.bidirectional), aa, into: y.p)
        }
        let shape = AttentionShape(batch: B, queries: T, keys: T, heads: H, kvHeads: H, headDim: d / H)
        let qb = Buf(normal: rows * d, seed: 7), kb = Buf(normal: rows * d, seed: 8), vb = Buf(normal: rows * d, seed: 9)
        let ob = Buf(rows * d), pb = Buf(B * H * T * T), sb = Buf(B * H * T * T)
        let dqb = Buf(rows * d), dkb = Buf(rows * d), dvb = Buf(rows * d)
        time("  kernel multiHeadAttention (core only)", flops: attCore) {
            multiHeadAttention(q: qb.p, k: kb.p, v: vb.p, out: ob.p, shape: shape, scale: att.scale,
                               mask: AttentionMask(.bidirectional), probabilities: pb.p)
        }
        time("  kernel multiHeadAttentionBackward", flops: 2 * attCore) {
            multiHeadAttentionBackward(dOut: dy.p, q: qb.p, k: kb.p, v: vb.p, probabilities: pb.p, shape: shape,
                                       scale: att.scale, dq: dqb.p, dk: dkb.p, dv: dvb.p, scratch: sb.p)
        }
        time("self-attention bwd (all)", flops: 2 * attF) {
            att.backward(store, x: x.p, batch: B, queries: T, keys: T, aa, dy: dy.p, dx: dx.p, scratch: sc)
        }
        let ca = cross.makeActivations(arena, batch: B, queries: T, keys: S)
        let valid = [UInt8](repeating: 1, count: B * S)
        valid.withUnsafeBufferPointer { vp in
            time("cross-attention fwd (all), 48 keys", flops: Double(cross.flops(batch: B, queries: T, keys: S))) {
                cross.forward(store, x.p, context: ctx.p, batch: B, queries: T, keys: S, mask: AttentionMask(.bidirectional, keyValid: vp.baseAddress),
                              ca, into: y.p)
            }
        }
        let ln = LayerNormLayer(nil, "ln", dim: d, affine: false)
        let mean = Buf(rows), rstd = Buf(rows)
        time("layernorm fwd", flops: 0) { ln.forward(nil, x.p, rows: rows, into: dx.p, mean: mean.p, rstd: rstd.p) }
        time("layernorm bwd", flops: 0) { ln.backward(nil, x: x.p, dy: dy.p, mean: mean.p, rstd: rstd.p, rows: rows, dx: dx.p) }
        time("gelu fwd 4096×768", flops: 0) { activationForward(.geluTanh, dy.p, y.p, count: rows * 4 * d) }
        time("gelu bwd 4096×768", flops: 0) { activationBackward(.geluTanh, x: dy.p, dy: dy.p, dx: y.p, count: rows * 4 * d, accumulate: false) }
        let mod = Buf(normal: B * 9 * d, seed: 5), dmod = Buf(B * 9 * d)
        time("modulate fwd", flops: 0) {
            modulateForward(x.p, shift: mod.p, scale: mod.p + d, conditionStride: 9 * d, batch: B, tokens: T, dim: d, into: dx.p)
        }
        time("modulate bwd", flops: 0) {
            modulateBackward(x: x.p, dy: dy.p, scale: mod.p + d, conditionStride: 9 * d, batch: B, tokens: T, dim: d, dx: dx.p,
                             accumulate: false, dShift: dmod.p, dScale: dmod.p + d)
        }
        time("memset 4096×192", flops: 0) { dx.zero() }
    }
}
