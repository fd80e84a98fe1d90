import Foundation

/// RMSNorm over the last axis: y = x / sqrt(mean(x²) + eps) · weight.
/// The mean is accumulated in Double, as ggml does, so wide rows of large activations stay exact.
public func rmsNorm(
    _ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>?, eps: Float,
    into y: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows {
        let xr = x + r * dim, yr = y + r * dim
        let mean = Float(sumOfSquares(xr, count: dim) / Double(dim))
        let s = 1 / sqrtf(mean + eps)
        if let weight {
            for i in 0..<dim { yr[i] = xr[i] * s * weight[i] }
        } else {
            scale(xr, by: s, into: yr, count: dim)
        }
    }
}

/// LayerNorm over the last axis: y = (x − mean) / sqrt(var + eps) · weight + bias.
/// Saves per-row mean and reciprocal std (for the backward pass) when buffers are given.
public func layerNorm(
    _ x: UnsafePointer<Float>, rows: Int, dim: Int,
    weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float,
    into y: UnsafeMutablePointer<Float>,
    savingMean meanOut: UnsafeMutablePointer<Float>? = nil, reciprocalStd rstdOut: UnsafeMutablePointer<Float>? = nil
) {
    for r in 0..<rows {
        let xr = x + r * dim, yr = y + r * dim
        let mean = sum(xr, count: dim) / Double(dim)
        var variance = 0.0
        for i in 0..<dim { let d = Double(xr[i]) - mean; variance += d * d }
        variance /= Double(dim)
        let rstd = Float(1 / (variance + Double(eps)).squareRoot())
        let m = Float(mean)
        for i in 0..<dim {
            var v = (xr[i] - m) * rstd
            if let weight { v *= weight[i] }
            if let bias { v += bias[i] }
            yr[i] = v
        }
        meanOut?[r] = m
        rstdOut?[r] = rstd
    }
}

/// Backward of LayerNorm (llm.c's layernorm_backward). Accumulates into dx, dweight, dbias.
public func layerNormBackward(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
    weight: UnsafePointer<Float>?, rows: Int, dim: Int,
    dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?
) {
    for r in 0..<rows {
        let dyr = dy + r * dim, xr = x + r * dim, dxr = dx + r * dim
        let m = mean[r], s = rstd[r]
        var dnormMean: Float = 0, dnormNormMean: Float = 0
        for i in 0..<dim {
            let norm = (xr[i] - m) * s
            let dnorm = (weight?[i] ?? 1) * dyr[i]
            dnormMean += dnorm
            dnormNormMean += dnorm * norm
        }
        dnormMean /= Float(dim)
        dnormNormMean /= Float(dim)
        for i in 0..<dim {
            let norm = (xr[i] - m) * s
            let dnorm = (weight?[i] ?? 1) * dyr[i]
            dbias?[i] += dyr[i]
            dweight?[i] += norm * dyr[i]
            dxr[i] += (dnorm - dnormMean - norm * dnormNormMean) * s
        }
    }
}

/// Backward of RMSNorm. Accumulates into dx and dweight.
public func rmsNormBackward(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, eps: Float,
    rows: Int, dim: Int, dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?
) {
    for r in 0..<rows {
        let dyr = dy + r * dim, xr = x + r * dim, dxr = dx + r * dim
        let mean = Float(sumOfSquares(xr, count: dim) / Double(dim))
        let s = 1 / sqrtf(mean + eps)
        // g_i = dy_i·w_i; dx_i = s·g_i − s³/dim · x_i · Σ g_j x_j
        var gx: Float = 0
        for i in 0..<dim { gx += dyr[i] * (weight?[i] ?? 1) * xr[i] }
        let c = s * s * s * gx / Float(dim)
        for i in 0..<dim {
            dweight?[i] += dyr[i] * xr[i] * s
            dxr[i] += s * dyr[i] * (weight?[i] ?? 1) - c * xr[i]
        }
    }
}
