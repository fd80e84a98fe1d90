import CKernels
import Foundation

/// SiLU(x) = x·σ(x)
public func silu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    lidit_silu(x, y, count)
}

public func siluBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let s = 1 / (1 + expf(-x[i]))
        dx[i] += dy[i] * s * (1 + x[i] * (1 - s))
    }
}

private let sqrt2OverPi: Float = 0.7978845608028654
private let geluCoefficient: Float = 0.044715

/// GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) — Gemma's and DiT's form.
public func geluTanh(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    lidit_gelu_tanh(x, y, count)
}

public func geluTanhBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        let u = sqrt2OverPi * (v + geluCoefficient * v * v * v)
        let t = tanhf(u)
        let du = sqrt2OverPi * (1 + 3 * geluCoefficient * v * v)
        dx[i] += dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du)
    }
}

/// GELU, exact: 0.5·x·(1 + erf(x/√2)).
public func geluErf(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { let v = x[i]; y[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
}

public func geluErfBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        let cdf = 0.5 * (1 + erff(v * 0.70710678118654752))
        let pdf = expf(-0.5 * v * v) * 0.3989422804014327
        dx[i] += dy[i] * (cdf + v * pdf)
    }
}
