import Kernels

/// LayerNorm over the last axis. Affine (weight ones, bias zeros at init) or not (adaLN blocks).
public struct LayerNormLayer: Sendable {
    public let dim: Int
    public let eps: Float
    public let weight: ParameterRef?
    public let bias: ParameterRef?

    public init(_ store: ParameterStore?, _ name: String, dim: Int, eps: Float = 1e-6, affine: Bool) {
        self.dim = dim
        self.eps = eps
        if affine, let store {
            weight = store.declare(name + ".weight", shape: [dim], initializer: .ones)
            bias = store.declare(name + ".bias", shape: [dim], initializer: .zeros)
        } else {
            precondition(!affine, "an affine LayerNorm needs a store")
            weight = nil; bias = nil
        }
    }

    /// y = LN(x); saves per-row mean and 1/std for the backward pass.
    public func forward(_ p: ParameterStore?, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        let w = weight.map { UnsafePointer(p!.value($0)) }, b = bias.map { UnsafePointer(p!.value($0)) }
        let (dim, eps) = (self.dim, self.eps)
        parallelRows(rows, width: dim) { range in
            for r in range {
                layerNormRow(x + r * dim, dim: dim, eps: eps, weight: w, bias: b, y: y + r * dim, mean: mean + r, rstd: rstd + r)
            }
        }
    }

    /// dx += ∂L/∂x; affine parameters' gradients accumulate into the store.
    public func backward(_ p: ParameterStore?, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                         mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, dx: UnsafeMutablePointer<Float>) {
        let w = weight.map { UnsafePointer(p!.value($0)) }
        let dim = self.dim
        parallelRows(rows, width: dim) { range in
            for r in range {
                layerNormBackwardRow(x: x + r * dim, dy: dy + r * dim, dim: dim, weight: w, mean: mean[r], rstd: rstd[r],
                                     dx: dx + r * dim)
            }
        }
        if let weight, let bias, let p {
            // dbias += Σ dy; dweight += Σ n̂ ⊙ dy — 8 columns at a time, parallel over column blocks.
            let dw = p.gradient(weight), db = p.gradient(bias)
            accumulateColumnSums(dy, rows: rows, width: dim, into: db)
            let blocks = (dim + 7) / 8
            let work = { (range: Range<Int>) in
                let c0 = range.lowerBound * 8, c1 = min(dim, range.upperBound * 8)
                var c = c0
                while c + 8 <= c1 {
                    var acc = Lanes(repeating: 0)
                    for r in 0..<rows {
                        acc += (loadLanes(x + r * dim + c) - Lanes(repeating: mean[r])) * Lanes(repeating: rstd[r])
                            * loadLanes(dy + r * dim + c)
                    }
                    storeLanes(loadLanes(dw + c) + acc, dw + c)
                    c += 8
                }
                while c < c1 {
                    var s: Float = 0
                    for r in 0..<rows { s += (x[r * dim + c] - mean[r]) * rstd[r] * dy[r * dim + c] }
                    dw[c] += s
                    c += 1
                }
            }
            if rows * dim < 65_536 { work(0..<blocks) } else { Parallel.forEachChunk(blocks, minChunk: 4, work) }
        }
    }
}

/// One row of LayerNorm, 8 lanes at a time (two-pass mean and variance).
@inline(__always)
func layerNormRow(_ x: UnsafePointer<Float>, dim: Int, eps: Float, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                  y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
    var acc = Lanes(repeating: 0)
    var i = 0
    while i + 8 <= dim { acc += loadLanes(x + i); i += 8 }
    var sum = acc.sum()
    while i < dim { sum += x[i]; i += 1 }
    let m = sum / Float(dim)
    let mv = Lanes(repeating: m)
    acc = Lanes(repeating: 0)
    i = 0
    while i + 8 <= dim { let d = loadLanes(x + i) - mv; acc += d * d; i += 8 }
    var ss = acc.sum()
    while i < dim { let d = x[i] - m; ss += d * d; i += 1 }
    let s = 1 / (ss / Float(dim) + eps).squareRoot()
    mean.pointee = m
    rstd.pointee = s
    let sv = Lanes(repeating: s)
    i = 0
    while i + 8 <= dim {
        var v = (loadLanes(x + i) - mv) * sv
        if let weight { v *= loadLanes(weight + i) }
        if let bias { v += loadLanes(bias + i) }
        storeLanes(v, y + i)
        i += 8
    }
    while i < dim {
        var v = (x[i] - m) * s
        if let weight { v *= weight[i] }
        if let bias { v += bias[i] }
        y[i] = v
        i += 1
    }
}

