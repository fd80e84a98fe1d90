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
public struct AttentionShape: Sendable {
    public var batch, queries, keys, heads, kvHeads, headDim, valueDim: Int

    public init(batch: Int = 1, queries: Int, keys: Int, heads: Int, kvHeads: Int, headDim: Int, valueDim: Int? = nil) {
        precondition(heads % kvHeads == 0, "heads must be a multiple of kvHeads")
        self.batch = batch; self.queries = queries; self.keys = keys
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim; self.valueDim = valueDim ?? headDim
    }

    /// Floats needed for the attention probabilities of the whole call.
    public var probabilityCount: Int { batch * heads * queries * keys }
    @inline(__always) func kvHead(_ h: Int) -> Int { h / (heads / kvHeads) }
}

/// softmax(q·kᵀ·scale + mask)·v, per batch row and head, built on GEMMs; batch rows and heads run in
/// parallel, each with single-threaded BLAS calls.
/// `probabilities` ([batch, heads, queries, keys]) receives the softmax output, which the
/// backward pass needs; it doubles as the score buffer.
public func multiHeadAttention(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, shape: AttentionShape, scale: Float, mask: AttentionMask,
    probabilities: UnsafeMutablePointer<Float>
) {
    let s = shape
    let (T, S, D, Dv) = (s.queries, s.keys, s.headDim, s.valueDim)
    let work = { (item: Int) in
        let b = item / s.heads, h = item % s.heads, g = s.kvHead(h)
        let qh = q + b * T * s.heads * D + h * D
        let kh = k + b * S * s.kvHeads * D + g * D
        let vh = v + b * S * s.kvHeads * Dv + g * Dv
        let p = probabilities + item * T * S
        serialSgemm(transposeB: true, m: T, n: S, k: D, alpha: scale,
              a: qh, lda: s.heads * D, b: kh, ldb: s.kvHeads * D, c: p, ldc: S)
        for t in 0..<T {
            let row = p + t * S
            let visible = mask.keyRange(query: t, keys: S)
            for j in 0..<visible.lowerBound { row[j] = -.infinity }
            for j in visible.upperBound..<S { row[j] = -.infinity }
            if let valid = mask.keyValid {
                let v = valid + b * S
                for j in visible where v[j] == 0 { row[j] = -.infinity }
            }
            softmaxRow(row, count: S)
        }
        serialSgemm(m: T, n: Dv, k: S, a: p, lda: S, b: vh, ldb: s.kvHeads * Dv,
              c: out + b * T * s.heads * Dv + h * Dv, ldc: s.heads * Dv)
    }
    Parallel.forEach(s.batch * s.heads, work)
}

/// Backward of `multiHeadAttention`. Accumulates into dq, dk, dv (dk/dv summed over the query
/// heads of each group). `scratch` needs queries·keys floats per worker: pass
/// batch·queries·keys floats.
public func multiHeadAttentionBackward(
    dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    probabilities: UnsafePointer<Float>, shape: AttentionShape, scale: Float,
    dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
) {
    let s = shape
    let (T, S, D, Dv) = (s.queries, s.keys, s.headDim, s.valueDim)
    // Heads of one batch row share dk/dv, so work is split by batch row only.
    let work = { (b: Int) in
        let dp = scratch + b * T * S
        for h in 0..<s.heads {
            let g = s.kvHead(h)
            let p = probabilities + (b * s.heads + h) * T * S
            let dOh = dOut + b * T * s.heads * Dv + h * Dv
            let qh = q + b * T * s.heads * D + h * D
            let kh = k + b * S * s.kvHeads * D + g * D
            let vh = v + b * S * s.kvHeads * Dv + g * Dv
            // dV += Pᵀ·dO
            serialSgemm(transposeA: true, m: S, n: Dv, k: T, a: p, lda: S, b: dOh, ldb: s.heads * Dv,
                  beta: 1, c: dv + b * S * s.kvHeads * Dv + g * Dv, ldc: s.kvHeads * Dv)
            // dP = dO·Vᵀ, then through the softmax
            serialSgemm(transposeB: true, m: T, n: S, k: Dv, a: dOh, lda: s.heads * Dv, b: vh, ldb: s.kvHeads * Dv,
                  c: dp, ldc: S)
            softmaxRowsBackward(y: p, dy: dp, dx: dp, rows: T, columns: S)
            // dQ += scale·dS·K ; dK += scale·dSᵀ·Q
            serialSgemm(m: T, n: D, k: S, alpha: scale, a: dp, lda: S, b: kh, ldb: s.kvHeads * D,
                  beta: 1, c: dq + b * T * s.heads * D + h * D, ldc: s.heads * D)
            serialSgemm(transposeA: true, m: S, n: D, k: T, alpha: scale, a: dp, lda: S, b: qh, ldb: s.heads * D,
                  beta: 1, c: dk + b * S * s.kvHeads * D + g * D, ldc: s.kvHeads * D)
        }
    }
    Parallel.forEach(s.batch, work)
}
