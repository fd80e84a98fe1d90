import Foundation
import Kernels

// adaLN pieces. Conditioning vectors are per batch row ([batch, stride] buffers; a chunk of the
// output of one modulation Linear is addressed by a pointer into it plus the row stride), and
// broadcast over the tokens of that row. Work is split by batch row, so the per-row sums of the
// backward passes have one fixed order.

/// y[b,t,:] = x[b,t,:] ⊙ (1 + scale[b,:]) + shift[b,:]
public func modulateForward(_ x: UnsafePointer<Float>, shift: UnsafePointer<Float>, scale: UnsafePointer<Float>,
                            conditionStride: Int, batch: Int, tokens: Int, dim: Int, into y: UnsafeMutablePointer<Float>) {
    Parallel.forEach(batch) { b in
        let sh = shift + b * conditionStride, sc = scale + b * conditionStride
        for t in 0..<tokens {
            let o = (b * tokens + t) * dim
            var i = 0
            while i + 8 <= dim {
                storeLanes(loadLanes(x + o + i) * (1 + loadLanes(sc + i)) + loadLanes(sh + i), y + o + i)
                i += 8
            }
            while i < dim { y[o + i] = x[o + i] * (1 + sc[i]) + sh[i]; i += 1 }
        }
    }
}

/// Backward of `modulateForward`: dx (+)= dy ⊙ (1 + scale); dShift[b] += Σ_t dy; dScale[b] += Σ_t dy ⊙ x.
/// dShift/dScale use the same row stride as shift/scale.
public func modulateBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, scale: UnsafePointer<Float>,
                             conditionStride: Int, batch: Int, tokens: Int, dim: Int,
                             dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                             dShift: UnsafeMutablePointer<Float>, dScale: UnsafeMutablePointer<Float>) {
    Parallel.forEach(batch) { b in
        let sc = scale + b * conditionStride
        let dsh = dShift + b * conditionStride, dsc = dScale + b * conditionStride
        for t in 0..<tokens {
            let o = (b * tokens + t) * dim
            for i in 0..<dim {
                let g = dy[o + i]
                dsh[i] += g
                dsc[i] += g * x[o + i]
                let v = g * (1 + sc[i])
                dx[o + i] = accumulate ? dx[o + i] + v : v
            }
        }
    }
}

/// out[b,t,:] = h[b,t,:] + gate[b,:] ⊙ f[b,t,:]   (out may alias h).
public func gatedResidualForward(_ h: UnsafePointer<Float>, _ f: UnsafePointer<Float>, gate: UnsafePointer<Float>,
                                 conditionStride: Int, batch: Int, tokens: Int, dim: Int,
                                 into out: UnsafeMutablePointer<Float>) {
    Parallel.forEach(batch) { b in
        let g = gate + b * conditionStride
        for t in 0..<tokens {
            let o = (b * tokens + t) * dim
            var i = 0
            while i + 8 <= dim {
                storeLanes(loadLanes(h + o + i) + loadLanes(g + i) * loadLanes(f + o + i), out + o + i)
                i += 8
            }
            while i < dim { out[o + i] = h[o + i] + g[i] * f[o + i]; i += 1 }
        }
    }
}

/// Backward of `gatedResidualForward` for the branch: dF = gate ⊙ dOut (overwritten);
/// dGate[b] += Σ_t dOut ⊙ f. (The residual path's gradient is dOut itself: callers keep one
/// residual-gradient buffer and add each branch's input gradient into it.)
public func gatedResidualBackward(dOut: UnsafePointer<Float>, f: UnsafePointer<Float>, gate: UnsafePointer<Float>,
                                  conditionStride: Int, batch: Int, tokens: Int, dim: Int,
                                  dF: UnsafeMutablePointer<Float>, dGate: UnsafeMutablePointer<Float>) {
    Parallel.forEach(batch) { b in
        let g = gate + b * conditionStride, dg = dGate + b * conditionStride
        for t in 0..<tokens {
            let o = (b * tokens + t) * dim
            for i in 0..<dim {
                let d = dOut[o + i]
                dg[i] += d * f[o + i]
                dF[o + i] = g[i] * d
            }
        }
    }
}

/// out[b,:] = Σ_t m[b,t]·x[b,t,:] / Σ_t m[b,t]; a row with no valid token pools to zero.
/// mask nil = all tokens valid.
public func maskedMeanForward(_ x: UnsafePointer<Float>, mask: UnsafePointer<UInt8>?, batch: Int, tokens: Int, dim: Int,
                              into out: UnsafeMutablePointer<Float>) {
    Parallel.forEach(batch) { b in
        let o = out + b * dim
        o.update(repeating: 0, count: dim)
        var n = 0
        for t in 0..<tokens where mask == nil || mask![b * tokens + t] != 0 {
            add(o, x + (b * tokens + t) * dim, into: o, count: dim)
            n += 1
        }
        if n > 0 { scale(o, by: 1 / Float(n), into: o, count: dim) }
    }
}

/// dx[b,t,:] += m[b,t]·dOut[b,:] / Σ_t m[b,t]
public func maskedMeanBackward(dOut: UnsafePointer<Float>, mask: UnsafePointer<UInt8>?, batch: Int, tokens: Int, dim: Int,
                               dx: UnsafeMutablePointer<Float>) {
    Parallel.forEach(batch) { b in
        var n = 0
        for t in 0..<tokens where mask == nil || mask![b * tokens + t] != 0 { n += 1 }
        guard n > 0 else { return }
        let s = 1 / Float(n)
        for t in 0..<tokens where mask == nil || mask![b * tokens + t] != 0 {
            axpy(s, dOut + b * dim, dx + (b * tokens + t) * dim, count: dim)
        }
    }
}

/// Sinusoidal timestep features as in DiT / HunyuanVideo `timestep_embedding`:
/// [cos(t·f_0..f_{h−1}), sin(t·f_0..f_{h−1})], f_i = exp(−ln(maxPeriod)·i/h), h = dim/2,
/// computed in Double. `t` is the model timestep (σ·1000 in this project).
public func timestepSinusoid(_ t: UnsafePointer<Float>, batch: Int, dim: Int, maxPeriod: Double = 10_000,
                             into out: UnsafeMutablePointer<Float>) {
    precondition(dim % 2 == 0, "sinusoid dimension must be even")
    let half = dim / 2
    for b in 0..<batch {
        for i in 0..<half {
            let f = Foundation.exp(-Foundation.log(maxPeriod) * Double(i) / Double(half))
            let a = Double(t[b]) * f
            out[b * dim + i] = Float(Foundation.cos(a))
            out[b * dim + half + i] = Float(Foundation.sin(a))
        }
    }
}
