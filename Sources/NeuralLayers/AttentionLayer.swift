import Kernels

/// Multi-head attention with q/k/v/out projections (biases on), optional QK RMSNorm per head, and a
/// key mask. The parameters are four separate Linears (`.q`, `.k`, `.v`, `.out`), but the projections
/// that read the same input run as one GEMM (`FusedLinears`): [q; k; v] for self-attention, [k; v] from
/// the context for cross-attention. One wide GEMM instead of three thin ones packs the input once and
/// runs the BLAS kernel at its better shapes, in both directions.
///
/// Layouts (row-major): x [batch·queries, dim], context [batch·keys, contextDim]; within a projection
/// row, a head's features are contiguous ([heads, headDim]).
public struct AttentionLayer: Sendable {
    public let dim: Int
    public let contextDim: Int
    public let heads: Int
    public let headDim: Int
    public let isCross: Bool
    public let q: Linear
    public let k: Linear
    public let v: Linear
    public let out: Linear
    /// What runs on x: [q; k; v] (self) or [q] (cross).
    public let queryProjection: FusedLinears
    /// Cross-attention: [k; v] on the context.
    public let contextProjection: FusedLinears?
    public let qNorm: RMSNormLayer?
    public let kNorm: RMSNormLayer?

    /// `contextDim` given = cross-attention.
    public init(_ store: ParameterStore, _ name: String, dim: Int, contextDim: Int? = nil, heads: Int, qkNorm: Bool,
                outputInit: Initializer? = nil) {
        precondition(dim % heads == 0, "width \(dim) is not a multiple of \(heads) heads")
        self.dim = dim
        isCross = contextDim != nil
        self.contextDim = contextDim ?? dim
        self.heads = heads
        headDim = dim / heads
        // Declaration order fixes the store layout: q, k, v, out, q_norm, k_norm.
        q = Linear(store, name + ".q", inFeatures: dim, outFeatures: dim)
        k = Linear(store, name + ".k", inFeatures: self.contextDim, outFeatures: dim)
        v = Linear(store, name + ".v", inFeatures: self.contextDim, outFeatures: dim)
        out = Linear(store, name + ".out", inFeatures: dim, outFeatures: dim, weightInit: outputInit)
        if isCross {
            queryProjection = FusedLinears([q])
            contextProjection = FusedLinears([k, v])
        } else {
            queryProjection = FusedLinears([q, k, v])
            contextProjection = nil
        }
        if qkNorm {
            qNorm = RMSNormLayer(store, name + ".q_norm", dim: headDim)
            kNorm = RMSNormLayer(store, name + ".k_norm", dim: headDim)
        } else {
            qNorm = nil; kNorm = nil
        }
    }

    public var scale: Float { 1 / Float(headDim).squareRoot() }
    /// Row strides of the query and key/value projection buffers.
    var qStride: Int { isCross ? dim : 3 * dim }
    var kvStride: Int { isCross ? 2 * dim : 3 * dim }

    /// Saved for the backward pass.
    public struct Activations {
        /// Packed projection weights of this layer (refreshed by every forward pass).
        public let queryPacked: FusedLinears.Packed
        public let contextPacked: FusedLinears.Packed?
        /// Query-side projections: [q; k; v] rows (self) or q rows (cross).
        public let qProj: UnsafeMutablePointer<Float>
        /// Context projections [k; v] rows (cross); the same buffer as qProj for self-attention.
        public let kvProj: UnsafeMutablePointer<Float>
        /// QK-normalised q, k ([rows, dim] contiguous), when QK-norm is on.
        public let qn, kn: UnsafeMutablePointer<Float>?
        public let qRstd, kRstd: UnsafeMutablePointer<Float>
        public let probabilities: UnsafeMutablePointer<Float>
        /// Attention output before the out projection.
        public let o: UnsafeMutablePointer<Float>
    }

    public func makeActivations(_ arena: Arena, batch: Int, queries: Int, keys: Int) -> Activations {
        let (qr, kr) = (batch * queries, batch * keys)
        let qp = arena.floats(qr * qStride)
        return Activations(
            queryPacked: queryProjection.makePacked(arena), contextPacked: contextProjection?.makePacked(arena),
            qProj: qp, kvProj: isCross ? arena.floats(kr * kvStride) : qp,
            qn: qNorm == nil ? nil : arena.floats(qr * dim), kn: kNorm == nil ? nil : arena.floats(kr * dim),
            qRstd: arena.floats(qNorm == nil ? 1 : qr * heads), kRstd: arena.floats(kNorm == nil ? 1 : kr * heads),
            probabilities: arena.floats(batch * heads * queries * keys), o: arena.floats(qr * dim))
    }

    /// Gradient scratch for the backward pass; one can serve every layer whose shapes fit.
    public struct Scratch {
        public let dO, dqn, dkn: UnsafeMutablePointer<Float>
        /// Gradients of the projection buffers (same layouts as `Activations.qProj` / `kvProj`).
        public let dQProj, dKVProj: UnsafeMutablePointer<Float>
        public let softmax: UnsafeMutablePointer<Float>
        /// Packed-weight gradient scratch (3·dim × max(dim, contextDim)).
        public let packedGradient: FusedLinears.Packed
        /// Sized for calls with up to `batch`, `queries`, `keys`, `heads` at width `dim` (context width up to
        /// `contextDim`, default dim), self or cross.
        public init(_ arena: Arena, batch: Int, queries: Int, keys: Int, heads: Int, dim: Int, contextDim: Int? = nil) {
            packedGradient = FusedLinears.gradientScratch(arena, outFeatures: 3 * dim, inFeatures: max(dim, contextDim ?? dim))
            let (qr, kr) = (batch * queries, batch * keys)
            let rows = max(qr, kr)
            dO = arena.floats(qr * dim); dqn = arena.floats(qr * dim); dkn = arena.floats(rows * dim)
            dQProj = arena.floats(rows * 3 * dim); dKVProj = arena.floats(kr * 2 * dim)
            softmax = arena.floats(batch * heads * queries * keys)
        }
    }