/// dx += rstd·(ĝ − mean(ĝ) − n̂·mean(ĝ·n̂)), ĝ = w·dy, n̂ = (x − mean)·rstd (llm.c's layernorm_backward).
@inline(__always)
func layerNormBackwardRow(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dim: Int, weight: UnsafePointer<Float>?,
                          mean: Float, rstd: Float, dx: UnsafeMutablePointer<Float>) {
    let mv = Lanes(repeating: mean), sv = Lanes(repeating: rstd)
    var a1 = Lanes(repeating: 0), a2 = Lanes(repeating: 0)
    var i = 0
    while i + 8 <= dim {
        let n = (loadLanes(x + i) - mv) * sv
        var g = loadLanes(dy + i)
        if let weight { g *= loadLanes(weight + i) }
        a1 += g; a2 += g * n
        i += 8
    }
    var s1 = a1.sum(), s2 = a2.sum()
    while i < dim {
        let n = (x[i] - mean) * rstd
        let g = dy[i] * (weight?[i] ?? 1)
        s1 += g; s2 += g * n
        i += 1
    }
    let m1 = s1 / Float(dim), m2 = s2 / Float(dim)
    let m1v = Lanes(repeating: m1), m2v = Lanes(repeating: m2)
    i = 0
    while i + 8 <= dim {
        let n = (loadLanes(x + i) - mv) * sv
        var g = loadLanes(dy + i)
        if let weight { g *= loadLanes(weight + i) }
        storeLanes(loadLanes(dx + i) + (g - m1v - n * m2v) * sv, dx + i)
        i += 8
    }
    while i < dim {
        let n = (x[i] - mean) * rstd
        let g = dy[i] * (weight?[i] ?? 1)
        dx[i] += (g - m1 - n * m2) * rstd
        i += 1
    }
}

/// RMSNorm over the last axis with a learnable weight (ones at init): y = x / sqrt(mean(x²)+eps) · w.
/// Used as QK-norm over each head (rows = tokens·heads, dim = head size).
public struct RMSNormLayer: Sendable {
    public let dim: Int
    public let eps: Float
    public let weight: ParameterRef

    public init(_ store: ParameterStore, _ name: String, dim: Int, eps: Float = 1e-6) {
        self.dim = dim
        self.eps = eps
        weight = store.declare(name + ".weight", shape: [dim], initializer: .ones)
    }

    /// Saves 1/rms per row. Input row i sits at x + (i / groups)·stride + (i % groups)·dim (so the
    /// heads of one token can be read out of a wider fused-projection row); output rows are contiguous.
    /// Defaults: groups 1, stride dim (contiguous rows).
    public func forward(_ p: ParameterStore, _ x: UnsafePointer<Float>, rows: Int, groups: Int = 1, stride: Int? = nil,
                        into y: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        let w = p.value(weight)
        let (dim, eps) = (self.dim, self.eps)
        let st = stride ?? dim
        parallelRows(rows, width: dim) { range in
            for r in range {
                let xr = x + (r / groups) * st + (r % groups) * dim, yr = y + r * dim
                var acc = Lanes(repeating: 0)
                var i = 0
                while i + 8 <= dim { let v = loadLanes(xr + i); acc += v * v; i += 8 }
                var ss = acc.sum()
                while i < dim { ss += xr[i] * xr[i]; i += 1 }
                let s = 1 / (ss / Float(dim) + eps).squareRoot()
                rstd[r] = s
                for i in 0..<dim { yr[i] = xr[i] * s * w[i] }
            }
        }
    }

    /// dx (+)= ∂L/∂x (same strided layout as the forward input); dw accumulates into the store.
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                         rows: Int, groups: Int = 1, stride: Int? = nil, dx: UnsafeMutablePointer<Float>, accumulate: Bool = true) {
        let w = p.value(weight), dw = p.gradient(weight)
        let dim = self.dim
        let st = stride ?? dim
        let inv = 1 / Float(dim)
        parallelRows(rows, width: dim) { range in
            for r in range {
                let off = (r / groups) * st + (r % groups) * dim
                let xr = x + off, dyr = dy + r * dim, dxr = dx + off
                let s = rstd[r]
                var acc = Lanes(repeating: 0)
                var i = 0
                while i + 8 <= dim { acc += loadLanes(dyr + i) * loadLanes(w + i) * loadLanes(xr + i); i += 8 }
                var gx = acc.sum()
                while i < dim { gx += dyr[i] * w[i] * xr[i]; i += 1 }
                let c = s * s * s * gx * inv
                let sv = Lanes(repeating: s), cv = Lanes(repeating: c)
                i = 0
                while i + 8 <= dim {
                    let g = sv * loadLanes(w + i) * loadLanes(dyr + i) - cv * loadLanes(xr + i)
                    storeLanes(accumulate ? loadLanes(dxr + i) + g : g, dxr + i)
                    i += 8
                }
                while i < dim {
                    let g = s * w[i] * dyr[i] - c * xr[i]
                    dxr[i] = accumulate ? dxr[i] + g : g
                    i += 1
                }
            }
        }
        // dw += Σ_rows dy ⊙ x ⊙ rstd, 8 columns at a time.
        let blocks = (dim + 7) / 8
        let work = { (range: Range<Int>) in
            let c0 = range.lowerBound * 8, c1 = min(dim, range.upperBound * 8)
            var c = c0
            while c + 8 <= c1 {
                var acc = Lanes(repeating: 0)
                for r in 0..<rows {
                    let xr = x + (r / groups) * st + (r % groups) * dim
                    acc += loadLanes(dy + r * dim + c) * loadLanes(xr + c) * Lanes(repeating: rstd[r])
                }
                storeLanes(loadLanes(dw + c) + acc, dw + c)
                c += 8
            }
            while c < c1 {
                var s: Float = 0
                for r in 0..<rows { s += dy[r * dim + c] * x[(r / groups) * st + (r % groups) * dim + c] * rstd[r] }
                dw[c] += s
                c += 1
            }
        }
        if rows * dim < 65_536 { work(0..<blocks) } else { Parallel.forEachChunk(blocks, minChunk: 1, work) }
    }
}
