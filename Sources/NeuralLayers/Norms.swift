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
        let w = weight.map { p!.value($0) }, b = bias.map { p!.value($0) }
        let (dim, eps) = (self.dim, self.eps)
        parallelRows(rows, width: dim) { range in
            let o = range.lowerBound * dim
            layerNorm(x + o, rows: range.count, dim: dim, weight: w.map { UnsafePointer($0) }, bias: b.map { UnsafePointer($0) },
                      eps: eps, into: y + o, savingMean: mean + range.lowerBound, reciprocalStd: rstd + range.lowerBound)
        }
    }

    /// dx += ∂L/∂x; affine parameters' gradients accumulate into the store.
    public func backward(_ p: ParameterStore?, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                         mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, dx: UnsafeMutablePointer<Float>) {
        let w = weight.map { UnsafePointer(p!.value($0)) }
        let dim = self.dim
        parallelRows(rows, width: dim) { range in
            let o = range.lowerBound * dim
            layerNormBackward(dy: dy + o, x: x + o, mean: mean + range.lowerBound, rstd: rstd + range.lowerBound,
                              weight: w, rows: range.count, dim: dim, dx: dx + o, dweight: nil, dbias: nil)
        }
        if let weight, let bias, let p {
            let dw = p.gradient(weight), db = p.gradient(bias)
            let work = { (cols: Range<Int>) in
                for r in 0..<rows {
                    let xr = x + r * dim, dyr = dy + r * dim
                    let m = mean[r], s = rstd[r]
                    for c in cols {
                        dw[c] += (xr[c] - m) * s * dyr[c]
                        db[c] += dyr[c]
                    }
                }
            }
            if rows * dim < 32_768 { work(0..<dim) } else { Parallel.forEachChunk(dim, minChunk: 16, work) }
        }
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

    /// Saves 1/rms per row.
    public func forward(_ p: ParameterStore, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                        rstd: UnsafeMutablePointer<Float>) {
        let w = p.value(weight)
        let (dim, eps) = (self.dim, self.eps)
        parallelRows(rows, width: dim) { range in
            for r in range {
                let xr = x + r * dim, yr = y + r * dim
                let s = 1 / (Float(sumOfSquares(xr, count: dim) / Double(dim)) + eps).squareRoot()
                rstd[r] = s
                for i in 0..<dim { yr[i] = xr[i] * s * w[i] }
            }
        }
    }

    /// dx += ∂L/∂x; dw accumulates into the store.
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                         rows: Int, dx: UnsafeMutablePointer<Float>) {
        let w = p.value(weight), dw = p.gradient(weight)
        let dim = self.dim
        let inv = 1 / Float(dim)
        parallelRows(rows, width: dim) { range in
            for r in range {
                let xr = x + r * dim, dyr = dy + r * dim, dxr = dx + r * dim
                let s = rstd[r]
                var gx: Float = 0
                for i in 0..<dim { gx += dyr[i] * w[i] * xr[i] }
                let c = s * s * s * gx * inv
                for i in 0..<dim { dxr[i] += s * w[i] * dyr[i] - c * xr[i] }
            }
        }
        let work = { (cols: Range<Int>) in
            for r in 0..<rows {
                let xr = x + r * dim, dyr = dy + r * dim
                let s = rstd[r]
                for c in cols { dw[c] += dyr[c] * xr[c] * s }
            }
        }
        if rows * dim < 32_768 { work(0..<dim) } else { Parallel.forEachChunk(dim, minChunk: 8, work) }
    }
}
