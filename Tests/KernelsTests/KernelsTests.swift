import XCTest
@testable import Kernels

/// Reference implementations are plain loops in Double; tolerances are stated per test.
final class GEMMTests: XCTestCase {
    func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool, lda: Int, ldb: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let av = ta ? a[p * lda + i] : a[i * lda + p]
                let bv = tb ? b[j * ldb + p] : b[p * ldb + j]
                s += Double(av) * Double(bv)
            }
            c[i * n + j] = s
        } }
        return c
    }

    func testAllTransposesAndStrides() {
        var rng = RandomGenerator(seed: 1)
        let (m, n, k) = (7, 5, 9)
        for ta in [false, true] { for tb in [false, true] {
            // Padded leading dimensions: a wrong stride or a swapped transpose changes the result.
            let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2
            let a = rng.normals(count: (ta ? k : m) * lda); rng = RandomGenerator(seed: rng.counter &+ 7)
            let b = rng.normals(count: (tb ? n : k) * ldb)
            var c = [Float](repeating: 9, count: m * (n + 1))
            sgemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: n + 1)
            let ref = naive(a, b, m: m, n: n, k: k, ta: ta, tb: tb, lda: lda, ldb: ldb)
            for i in 0..<m {
                for j in 0..<n { XCTAssertEqual(Double(c[i * (n + 1) + j]), ref[i * n + j], accuracy: 1e-5, "ta=\(ta) tb=\(tb)") }
                XCTAssertEqual(c[i * (n + 1) + n], 9, "column outside n must be untouched")
            }
        } }
    }

    func testLinearMatchesRowTimesWeightTranspose() {
        let rng = RandomGenerator(seed: 2)
        let (rows, inF, outF) = (6, 11, 4)
        let x = rng.normals(count: rows * inF)
        let w = RandomGenerator(seed: 3).normals(count: outF * inF)
        let bias: [Float] = [1, 2, 3, 4]
        var y = [Float](repeating: 0, count: rows * outF)
        linear(x, rows: rows, inFeatures: inF, weight: w, bias: bias, outFeatures: outF, into: &y)
        for r in 0..<rows { for o in 0..<outF {
            var s = Double(bias[o]); for i in 0..<inF { s += Double(x[r * inF + i]) * Double(w[o * inF + i]) }
            XCTAssertEqual(Double(y[r * outF + o]), s, accuracy: 1e-5)
        } }
    }

    func testMatmulTensor() {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], data: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(matmul(a, b).data, [58, 64, 139, 154])
        XCTAssertEqual(matmul(a, a, transposeB: true).data, [14, 32, 32, 77])
    }
}

final class ElementwiseTests: XCTestCase {
    func testSIMDOpsIncludingTail() {
        let n = 37 // two SIMD16 blocks and a tail
        let a = (0..<n).map { Float($0) * 0.5 }, b = (0..<n).map { Float(n - $0) }
        var out = [Float](repeating: 0, count: n)
        add(a, b, into: &out, count: n); XCTAssertEqual(out, zip(a, b).map(+))
        multiply(a, b, into: &out, count: n); XCTAssertEqual(out, zip(a, b).map(*))
        scale(a, by: 3, into: &out, count: n); XCTAssertEqual(out, a.map { $0 * 3 })
        var y = b; axpy(2, a, &y, count: n); XCTAssertEqual(y, zip(a, b).map { 2 * $0 + $1 })
        XCTAssertEqual(Double(dot(a, b, count: n)), zip(a, b).reduce(0.0) { $0 + Double($1.0 * $1.1) }, accuracy: 1e-3)
    }
}

final class SoftmaxTests: XCTestCase {
    func testStableForLargeLogits() {
        // exp(1000) overflows Float; a softmax that does not subtract the max returns NaN here.
        var x: [Float] = [1000, 1001, 999, -Float.infinity]
        softmaxRows(&x, rows: 1, columns: 4)
        let e = [exp(-1.0), 1.0, exp(-2.0)], z = e.reduce(0, +)
        for i in 0..<3 { XCTAssertEqual(Double(x[i]), e[i] / z, accuracy: 1e-6) }
        XCTAssertEqual(x[3], 0)
    }