    /// y = out(attention(...)). context nil = self-attention (keys = queries); required for cross-attention.
    public func forward(_ p: ParameterStore, _ x: UnsafePointer<Float>, context: UnsafePointer<Float>? = nil,
                        batch: Int, queries: Int, keys: Int, mask: AttentionMask, _ a: Activations,
                        into y: UnsafeMutablePointer<Float>) {
        precondition(isCross == (context != nil), isCross ? "cross-attention needs a context" : "self-attention takes no context")
        precondition(mask.queryOffset == 0, "attention layers take no cached prefix")
        if case .slidingWindow = mask.kind { preconditionFailure("sliding-window masks are not supported here") }
        let (qr, kr) = (batch * queries, batch * keys)
        queryProjection.forward(p, x, rows: qr, packed: a.queryPacked, into: a.qProj)
        if let cp = contextProjection, let context { cp.forward(p, context, rows: kr, packed: a.contextPacked!, into: a.kvProj) }
        let kOff = isCross ? 0 : dim, vOff = isCross ? dim : 2 * dim
        var shape = attentionShape(batch: batch, queries: queries, keys: keys)
        var qPtr = UnsafePointer(a.qProj), kPtr = UnsafePointer(a.kvProj + kOff)
        if let qNorm, let qn = a.qn {
            qNorm.forward(p, a.qProj, rows: qr * heads, groups: heads, stride: qStride, into: qn, rstd: a.qRstd)
            qPtr = UnsafePointer(qn); shape.ldq = dim
        }
        if let kNorm, let kn = a.kn {
            kNorm.forward(p, a.kvProj + kOff, rows: kr * heads, groups: heads, stride: kvStride, into: kn, rstd: a.kRstd)
            kPtr = UnsafePointer(kn); shape.ldk = dim
        }
        multiHeadAttention(q: qPtr, k: kPtr, v: a.kvProj + vOff, out: a.o, shape: shape, scale: scale, mask: mask,
                           probabilities: a.probabilities)
        out.forward(p, a.o, rows: qr, into: y)
    }

    /// dx += ∂L/∂x; dContext += ∂L/∂context (cross-attention; self-attention's key/value gradients go
    /// to dx). dx/dContext may be nil when the input needs no gradient.
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, context: UnsafePointer<Float>? = nil,
                         batch: Int, queries: Int, keys: Int, _ a: Activations, dy: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, dContext: UnsafeMutablePointer<Float>? = nil, scratch s: Scratch) {
        let (qr, kr) = (batch * queries, batch * keys)
        out.backward(p, x: a.o, dy: dy, rows: qr, dx: s.dO, overwriteDx: true)
        let dQ = s.dQProj, dKV = isCross ? s.dKVProj : s.dQProj
        let kOff = isCross ? 0 : dim, vOff = isCross ? dim : 2 * dim
        var shape = attentionShape(batch: batch, queries: queries, keys: keys)
        shape.ldq = qNorm == nil ? qStride : dim
        shape.ldk = kNorm == nil ? kvStride : dim
        let qIn = a.qn.map { UnsafePointer($0) } ?? UnsafePointer(a.qProj)
        let kIn = a.kn.map { UnsafePointer($0) } ?? UnsafePointer(a.kvProj + kOff)
        let dqOut = qNorm == nil ? dQ : s.dqn
        let dkOut = kNorm == nil ? dKV + kOff : s.dkn
        multiHeadAttentionBackward(dOut: s.dO, q: qIn, k: kIn, v: a.kvProj + vOff, probabilities: a.probabilities, shape: shape,
                                   scale: scale, dq: dqOut, dk: dkOut, dv: dKV + vOff, scratch: s.softmax)
        if let qNorm {
            qNorm.backward(p, x: a.qProj, dy: s.dqn, rstd: a.qRstd, rows: qr * heads, groups: heads, stride: qStride,
                           dx: dQ, accumulate: false)
        }
        if let kNorm {
            kNorm.backward(p, x: a.kvProj + kOff, dy: s.dkn, rstd: a.kRstd, rows: kr * heads, groups: heads, stride: kvStride,
                           dx: dKV + kOff, accumulate: false)
        }
        queryProjection.backward(p, x: x, dy: dQ, rows: qr, packed: a.queryPacked, dx: dx, scratch: s.packedGradient)
        if let cp = contextProjection, let context {
            cp.backward(p, x: context, dy: dKV, rows: kr, packed: a.contextPacked!, dx: dContext, scratch: s.packedGradient)
        }
    }

    /// The core's shape: q and k/v read straight out of the fused projections' rows.
    func attentionShape(batch: Int, queries: Int, keys: Int) -> AttentionShape {
        var shape = AttentionShape(batch: batch, queries: queries, keys: keys, heads: heads, kvHeads: heads, headDim: headDim)
        (shape.ldq, shape.ldk, shape.ldv) = (qStride, kvStride, kvStride)
        return shape
    }

    /// 2 × multiply-adds of one forward call.
    public func flops(batch: Int, queries: Int, keys: Int) -> Int {
        let proj = 2 * batch * (queries * dim * dim * 2 + keys * contextDim * dim * 2)
        let att = 2 * batch * heads * queries * keys * headDim * 2
        return proj + att
    }
}
