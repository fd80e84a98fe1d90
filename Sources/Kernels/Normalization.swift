/// LayerNorm and RMSNorm over the last axis, forward and backward side by side: 8 lanes at a time,
/// rows in parallel (each row by one worker, so results never depend on the thread count), the
/// weight and bias gradients as column sums in a fixed row order.

/// LayerNorm: y = (x − mean) / sqrt(var + eps) · weight + bias (two-pass mean and variance).
/// Saves each row's mean and 1/std for the backward pass.
public func layerNorm(
    _ x: UnsafePointer<Float>, rows: Int, dim: Int,
    weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float,
    into y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>
) {
    parallelRows(rows, width: dim) { range in
        for r in range {
            layerNormRow(x + r * dim, dim: dim, eps: eps, weight: weight, bias: bias, y: y + r * dim, mean: mean + r, rstd: rstd + r)
        }
    }
}

/// Backward of `layerNorm` (llm.c's layernorm_backward): dx += rstd·(ĝ − mean(ĝ) − n̂·mean(ĝ·n̂)) with
/// ĝ = w·dy, n̂ = (x − mean)·rstd; dweight += Σ n̂ ⊙ dy and dbias += Σ dy over the rows.
public func layerNormBackward(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
    weight: UnsafePointer<Float>?, rows: Int, dim: Int,
    dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?
) {
    parallelRows(rows, width: dim) { range in
        for r in range {
            layerNormBackwardRow(x: x + r * dim, dy: dy + r * dim, dim: dim, weight: weight, mean: mean[r], rstd: rstd[r], dx: dx + r * dim)
        }
    }
    if let dbias { accumulateColumnSums(dy, rows: rows, width: dim, into: dbias) }
    if let dweight {
        accumulateColumns(rows: rows, width: dim, into: dweight) { r, c in
            (loadLanes(x + r * dim + c) - Lanes(repeating: mean[r])) * Lanes(repeating: rstd[r]) * loadLanes(dy + r * dim + c)
        } scalar: { r, c in
            (x[r * dim + c] - mean[r]) * rstd[r] * dy[r * dim + c]
        }
    }
}

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

/// RMSNorm: y = x / sqrt(mean(x²) + eps) · weight, saving 1/rms per row when `rstd` is given. Input
/// row i sits at x + (i / groups)·stride + (i % groups)·dim, so the heads of one token can be read
/// out of a wider fused-projection row (QK-norm); output rows are contiguous. y may be x when the
/// rows are contiguous.
public func rmsNorm(
    _ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>?, eps: Float,
    groups: Int = 1, stride: Int? = nil, into y: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>? = nil
) {
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
            rstd?[r] = s
            if let weight {
                for i in 0..<dim { yr[i] = xr[i] * s * weight[i] }
            } else {
                for i in 0..<dim { yr[i] = xr[i] * s }
            }
        }
    }
}

/// Backward of `rmsNorm` (same strided input layout): dx = s·w·dy − s³/dim · x · Σ w·dy·x (added to dx
/// with `accumulate`), dweight += Σ dy ⊙ x · s over the rows.
public func rmsNormBackward(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
    rows: Int, dim: Int, groups: Int = 1, stride: Int? = nil,
    dx: UnsafeMutablePointer<Float>, accumulate: Bool, dweight: UnsafeMutablePointer<Float>?
) {
    let w = weight
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
    if let dweight {
        accumulateColumns(rows: rows, width: dim, into: dweight) { r, c in
            loadLanes(dy + r * dim + c) * loadLanes(x + (r / groups) * st + (r % groups) * dim + c) * Lanes(repeating: rstd[r])
        } scalar: { r, c in
            dy[r * dim + c] * x[(r / groups) * st + (r % groups) * dim + c] * rstd[r]
        }
    }
}