    func testMaskAndFullyMaskedRow() {
        var x: [Float] = [1, 2, 3, 5, 1, 2, 3, 5]
        let valid: [UInt8] = [1, 0, 1, 1]
        // Keys 0..<3 visible, key 1 padding: softmax over keys 0 and 2 only.
        maskedSoftmaxRow(&x, count: 4, valid: valid, visible: 0..<3)
        let z = exp(1.0) + exp(3.0)
        XCTAssertEqual(Double(x[0]), exp(1.0) / z, accuracy: 1e-6)
        XCTAssertEqual(x[1], 0)
        XCTAssertEqual(Double(x[2]), exp(3.0) / z, accuracy: 1e-6)
        XCTAssertEqual(x[3], 0, "outside the visible range")
        x.withUnsafeMutableBufferPointer { maskedSoftmaxRow($0.baseAddress! + 4, count: 4, valid: [0, 0, 1, 1], visible: 0..<2) }
        XCTAssertEqual(Array(x[4...]), [0, 0, 0, 0], "a fully masked row is zeros, not NaN")
    }

    func testBackwardAgainstFiniteDifferences() {
        let x0: [Float] = [0.3, -1.2, 2.0, 0.5]
        let dy: [Float] = [0.7, -0.1, 0.4, 1.0]
        var y = x0; softmaxRows(&y, rows: 1, columns: 4)
        var dx = [Float](repeating: 0, count: 4)
        softmaxRowsBackward(y: y, dy: dy, dx: &dx, rows: 1, columns: 4)
        for i in 0..<4 {
            func loss(_ d: Double) -> Double {
                var xs = x0.map(Double.init); xs[i] += d
                let m = xs.max()!, e = xs.map { exp($0 - m) }, z = e.reduce(0, +)
                return zip(e, dy).reduce(0) { $0 + $1.0 / z * Double($1.1) }
            }
            XCTAssertEqual(Double(dx[i]), (loss(1e-6) - loss(-1e-6)) / 2e-6, accuracy: 1e-4)
        }
    }
}

final class NormalizationTests: XCTestCase {
    func testRMSNorm() {
        let dim = 19, rows = 3
        let x = RandomGenerator(seed: 9).normals(count: rows * dim).map { $0 * 40 }
        let w = (0..<dim).map { Float($0) * 0.1 + 0.5 }
        var y = [Float](repeating: 0, count: rows * dim)
        rmsNorm(x, rows: rows, dim: dim, weight: w, eps: 1e-6, into: &y)
        for r in 0..<rows {
            let ms = (0..<dim).reduce(0.0) { $0 + Double(x[r * dim + $1]) * Double(x[r * dim + $1]) } / Double(dim)
            for i in 0..<dim { XCTAssertEqual(Double(y[r * dim + i]), Double(x[r * dim + i]) / (ms + 1e-6).squareRoot() * Double(w[i]), accuracy: 1e-5) }
        }
    }

    func testLayerNormForwardAndBackward() {
        let dim = 10, rows = 2
        let x = RandomGenerator(seed: 10).normals(count: rows * dim).map { $0 * 3 + 5 }
        let w = RandomGenerator(seed: 11).normals(count: dim), b = RandomGenerator(seed: 12).normals(count: dim)
        var y = [Float](repeating: 0, count: rows * dim), mean = [Float](repeating: 0, count: rows), rstd = mean
        layerNorm(x, rows: rows, dim: dim, weight: w, bias: b, eps: 1e-5, into: &y, mean: &mean, rstd: &rstd)
        func ref(_ xs: [Double]) -> [Double] {
            var out = [Double]()
            for r in 0..<rows {
                let row = Array(xs[(r * dim)..<((r + 1) * dim)])
                let m = row.reduce(0, +) / Double(dim)
                let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(dim)
                out += row.enumerated().map { ($1 - m) / (v + 1e-5).squareRoot() * Double(w[$0]) + Double(b[$0]) }
            }
            return out
        }
        let r = ref(x.map(Double.init))
        for i in 0..<(rows * dim) { XCTAssertEqual(Double(y[i]), r[i], accuracy: 1e-5) }
        // Backward: loss = Σ y·g
        let g = RandomGenerator(seed: 13).normals(count: rows * dim)
        var dx = [Float](repeating: 0, count: rows * dim), dw = [Float](repeating: 0, count: dim), db = dw
        layerNormBackward(dy: g, x: x, mean: mean, rstd: rstd, weight: w, rows: rows, dim: dim, dx: &dx, dweight: &dw, dbias: &db)
        for i in [0, 3, 14] {
            var xp = x.map(Double.init), xm = xp; xp[i] += 1e-5; xm[i] -= 1e-5
            let lp = zip(ref(xp), g).reduce(0) { $0 + $1.0 * Double($1.1) }, lm = zip(ref(xm), g).reduce(0) { $0 + $1.0 * Double($1.1) }
            XCTAssertEqual(Double(dx[i]), (lp - lm) / 2e-5, accuracy: 2e-3)
        }
        XCTAssertEqual(Double(db[0]), Double(g[0] + g[dim]), accuracy: 1e-6)
    }

