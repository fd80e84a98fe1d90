import Kernels

/// Multi-head attention with separate q/k/v/out projections (biases on), optional QK RMSNorm per
/// head, and a key mask. Self-attention when no context is passed; cross-attention reads keys and
/// values from a context of width `contextDim`.
///
/// Layouts (row-major): x [batch·queries, dim], context [batch·keys, contextDim],
/// q/k/v [batch, tokens, heads, headDim] = [batch·tokens, dim].
public struct AttentionLayer: Sendable {
    public let dim: Int
    public let contextDim: Int
    public let heads: Int
    public let headDim: Int
    public let q: Linear
    public let k: Linear
    public let v: Linear
    public let out: Linear
    public let qNorm: RMSNormLayer?
    public let kNorm: RMSNormLayer?

    public init(_ store: ParameterStore, _ name: String, dim: Int, contextDim: Int? = nil, heads: Int, qkNorm: Bool,
                outputInit: Initializer? = nil) {
        precondition(dim % heads == 0, "width \(dim) is not a multiple of \(heads) heads")
        self.dim = dim
        self.contextDim = contextDim ?? dim
        self.heads = heads
        headDim = dim / heads
        q = Linear(store, name + ".q", inFeatures: dim, outFeatures: dim)
        k = Linear(store, name + ".k", inFeatures: self.contextDim, outFeatures: dim)
        v = Linear(store, name + ".v", inFeatures: self.contextDim, outFeatures: dim)
        out = Linear(store, name + ".out", inFeatures: dim, outFeatures: dim, weightInit: outputInit)
        if qkNorm {
            qNorm = RMSNormLayer(store, name + ".q_norm", dim: headDim)
            kNorm = RMSNormLayer(store, name + ".k_norm", dim: headDim)
        } else {
            qNorm = nil; kNorm = nil
        }
    }

    public var scale: Float { 1 / Float(headDim).squareRoot() }

    /// Saved for the backward pass.
    public struct Activations {
        public let q, k, v: UnsafeMutablePointer<Float>
        /// Normalised q, k (the same buffers as q, k without QK-norm).
        public let qn, kn: UnsafeMutablePointer<Float>
        public let qRstd, kRstd: UnsafeMutablePointer<Float>
        public let probabilities: UnsafeMutablePointer<Float>
        /// Attention output before the out projection.
        public let o: UnsafeMutablePointer<Float>
    }

    public func makeActivations(_ arena: Arena, batch: Int, queries: Int, keys: Int) -> Activations {
        let (qr, kr) = (batch * queries, batch * keys)
        let qb = arena.floats(qr * dim), kb = arena.floats(kr * dim)
        return Activations(
            q: qb, k: kb, v: arena.floats(kr * dim),
            qn: qNorm == nil ? qb : arena.floats(qr * dim), kn: kNorm == nil ? kb : arena.floats(kr * dim),
            qRstd: arena.floats(qNorm == nil ? 1 : qr * heads), kRstd: arena.floats(kNorm == nil ? 1 : kr * heads),
            probabilities: arena.floats(batch * heads * queries * keys), o: arena.floats(qr * dim))
    }

    /// Gradient scratch for the backward pass; one can serve every layer of a network whose shapes fit.
    public struct Scratch {
        public let dO, dq, dqn: UnsafeMutablePointer<Float>
        public let dk, dkn, dv: UnsafeMutablePointer<Float>
        public let softmax: UnsafeMutablePointer<Float>
        /// Sized for calls with up to `batch`, `queries`, `keys`, `heads` at width `dim`.
        public init(_ arena: Arena, batch: Int, queries: Int, keys: Int, heads: Int, dim: Int) {
            let (qr, kr) = (batch * queries, batch * keys)
            dO = arena.floats(qr * dim); dq = arena.floats(qr * dim); dqn = arena.floats(qr * dim)
            dk = arena.floats(kr * dim); dkn = arena.floats(kr * dim); dv = arena.floats(kr * dim)
            softmax = arena.floats(batch * heads * queries * keys)
        }
    }

    /// y = out(attention(q(x), k(ctx), v(ctx))). context nil = self-attention (keys = queries).
    public func forward(_ p: ParameterStore, _ x: UnsafePointer<Float>, context: UnsafePointer<Float>? = nil,
                        batch: Int, queries: Int, keys: Int, mask: AttentionMask, _ a: Activations,
                        into y: UnsafeMutablePointer<Float>) {
        let ctx = context ?? x
        let (qr, kr) = (batch * queries, batch * keys)
        q.forward(p, x, rows: qr, into: a.q)
        k.forward(p, ctx, rows: kr, into: a.k)
        v.forward(p, ctx, rows: kr, into: a.v)
        if let qNorm { qNorm.forward(p, a.q, rows: qr * heads, into: a.qn, rstd: a.qRstd) }
        if let kNorm { kNorm.forward(p, a.k, rows: kr * heads, into: a.kn, rstd: a.kRstd) }
        precondition(mask.queryOffset == 0, "attention layers take no cached prefix")
        if case .slidingWindow = mask.kind { preconditionFailure("sliding-window masks are not supported here") }
        let core = AttentionCore(batch: batch, queries: queries, keys: keys, heads: heads, headDim: headDim,
                                 causal: mask.kind == .causal)
        core.forward(q: a.qn, k: a.kn, v: a.v, keyValid: mask.keyValid, out: a.o, probabilities: a.probabilities)
        out.forward(p, a.o, rows: qr, into: y)
    }

    /// dx += ∂L/∂x; dContext += ∂L/∂context (cross-attention; nil context = self-attention, whose
    /// key/value gradients go to dx). dx/dContext may be nil when the input needs no gradient.
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, context: UnsafePointer<Float>? = nil,
                         batch: Int, queries: Int, keys: Int, _ a: Activations, dy: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, dContext: UnsafeMutablePointer<Float>? = nil, scratch s: Scratch) {
        let ctx = context ?? x
        let dCtx = context == nil ? dx : dContext
        let (qr, kr) = (batch * queries, batch * keys)
        out.backward(p, x: a.o, dy: dy, rows: qr, dx: s.dO, overwriteDx: true)
        let dqn = qNorm == nil ? s.dq : s.dqn, dkn = kNorm == nil ? s.dk : s.dkn
        let core = AttentionCore(batch: batch, queries: queries, keys: keys, heads: heads, headDim: headDim)
        core.backward(dOut: s.dO, q: a.qn, k: a.kn, v: a.v, probabilities: a.probabilities, dq: dqn, dk: dkn, dv: s.dv,
                      scratch: s.softmax)
        if let qNorm {
            s.dq.update(repeating: 0, count: qr * dim)
            qNorm.backward(p, x: a.q, dy: dqn, rstd: a.qRstd, rows: qr * heads, dx: s.dq)
        }
        if let kNorm {
            s.dk.update(repeating: 0, count: kr * dim)
            kNorm.backward(p, x: a.k, dy: dkn, rstd: a.kRstd, rows: kr * heads, dx: s.dk)
        }
        q.backward(p, x: x, dy: s.dq, rows: qr, dx: dx)
        k.backward(p, x: ctx, dy: s.dk, rows: kr, dx: dCtx)
        v.backward(p, x: ctx, dy: s.dv, rows: kr, dx: dCtx)
    }

    /// 2 × multiply-adds of one forward call.
    public func flops(batch: Int, queries: Int, keys: Int) -> Int {
        let proj = 2 * batch * (queries * dim * dim * 2 + keys * contextDim * dim * 2)
        let att = 2 * batch * heads * queries * keys * headDim * 2
        return proj + att
    }
}
