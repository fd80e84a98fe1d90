import Kernels

/// softmax(q·kᵀ·scale + mask)·v per (batch row, head), like the kernels' `multiHeadAttention`, but
/// with the softmax vectorised (8 lanes, `fastExp`), the mask applied per key row instead of per element,
/// and — since every head has its own keys and values here (no grouped-query sharing) — the backward
/// pass parallel over (batch, head) with each item writing its own slices of dq/dk/dv (no zeroing, no
/// reduction across workers).
///
/// Layouts: q [B, T, H, D], k/v [B, S, H, D], out [B, T, H, D]; probabilities [B, H, T, S].
/// keyValid [B, S] (nonzero = attend). A query row with no allowed key gets all-zero probabilities
/// (and output zero), as in the kernels.
public struct AttentionCore: Sendable {
    public var batch, queries, keys, heads, headDim: Int
    public var causal: Bool
    /// Row strides of q, k, v (and of dq, dk, dv in the backward pass); heads·headDim unless the
    /// operands sit inside wider fused-projection rows. out is always [B, T, H·D].
    public var ldq, ldk, ldv: Int

    public init(batch: Int, queries: Int, keys: Int, heads: Int, headDim: Int, causal: Bool = false) {
        self.batch = batch; self.queries = queries; self.keys = keys; self.heads = heads; self.headDim = headDim
        self.causal = causal
        ldq = heads * headDim; ldk = heads * headDim; ldv = heads * headDim
    }

    public var scale: Float { 1 / Float(headDim).squareRoot() }
    /// Floats of scratch the backward pass needs.
    public var scratchCount: Int { batch * heads * queries * keys }

    public func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, keyValid: UnsafePointer<UInt8>?,
                        out: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>) {
        let (T, S, H, D) = (queries, keys, heads, headDim)
        let ld = H * D
        let (ldq, ldk, ldv) = (self.ldq, self.ldk, self.ldv)
        let scale = self.scale, causal = self.causal
        Parallel.forEach(batch * H) { item in
            let b = item / H, h = item % H
            let p = probabilities + item * T * S
            serialSgemm(transposeB: true, m: T, n: S, k: D, alpha: scale, a: q + b * T * ldq + h * D, lda: ldq,
                        b: k + b * S * ldk + h * D, ldb: ldk, c: p, ldc: S)
            let valid = keyValid.map { $0 + b * S }
            for t in 0..<T {
                maskedSoftmaxRow(p + t * S, count: S, valid: valid, limit: causal ? t + 1 : S)
            }
            serialSgemm(m: T, n: D, k: S, a: p, lda: S, b: v + b * S * ldv + h * D, ldb: ldv,
                        c: out + b * T * ld + h * D, ldc: ld)
        }
    }

    /// Overwrites dq, dk, dv with the gradients for ∂L/∂out = dOut. `scratch` holds `scratchCount` floats.
    public func backward(dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         probabilities: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                         dv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let (T, S, H, D) = (queries, keys, heads, headDim)
        let ld = H * D
        let (ldq, ldk, ldv) = (self.ldq, self.ldk, self.ldv)
        let scale = self.scale
        Parallel.forEach(batch * H) { item in
            let b = item / H, h = item % H
            let p = probabilities + item * T * S, dp = scratch + item * T * S
            let oo = b * T * ld + h * D
            let qo = b * T * ldq + h * D, ko = b * S * ldk + h * D, vo = b * S * ldv + h * D
            // dV = Pᵀ·dO
            serialSgemm(transposeA: true, m: S, n: D, k: T, a: p, lda: S, b: dOut + oo, ldb: ld, c: dv + vo, ldc: ldv)
            // dP = dO·Vᵀ, then dS = P ⊙ (dP − Σ_j dP⊙P)
            serialSgemm(transposeB: true, m: T, n: S, k: D, a: dOut + oo, lda: ld, b: v + vo, ldb: ldv, c: dp, ldc: S)
            for t in 0..<T { softmaxBackwardRow(p: p + t * S, dp: dp + t * S, count: S) }
            // dQ = scale·dS·K ; dK = scale·dSᵀ·Q
            serialSgemm(m: T, n: D, k: S, alpha: scale, a: dp, lda: S, b: k + ko, ldb: ldk, c: dq + qo, ldc: ldq)
            serialSgemm(transposeA: true, m: S, n: D, k: T, alpha: scale, a: dp, lda: S, b: q + qo, ldb: ldq, c: dk + ko, ldc: ldk)
        }
    }

    public var flops: Int { 4 * batch * heads * queries * keys * headDim }
}

/// In place: row ← softmax(row) over keys j < limit with valid[j] ≠ 0; every other entry 0.
@inline(__always)
func maskedSoftmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, valid: UnsafePointer<UInt8>?, limit: Int) {
    let ninf = -Float.infinity
    for j in limit..<count { row[j] = ninf }
    if let valid { for j in 0..<limit where valid[j] == 0 { row[j] = ninf } }
    var j = 0
    var mv = Lanes(repeating: ninf)
    while j + 8 <= count { mv = pointwiseMaxLanes(mv, loadLanes(row + j)); j += 8 }
    var m = mv.max()
    while j < count { m = Swift.max(m, row[j]); j += 1 }
    if m == ninf {
        row.update(repeating: 0, count: count)
        return
    }
    let mvec = Lanes(repeating: m)
    var sv = Lanes(repeating: 0)
    j = 0
    while j + 8 <= count {
        let x = loadLanes(row + j)
        var e = fastExp(x - mvec)
        e.replace(with: 0, where: x .== ninf)
        storeLanes(e, row + j)
        sv += e
        j += 8
    }
    var s = sv.sum()
    while j < count {
        let x = row[j]
        let e = x == ninf ? 0 : fastExp(x - m)
        row[j] = e
        s += e
        j += 1
    }
    let inv = Lanes(repeating: 1 / s)
    j = 0
    while j + 8 <= count { storeLanes(loadLanes(row + j) * inv, row + j); j += 8 }
    while j < count { row[j] *= inv[0]; j += 1 }
}

/// In place on dp: dp ← p ⊙ (dp − Σ_j dp_j·p_j).
@inline(__always)
func softmaxBackwardRow(p: UnsafePointer<Float>, dp: UnsafeMutablePointer<Float>, count: Int) {
    var acc = Lanes(repeating: 0)
    var j = 0
    while j + 8 <= count { acc += loadLanes(p + j) * loadLanes(dp + j); j += 8 }
    var s = acc.sum()
    while j < count { s += p[j] * dp[j]; j += 1 }
    let sv = Lanes(repeating: s)
    j = 0
    while j + 8 <= count { storeLanes(loadLanes(p + j) * (loadLanes(dp + j) - sv), dp + j); j += 8 }
    while j < count { dp[j] = p[j] * (dp[j] - s); j += 1 }
}

@inline(__always)
func pointwiseMaxLanes(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .> a) }