    func testRMSNormBackward() {
        let dim = 8
        let x = RandomGenerator(seed: 14).normals(count: dim), w = RandomGenerator(seed: 15).normals(count: dim)
        let g = RandomGenerator(seed: 16).normals(count: dim)
        var dx = [Float](repeating: 0, count: dim), dw = dx
        var y = x, rstd: [Float] = [0]
        rmsNorm(x, rows: 1, dim: dim, weight: w, eps: 1e-6, into: &y, rstd: &rstd)
        rmsNormBackward(dy: g, x: x, weight: w, rstd: rstd, rows: 1, dim: dim, dx: &dx, accumulate: true, dweight: &dw)
        func loss(_ xs: [Double]) -> Double {
            let ms = xs.reduce(0) { $0 + $1 * $1 } / Double(dim)
            return xs.enumerated().reduce(0) { $0 + $1.1 / (ms + 1e-6).squareRoot() * Double(w[$1.0]) * Double(g[$1.0]) }
        }
        for i in 0..<dim {
            var xp = x.map(Double.init), xm = xp; xp[i] += 1e-6; xm[i] -= 1e-6
            XCTAssertEqual(Double(dx[i]), (loss(xp) - loss(xm)) / 2e-6, accuracy: 1e-3)
        }
    }
}

final class ActivationTests: XCTestCase {
    func testKnownValues() {
        let x: [Float] = [-2, -1, 0, 1, 3]
        var y = [Float](repeating: 0, count: 5)
        silu(x, into: &y, count: 5)
        for i in 0..<5 { XCTAssertEqual(Double(y[i]), Double(x[i]) / (1 + exp(-Double(x[i]))), accuracy: 1e-6) }
        geluTanh(x, into: &y, count: 5)
        XCTAssertEqual(y[3], 0.8411920, accuracy: 1e-6)    // the erf form gives Φ(1) = 0.8413447
        XCTAssertEqual(y[4], 2.9963627, accuracy: 1e-5)
    }

    func testBackwards() {
        let x: [Float] = [-1.5, -0.2, 0.4, 2.2]
        let fns: [(String, ([Float]) -> [Float], (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)] = [
            ("silu", { v in var o = v; silu(v, into: &o, count: v.count); return o },
             { Activation.silu.backward(x: $0, dy: $1, dx: $2, count: $3, accumulate: true) }),
            ("geluTanh", { v in var o = v; geluTanh(v, into: &o, count: v.count); return o },
             { Activation.geluTanh.backward(x: $0, dy: $1, dx: $2, count: $3, accumulate: true) }),
        ]
        for (name, f, back) in fns {
            let ones = [Float](repeating: 1, count: 4)
            var dx = [Float](repeating: 0, count: 4)
            back(x, ones, &dx, 4)
            for i in 0..<4 {
                var xp = x, xm = x; xp[i] += 1e-3; xm[i] -= 1e-3
                XCTAssertEqual(dx[i], (f(xp)[i] - f(xm)[i]) / 2e-3, accuracy: 2e-3, name)
            }
        }
    }
}

final class RoPETests: XCTestCase {
    func reference(_ v: [Double], position: Int, base: Double, layout: RotaryEmbedding.Layout) -> [Double] {
        let d = v.count, half = d / 2
        var out = v
        for i in 0..<half {
            let theta = Double(position) * pow(base, -2 * Double(i) / Double(d))
            let (a, b) = layout == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + half)
            out[a] = v[a] * cos(theta) - v[b] * sin(theta)
            out[b] = v[a] * sin(theta) + v[b] * cos(theta)
        }
        return out
    }

