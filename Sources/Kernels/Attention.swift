import Foundation

/// Which keys a query may see. Query t of a batch row sits at position `queryOffset + t`
/// (queryOffset > 0 when earlier keys come from a cached prefix); key s sits at position s.
public struct AttentionMask {
    public enum Kind: Equatable, Sendable {
        case bidirectional
        case causal
        /// Causal, and only the last `window` positions (the query's own included).
        case slidingWindow(Int)
    }

    public var kind: Kind
    public var queryOffset: Int
    /// [batch, keys]: nonzero = real token, zero = padding (never attended to). nil = all real.
    public var keyValid: UnsafePointer<UInt8>?

    public init(_ kind: Kind, queryOffset: Int = 0, keyValid: UnsafePointer<UInt8>? = nil) {
        self.kind = kind
        self.queryOffset = queryOffset
        self.keyValid = keyValid
    }

    /// Keys a query may see by position alone, as a half-open range (padding is separate).
    @inline(__always)
    public func keyRange(query t: Int, keys: Int) -> Range<Int> {
        let q = queryOffset + t
        switch kind {
        case .bidirectional: return 0..<keys
        case .causal: return 0..<max(0, min(keys, q + 1))
        case .slidingWindow(let w): return min(keys, max(0, q - w + 1))..<max(0, min(keys, q + 1))
        }
    }

    @inline(__always)
    public func allows(batch b: Int, query t: Int, key s: Int, keys: Int) -> Bool {
        if let keyValid, keyValid[b * keys + s] == 0 { return false }
        let q = queryOffset + t
        switch kind {
        case .bidirectional: return true
        case .causal: return s <= q
        case .slidingWindow(let w): return s <= q && q - s < w
        }
    }
}

/// Shapes of one multi-head attention call. Layouts (row-major):
/// q [batch, queries, heads, headDim], k [batch, keys, kvHeads, headDim],
/// v [batch, keys, kvHeads, valueDim], out [batch, queries, heads, valueDim].
/// Query head h reads KV head h / (heads / kvHeads): consecutive groups, as in llama.cpp.
/// The row strides of q, k and v (`ldq`, `ldk`, `ldv`) default to the packed ones; wider ones read
/// the operands out of fused-projection rows ([q | k | v] per token) without a copy.
public struct AttentionShape: Sendable {
    public var batch, queries, keys, heads, kvHeads, headDim, valueDim: Int
    public var ldq, ldk, ldv: Int

    public init(batch: Int = 1, queries: Int, keys: Int, heads: Int, kvHeads: Int, headDim: Int, valueDim: Int? = nil) {
        precondition(heads % kvHeads == 0, "heads must be a multiple of kvHeads")
        self.batch = batch; self.queries = queries; self.keys = keys
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim; self.valueDim = valueDim ?? headDim
        ldq = heads * headDim; ldk = kvHeads * headDim; ldv = kvHeads * self.valueDim
    }

    /// Floats of the attention probabilities of the whole call (also the backward pass's scratch).
    public var probabilityCount: Int { batch * heads * queries * keys }
    /// 2 × multiply-adds of the forward pass (q·kᵀ and p·v).
    public var flops: Int { 2 * batch * heads * queries * keys * (headDim + valueDim) }
    @inline(__always) func kvHead(_ h: Int) -> Int { h / (heads / kvHeads) }
}

/// softmax(q·kᵀ·scale + mask)·v per (batch row, head) — the one attention of the LLMs, the refiners
/// and the LI-DiT. (batch row, head) items run in parallel, each with single-threaded BLAS calls and
/// the masked softmax of `maskedSoftmaxRow`. `probabilities` ([batch, heads, queries, keys])
/// receives the softmax output, which the backward pass needs; it doubles as the score buffer.
/// A query with no visible key gets all-zero probabilities and a zero output.
public func multiHeadAttention(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, shape: AttentionShape, scale: Float, mask: AttentionMask,
    probabilities: UnsafeMutablePointer<Float>
) {
    let s = shape
    let (T, S, D, Dv) = (s.queries, s.keys, s.headDim, s.valueDim)
    Parallel.forEach(s.batch * s.heads) { item in
        let b = item / s.heads, h = item % s.heads, g = s.kvHead(h)
        let p = probabilities + item * T * S
        serialSgemm(transposeB: true, m: T, n: S, k: D, alpha: scale, a: q + b * T * s.ldq + h * D, lda: s.ldq,
                    b: k + b * S * s.ldk + g * D, ldb: s.ldk, c: p, ldc: S)
        let valid = mask.keyValid.map { $0 + b * S }
        for t in 0..<T { maskedSoftmaxRow(p + t * S, count: S, valid: valid, visible: mask.keyRange(query: t, keys: S)) }
        serialSgemm(m: T, n: Dv, k: S, a: p, lda: S, b: v + b * S * s.ldv + g * Dv, ldb: s.ldv,
                    c: out + b * T * s.heads * Dv + h * Dv, ldc: s.heads * Dv)
    }
}

/// Backward of `multiHeadAttention`: overwrites dq, dk, dv (laid out with the shape's strides).
/// `scratch` holds `probabilityCount` floats. Without grouped keys every (batch row, head) item
/// writes its own slices, in parallel; with groups, the heads of a group add into their shared
/// dk/dv in head order, so the work is split by batch row.
public func multiHeadAttentionBackward(
    dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    probabilities: UnsafePointer<Float>, shape: AttentionShape, scale: Float,
    dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
) {
    let s = shape
    let (T, S, D, Dv) = (s.queries, s.keys, s.headDim, s.valueDim)
    let ldo = s.heads * Dv
    let grouped = s.kvHeads != s.heads
    let head = { (b: Int, h: Int) in
        let item = b * s.heads + h, g = s.kvHead(h)
        let p = probabilities + item * T * S, dp = scratch + item * T * S
        let dOh = dOut + b * T * ldo + h * Dv
        let qo = b * T * s.ldq + h * D, ko = b * S * s.ldk + g * D, vo = b * S * s.ldv + g * Dv
        // The first head of a group writes dk/dv, the others add to them.
        let kvBeta: Float = grouped && h % (s.heads / s.kvHeads) != 0 ? 1 : 0
        // dV = Pᵀ·dO
        serialSgemm(transposeA: true, m: S, n: Dv, k: T, a: p, lda: S, b: dOh, ldb: ldo, beta: kvBeta, c: dv + vo, ldc: s.ldv)
        // dP = dO·Vᵀ, then dS = P ⊙ (dP − Σ_j dP⊙P)
        serialSgemm(transposeB: true, m: T, n: S, k: Dv, a: dOh, lda: ldo, b: v + vo, ldb: s.ldv, c: dp, ldc: S)
        softmaxRowsBackward(y: p, dy: dp, dx: dp, rows: T, columns: S)
        // dQ = scale·dS·K ; dK = scale·dSᵀ·Q
        serialSgemm(m: T, n: D, k: S, alpha: scale, a: dp, lda: S, b: k + ko, ldb: s.ldk, c: dq + qo, ldc: s.ldq)
        serialSgemm(transposeA: true, m: S, n: D, k: T, alpha: scale, a: dp, lda: S, b: q + qo, ldb: s.ldq, beta: kvBeta,
                    c: dk + ko, ldc: s.ldk)
    }
    if grouped {
        Parallel.forEach(s.batch) { b in for h in 0..<s.heads { head(b, h) } }
    } else {
        Parallel.forEach(s.batch * s.heads) { item in head(item / s.heads, item % s.heads) }
    }
}
