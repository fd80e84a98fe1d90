import Kernels

/// One residual sub-layer with adaptive LayerNorm, the building unit of every block here:
///
///     modulated:   out = h + gate ⊙ F(LN(h) ⊙ (1 + scale) + shift)     (adaLN-Zero: DiT, collaborative refiner)
///     gate only:   out = h + gate ⊙ F(LN(h))                           (HunyuanVideo's token refiner)
///
/// shift/scale/gate are per batch row, read from the output of the block's modulation Linear:
/// `mod` points at this sub-layer's first chunk of a [batch, stride] buffer, laid out
/// [shift, scale, gate] (modulated) or [gate] (gate only), each `dim` wide.
/// F is supplied as closures, so attention and MLP sub-layers share this code.
public struct AdaLNSubLayer: Sendable {
    public let norm: LayerNormLayer
    public let modulated: Bool
    public var dim: Int { norm.dim }
    /// Chunks of the modulation vector this sub-layer reads (3 or 1).
    public var chunks: Int { modulated ? 3 : 1 }

    /// A non-affine LayerNorm when modulated (the modulation supplies scale and shift), an affine one
    /// otherwise (HunyuanVideo: `elementwise_affine=True`).
    public init(_ store: ParameterStore, _ name: String, dim: Int, modulated: Bool, eps: Float = 1e-6) {
        norm = LayerNormLayer(modulated ? nil : store, name, dim: dim, eps: eps, affine: !modulated)
        self.modulated = modulated
    }

    public struct Activations {
        /// LN(h), then its modulation (the same buffer as n when not modulated), and F's output.
        public let n, m, f: UnsafeMutablePointer<Float>
        public let mean, rstd: UnsafeMutablePointer<Float>
    }

    public func makeActivations(_ arena: Arena, rows: Int) -> Activations {
        let n = arena.floats(rows * dim)
        return Activations(n: n, m: modulated ? arena.floats(rows * dim) : n, f: arena.floats(rows * dim),
                           mean: arena.floats(rows), rstd: arena.floats(rows))
    }

    /// Gradient scratch, shareable by every sub-layer of the same width whose rows fit.
    public struct Scratch {
        public let dF, dM, dN: UnsafeMutablePointer<Float>
        public init(_ arena: Arena, rows: Int, dim: Int) {
            dF = arena.floats(rows * dim); dM = arena.floats(rows * dim); dN = arena.floats(rows * dim)
        }
    }

    /// out = h + gate ⊙ F(…); `body(m, f)` must write F(m) into f. out must not alias h.
    public func forward(_ p: ParameterStore, _ h: UnsafePointer<Float>, mod: UnsafePointer<Float>, modStride: Int,
                        batch: Int, tokens: Int, _ a: Activations, into out: UnsafeMutablePointer<Float>,
                        body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let rows = batch * tokens
        norm.forward(p, h, rows: rows, into: a.n, mean: a.mean, rstd: a.rstd)
        if modulated {
            modulateForward(a.n, shift: mod, scale: mod + dim, conditionStride: modStride, batch: batch, tokens: tokens,
                            dim: dim, into: a.m)
        }
        body(a.m, a.f)
        gatedResidualForward(h, a.f, gate: mod + (chunks - 1) * dim, conditionStride: modStride,
                             batch: batch, tokens: tokens, dim: dim, into: out)
    }

    /// On entry dRes = ∂L/∂out; on exit dRes = ∂L/∂h. Modulation gradients accumulate into dMod (same
    /// layout as mod). `body(dF, dM)` must add ∂L/∂m into dM (zeroed before the call) and take care of
    /// F's own parameters.
    public func backward(_ p: ParameterStore, h: UnsafePointer<Float>, mod: UnsafePointer<Float>,
                         dMod: UnsafeMutablePointer<Float>, modStride: Int, batch: Int, tokens: Int, _ a: Activations,
                         dRes: UnsafeMutablePointer<Float>, scratch s: Scratch,
                         body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let rows = batch * tokens
        let g = (chunks - 1) * dim
        gatedResidualBackward(dOut: dRes, f: a.f, gate: mod + g, conditionStride: modStride, batch: batch, tokens: tokens,
                              dim: dim, dF: s.dF, dGate: dMod + g)
        s.dM.update(repeating: 0, count: rows * dim)
        body(s.dF, s.dM)
        var dn = s.dM
        if modulated {
            modulateBackward(x: a.n, dy: s.dM, scale: mod + dim, conditionStride: modStride, batch: batch, tokens: tokens,
                             dim: dim, dx: s.dN, accumulate: false, dShift: dMod, dScale: dMod + dim)
            dn = s.dN
        }
        norm.backward(p, x: h, dy: dn, mean: a.mean, rstd: a.rstd, rows: rows, dx: dRes)
    }
}