    func testBothLayoutsAgainstReference() {
        let headDim = 8, heads = 2, positions = [0, 3, 17]
        let x = RandomGenerator(seed: 20).normals(count: positions.count * heads * headDim)
        var results: [RotaryEmbedding.Layout: [Float]] = [:]
        for layout in [RotaryEmbedding.Layout.adjacentPairs, .rotateHalf] {
            var y = x
            RotaryEmbedding(base: 10000, dimensions: headDim, layout: layout)
                .apply(&y, tokens: positions.count, heads: heads, headDim: headDim, positions: positions)
            for (t, pos) in positions.enumerated() { for h in 0..<heads {
                let o = (t * heads + h) * headDim
                let ref = reference(x[o..<(o + headDim)].map(Double.init), position: pos, base: 10000, layout: layout)
                for i in 0..<headDim { XCTAssertEqual(Double(y[o + i]), ref[i], accuracy: 1e-4) }
            } }
            results[layout] = y
        }
        XCTAssertNotEqual(results[.adjacentPairs], results[.rotateHalf], "the layouts must differ")
        // Position 0 is the identity; inverse undoes the rotation.
        XCTAssertEqual(Array(results[.rotateHalf]![0..<16]), Array(x[0..<16]))
        var back = results[.rotateHalf]!
        RotaryEmbedding(base: 10000, dimensions: headDim, layout: .rotateHalf)
            .apply(&back, tokens: 3, heads: heads, headDim: headDim, positions: positions, inverse: true)
        for i in 0..<x.count { XCTAssertEqual(back[i], x[i], accuracy: 1e-5) }
    }
}

final class AttentionTests: XCTestCase {
    func reference(q: [Float], k: [Float], v: [Float], shape s: AttentionShape, scale: Float,
                   allowed: (Int, Int, Int) -> Bool) -> [Double] {
        var out = [Double](repeating: 0, count: s.batch * s.queries * s.heads * s.valueDim)
        for b in 0..<s.batch { for h in 0..<s.heads {
            let g = h / (s.heads / s.kvHeads)
            for t in 0..<s.queries {
                var scores = [Double](repeating: -.infinity, count: s.keys)
                for j in 0..<s.keys where allowed(b, t, j) {
                    var d = 0.0
                    for i in 0..<s.headDim {
                        d += Double(q[((b * s.queries + t) * s.heads + h) * s.headDim + i]) * Double(k[((b * s.keys + j) * s.kvHeads + g) * s.headDim + i])
                    }
                    scores[j] = d * Double(scale)
                }
                let m = scores.max()!
                guard m > -.infinity else { continue }
                let e = scores.map { exp($0 - m) }, z = e.reduce(0, +)
                for i in 0..<s.valueDim {
                    var acc = 0.0
                    for j in 0..<s.keys { acc += e[j] / z * Double(v[((b * s.keys + j) * s.kvHeads + g) * s.valueDim + i]) }
                    out[((b * s.queries + t) * s.heads + h) * s.valueDim + i] = acc
                }
            }
        } }
        return out
    }

    func run(_ s: AttentionShape, _ mask: AttentionMask, seed: UInt64) -> ([Float], [Double]) {
        let q = RandomGenerator(seed: seed).normals(count: s.batch * s.queries * s.heads * s.headDim)
        let k = RandomGenerator(seed: seed + 1).normals(count: s.batch * s.keys * s.kvHeads * s.headDim)
        let v = RandomGenerator(seed: seed + 2).normals(count: s.batch * s.keys * s.kvHeads * s.valueDim)
        var out = [Float](repeating: 0, count: s.batch * s.queries * s.heads * s.valueDim)
        var p = [Float](repeating: 0, count: s.probabilityCount)
        let scale = 1 / Float(s.headDim).squareRoot()
        multiHeadAttention(q: q, k: k, v: v, out: &out, shape: s, scale: scale, mask: mask, probabilities: &p)
        let ref = reference(q: q, k: k, v: v, shape: s, scale: scale) { b, t, j in mask.allows(batch: b, query: t, key: j, keys: s.keys) }
        return (out, ref)
    }

