import CKernels

/// The element-wise nonlinearities of the LLMs and the networks, forward and backward side by
/// side, all built on the one exp (`CKernels`' Cephes expf). Serial: callers split large buffers
/// into chunks (element-wise, so the chunking never changes a result).
public enum Activation: String, Codable, Sendable {
    /// x·σ(x) (SmolLM2's MLP, HunyuanVideo's token refiner MLP).
    case silu
    /// 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(2u) (Gemma's and DiT's MLP, `approximate="tanh"`).
    case geluTanh
    case identity

    /// y = act(x); y may be x.
    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .silu: lidit_silu(x, y, count)
        case .geluTanh: lidit_gelu_tanh(x, y, count)
        case .identity: if UnsafePointer(y) != x { y.update(from: x, count: count) }
        }
    }

    /// dx = act'(x)·dy, or dx += act'(x)·dy with `accumulate`; without it dx may be dy.
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                         count: Int, accumulate: Bool) {
        switch self {
        case .silu: lidit_silu_backward(x, dy, dx, count, accumulate ? 1 : 0)
        case .geluTanh: lidit_gelu_tanh_backward(x, dy, dx, count, accumulate ? 1 : 0)
        case .identity:
            if accumulate { for i in 0..<count { dx[i] += dy[i] } } else if UnsafePointer(dx) != dy { dx.update(from: dy, count: count) }
        }
    }
}

/// SiLU(x) = x·σ(x)
public func silu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    Activation.silu.forward(x, into: y, count: count)
}

/// GELU, tanh approximation.
public func geluTanh(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    Activation.geluTanh.forward(x, into: y, count: count)
}

/// `kind.forward` over a large buffer, in parallel chunks.
public func activationForward(_ kind: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    Parallel.forEachChunk(count, minChunk: 16_384) { r in kind.forward(x + r.lowerBound, into: y + r.lowerBound, count: r.count) }
}

/// `kind.backward` over a large buffer, in parallel chunks.
public func activationBackward(_ kind: Activation, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                               count: Int, accumulate: Bool) {
    Parallel.forEachChunk(count, minChunk: 16_384) { r in
        kind.backward(x: x + r.lowerBound, dy: dy + r.lowerBound, dx: dx + r.lowerBound, count: r.count, accumulate: accumulate)
    }
}
