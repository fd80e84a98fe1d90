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
        layerNorm(x, rows: rows, dim: dim, weight: weight.map { UnsafePointer(p!.value($0)) }, bias: bias.map { UnsafePointer(p!.value($0)) },
                  eps: eps, into: y, mean: mean, rstd: rstd)
    }

    /// dx += ∂L/∂x; affine parameters' gradients accumulate into the store.
    public func backward(_ p: ParameterStore?, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                         mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, dx: UnsafeMutablePointer<Float>) {
        layerNormBackward(dy: dy, x: x, mean: mean, rstd: rstd, weight: weight.map { UnsafePointer(p!.value($0)) }, rows: rows, dim: dim,
                          dx: dx, dweight: weight.map { p!.gradient($0) }, dbias: bias.map { p!.gradient($0) })
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
    public func forward(_ p: ParameterStore, _ x: UnsafePointer<Float>, rows: Int, groups: Int = 1, stride: Int? = nil,
                        into y: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        rmsNorm(x, rows: rows, dim: dim, weight: p.value(weight), eps: eps, groups: groups, stride: stride, into: y, rstd: rstd)
    }

    /// dx (+)= ∂L/∂x (same strided layout as the forward input); dw accumulates into the store.
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                         rows: Int, groups: Int = 1, stride: Int? = nil, dx: UnsafeMutablePointer<Float>, accumulate: Bool = true) {
        rmsNormBackward(dy: dy, x: x, weight: p.value(weight), rstd: rstd, rows: rows, dim: dim, groups: groups, stride: stride,
                        dx: dx, accumulate: accumulate, dweight: p.gradient(weight))
    }
}