    func assertClose(_ a: [Float], _ b: [Double], _ msg: String) {
        XCTAssertEqual(a.count, b.count)
        for i in 0..<a.count { XCTAssertEqual(Double(a[i]), b[i], accuracy: 1e-5, msg) }
    }

    func testMasksWithGroupedKV() {
        let s = AttentionShape(batch: 2, queries: 6, keys: 6, heads: 4, kvHeads: 2, headDim: 8)
        // The reference's mask semantics are spelled out here rather than taken from AttentionMask:
        let expectations: [(AttentionMask.Kind, (Int, Int) -> Bool)] = [
            (.bidirectional, { _, _ in true }),
            (.causal, { t, j in j <= t }),
            (.slidingWindow(3), { t, j in j <= t && t - j < 3 }),
        ]
        var outputs: [[Float]] = []
        for (kind, rule) in expectations {
            let q = RandomGenerator(seed: 30).normals(count: 2 * 6 * 4 * 8)
            let k = RandomGenerator(seed: 31).normals(count: 2 * 6 * 2 * 8)
            let v = RandomGenerator(seed: 32).normals(count: 2 * 6 * 2 * 8)
            var out = [Float](repeating: 0, count: q.count), p = [Float](repeating: 0, count: s.probabilityCount)
            multiHeadAttention(q: q, k: k, v: v, out: &out, shape: s, scale: 0.3, mask: AttentionMask(kind), probabilities: &p)
            assertClose(out, reference(q: q, k: k, v: v, shape: s, scale: 0.3) { _, t, j in rule(t, j) }, "\(kind)")
            outputs.append(out)
        }
        XCTAssertNotEqual(outputs[0], outputs[1]); XCTAssertNotEqual(outputs[1], outputs[2])
    }

    func testPaddingMaskAndPrefixOffset() {
        let s = AttentionShape(batch: 2, queries: 3, keys: 5, heads: 2, kvHeads: 1, headDim: 4, valueDim: 3)
        let valid: [UInt8] = [1, 1, 1, 1, 1, 1, 1, 0, 0, 1]
        valid.withUnsafeBufferPointer { vp in
            let mask = AttentionMask(.causal, queryOffset: 2, keyValid: vp.baseAddress)
            let (out, ref) = run(s, mask, seed: 40)
            assertClose(out, ref, "padding + prefix")
            // Batch row 1 may not see keys 2 and 3; query 0 sits at position 2 so it sees keys 0...2.
            XCTAssertFalse(mask.allows(batch: 1, query: 2, key: 3, keys: 5))
            XCTAssertTrue(mask.allows(batch: 0, query: 0, key: 2, keys: 5))
            XCTAssertFalse(mask.allows(batch: 0, query: 0, key: 3, keys: 5))
        }
    }

    func testLargerShape() {
        let s = AttentionShape(batch: 1, queries: 80, keys: 80, heads: 2, kvHeads: 2, headDim: 64)
        let (out, ref) = run(s, AttentionMask(.causal), seed: 50)
        for i in stride(from: 0, to: out.count, by: 7) { XCTAssertEqual(Double(out[i]), ref[i], accuracy: 1e-4) }
    }

    func testBackwardAgainstFiniteDifferences() {
        let s = AttentionShape(batch: 2, queries: 3, keys: 3, heads: 2, kvHeads: 1, headDim: 4)
        let q0 = RandomGenerator(seed: 60).normals(count: 2 * 3 * 2 * 4)
        let k0 = RandomGenerator(seed: 61).normals(count: 2 * 3 * 1 * 4)
        let v0 = RandomGenerator(seed: 62).normals(count: 2 * 3 * 1 * 4)
        let g = RandomGenerator(seed: 63).normals(count: q0.count)
        let mask = AttentionMask(.causal)
        func forward(_ q: [Float], _ k: [Float], _ v: [Float]) -> ([Float], [Float]) {
            var out = [Float](repeating: 0, count: q.count), p = [Float](repeating: 0, count: s.probabilityCount)
            multiHeadAttention(q: q, k: k, v: v, out: &out, shape: s, scale: 0.5, mask: mask, probabilities: &p)
            return (out, p)
        }
        let (_, p) = forward(q0, k0, v0)
        var dq = [Float](repeating: 0, count: q0.count), dk = [Float](repeating: 0, count: k0.count), dv = dk
        var scratch = [Float](repeating: 0, count: s.probabilityCount)
        multiHeadAttentionBackward(dOut: g, q: q0, k: k0, v: v0, probabilities: p, shape: s, scale: 0.5,
                                   dq: &dq, dk: &dk, dv: &dv, scratch: &scratch)
        func loss(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
            zip(forward(q, k, v).0, g).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let eps: Float = 1e-2
        for i in 0..<q0.count { var a = q0, b = q0; a[i] += eps; b[i] -= eps
            XCTAssertEqual(Double(dq[i]), (loss(a, k0, v0) - loss(b, k0, v0)) / Double(2 * eps), accuracy: 2e-3, "dq[\(i)]") }
        for i in 0..<k0.count { var a = k0, b = k0; a[i] += eps; b[i] -= eps
            XCTAssertEqual(Double(dk[i]), (loss(q0, a, v0) - loss(q0, b, v0)) / Double(2 * eps), accuracy: 2e-3, "dk[\(i)]") }
        for i in 0..<v0.count { var a = v0, b = v0; a[i] += eps; b[i] -= eps
            XCTAssertEqual(Double(dv[i]), (loss(q0, k0, a) - loss(q0, k0, b)) / Double(2 * eps), accuracy: 2e-3, "dv[\(i)]") }
    }
}

final class HalfPrecisionTests: XCTestCase {
    func testKnownBitPatterns() {
        XCTAssertEqual(floatToHalf(1), 0x3C00)
        XCTAssertEqual(floatToHalf(-2), 0xC000)
        XCTAssertEqual(floatToHalf(65504), 0x7BFF)
        XCTAssertEqual(floatToHalf(1e6), 0x7C00) // overflow → +inf
        XCTAssertEqual(halfToFloat(0x3555), 0.33325195)
        XCTAssertEqual(halfToFloat(0x0001), 5.9604645e-08) // smallest subnormal
        XCTAssertEqual(floatToBFloat16(1), 0x3F80)
        XCTAssertEqual(bfloat16ToFloat(0x4049), 3.140625)
        // 1 + 2^-8 is halfway between two bf16 values: ties to even (down); just above rounds up.
        XCTAssertEqual(floatToBFloat16(Float(bitPattern: 0x3F80_8000)), 0x3F80)
        XCTAssertEqual(floatToBFloat16(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertTrue(bfloat16ToFloat(floatToBFloat16(.nan)).isNaN)
    }

    func testRoundTripBulk() {
        let x = RandomGenerator(seed: 70).normals(count: 1000)
        var h = [UInt16](repeating: 0, count: 1000), y = [Float](repeating: 0, count: 1000)
        convertFloatToHalf(x, &h, count: 1000); convertHalfToFloat(h, &y, count: 1000)
        for i in 0..<1000 { XCTAssertEqual(y[i], x[i], accuracy: abs(x[i]) * 1e-3 + 1e-7) }
        convertFloatToBFloat16(x, &h, count: 1000); convertBFloat16ToFloat(h, &y, count: 1000)
        for i in 0..<1000 { XCTAssertEqual(y[i], x[i], accuracy: abs(x[i]) * 8e-3 + 1e-7) }
    }
}

final class RandomTests: XCTestCase {
    func testPhiloxKnownAnswers() {
        // Known-answer vectors from Random123's kat_vectors for philox4x32_10.
        XCTAssertEqual(RandomGenerator.philox(counter: .zero, key: .zero), SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        XCTAssertEqual(RandomGenerator.philox(counter: SIMD4(repeating: 0xffff_ffff), key: SIMD2(repeating: 0xffff_ffff)),
                       SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
        XCTAssertEqual(RandomGenerator.philox(counter: SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
                                              key: SIMD2(0xa409_3822, 0x299f_31d0)),
                       SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1))
    }

    func testSameStreamForAnyThreadCount() {
        let saved = Parallel.threads
        defer { Parallel.setThreads(saved) }
        var streams: [[Float]] = []
        for threads in [1, 2, 3] {
            Parallel.setThreads(threads)
            var rng = RandomGenerator(seed: 1234)
            var a = [Float](repeating: 0, count: 100_003), b = [Float](repeating: 0, count: 50_001)
            a.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
            b.withUnsafeMutableBufferPointer { rng.fillUniform($0) }
            streams.append(a + b)
        }
        XCTAssertTrue(streams[0] == streams[1] && streams[0] == streams[2], "stream depends on thread count")
        // A split fill continues the same stream as one fill of the whole.
        var rng = RandomGenerator(seed: 1234)
        var first = [Float](repeating: 0, count: 8), second = first
        first.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        second.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        XCTAssertEqual(first + second, Array(streams[0][0..<16]))
    }

    func testDistributions() {
        var rng = RandomGenerator(seed: 7)
        var z = [Float](repeating: 0, count: 400_000), u = z
        z.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        u.withUnsafeMutableBufferPointer { rng.fillUniform($0) }
        let mean = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
        let variance = z.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(z.count) - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.01)
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(u.reduce(0.0) { $0 + Double($1) } / Double(u.count), 0.5, accuracy: 0.005)
        XCTAssertNotEqual(RandomGenerator(seed: 1).normals(count: 4), RandomGenerator(seed: 2).normals(count: 4))
        var r = RandomGenerator(seed: 3)
        let ints = (0..<1000).map { _ in r.integer(below: 10) }
        XCTAssertEqual(Set(ints), Set(0..<10))
    }
}

final class ParallelTests: XCTestCase {
    func testEveryIndexExactlyOnce() {
        let saved = Parallel.threads
        defer { Parallel.setThreads(saved) }
        for threads in [1, 2, 5] {
            Parallel.setThreads(threads)
            let n = 1001
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: n)
            counts.initialize(repeating: 0, count: n)
            defer { counts.deallocate() }
            Parallel.forEach(n) { counts[$0] += 1 }
            XCTAssertTrue((0..<n).allSatisfy { counts[$0] == 1 })
        }
    }

    func testSgemmSameBitsForAnyThreadCount() {
        let saved = Parallel.threads
        defer { Parallel.setThreads(saved) }
        let a = RandomGenerator(seed: 80).normals(count: 256 * 300), b = RandomGenerator(seed: 81).normals(count: 300 * 256)
        var results: [[Float]] = []
        for threads in [1, 2] {
            Parallel.setThreads(threads)
            var c = [Float](repeating: 0, count: 256 * 256)
            sgemm(m: 256, n: 256, k: 300, a: a, lda: 300, b: b, ldb: 256, c: &c, ldc: 256)
            results.append(c)
        }
        XCTAssertTrue(results[0] == results[1], "sgemm differs between 1 and 2 threads")
    }
}

final class FastMathTests: XCTestCase {
    func testVexpAgainstLibm() {
        var xs: [Float] = [-100, -87.5, -87, -50, -10, -1, -1e-3, 0, 1e-3, 0.5, 1, 2.5, 10, 50, 88, 88.5, 100]
        var r = RandomGenerator(seed: 5)
        for _ in 0..<2000 { xs.append((r.uniform() - 0.5) * 170) }
        var ys = xs
        vexp(xs, into: &ys, count: xs.count)
        for (x, y) in zip(xs, ys) {
            let ref = Foundation.exp(Double(x))
            if ref < 1e-37 { XCTAssertLessThan(y, 1e-37, "x=\(x)"); continue }
            if ref > 3e38 { XCTAssertTrue(y.isInfinite || Double(y) > 3e38, "x=\(x)"); continue }
            XCTAssertEqual(Double(y) / ref, 1, accuracy: 3e-7, "x=\(x)")
        }
    }
}
