import Kernels

/// Vector width of the hand-written element-wise loops.
public typealias Lanes = SIMD8<Float>

@inline(__always) func loadLanes(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
@inline(__always) func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) }

/// exp on 8 lanes: Cephes expf's range reduction and polynomial (max relative error ≈ 1e-7 on
/// [−87, 88]; inputs are clamped to that range). A pure function of its input, so results do not
/// depend on threading. About 4× faster than calling `expf` per element.
@inline(__always)
public func fastExp(_ x: Lanes) -> Lanes {
    var c = x.replacing(with: 88, where: x .> 88)
    c.replace(with: -87, where: c .< -87)
    let m = c * 1.44269504088896341 + 12582912.0   // round(x·log2 e) via the 1.5·2²³ trick
    let n = m - 12582912.0
    let r = c - n * 0.693359375 + n * 2.12194440e-4
    var p = Lanes(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    let bits = (unsafeBitCast(m, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: Lanes.self)
}

@inline(__always)
public func fastExp(_ x: Float) -> Float { fastExp(Lanes(repeating: x))[0] }

/// σ(z) = 1 / (1 + e^(−z))
@inline(__always) func sigmoidLanes(_ z: Lanes) -> Lanes { 1 / (1 + fastExp(-z)) }

/// Splits `rows` rows of `width` floats over the workers in chunks of at least ~16k floats.
/// Each row is handled by exactly one worker, so results never depend on the thread count.
@inline(__always)
public func parallelRows(_ rows: Int, width: Int, _ body: (Range<Int>) -> Void) {
    let minChunk = max(1, 16_384 / max(width, 1))
    Parallel.forEachChunk(rows, minChunk: minChunk, body)
}

/// The element-wise nonlinearities of the networks.
public enum Activation: String, Codable, Sendable {
    /// x·σ(x) (HunyuanVideo's token refiner MLP).
    case silu
    /// 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(2u) (DiT's MLP, `approximate="tanh"`).
    case geluTanh
    case identity
}

private let geluA: Float = 0.7978845608028654   // √(2/π)
private let geluB: Float = 0.044715

/// y = act(x), element-wise over `count` floats (parallel).
public func activationForward(_ kind: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    if kind == .identity { if UnsafePointer(y) != x { y.update(from: x, count: count) }; return }
    Parallel.forEachChunk((count + 7) / 8, minChunk: 2048) { range in
        for blk in range {
            let i = blk * 8
            if i + 8 <= count {
                let v = loadLanes(x + i)
                storeLanes(activationLanes(kind, v), y + i)
            } else {
                var v = Lanes(repeating: 0)
                for j in i..<count { v[j - i] = x[j] }
                let o = activationLanes(kind, v)
                for j in i..<count { y[j] = o[j - i] }
            }
        }
    }
}

@inline(__always)
func activationLanes(_ kind: Activation, _ v: Lanes) -> Lanes {
    switch kind {
    case .silu: return v * sigmoidLanes(v)
    case .geluTanh:
        let u = geluA * (v + geluB * v * v * v)
        return v * sigmoidLanes(2 * u)
    case .identity: return v
    }
}

/// dx (+)= act'(x)·dy, element-wise (parallel). With `accumulate` false, dx is overwritten;
/// dx may then alias dy.
public func activationBackward(
    _ kind: Activation, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
    count: Int, accumulate: Bool
) {
    Parallel.forEachChunk((count + 7) / 8, minChunk: 2048) { range in
        for blk in range {
            let i = blk * 8
            let full = i + 8 <= count
            var v = Lanes(repeating: 0), g = Lanes(repeating: 0), acc = Lanes(repeating: 0)
            if full {
                v = loadLanes(x + i); g = loadLanes(dy + i)
                if accumulate { acc = loadLanes(dx + i) }
            } else {
                for j in i..<count { v[j - i] = x[j]; g[j - i] = dy[j]; if accumulate { acc[j - i] = dx[j] } }
            }
            let d: Lanes
            switch kind {
            case .silu:
                let s = sigmoidLanes(v)
                d = s * (1 + v * (1 - s))
            case .geluTanh:
                let v2 = v * v
                let u = geluA * (v + geluB * v2 * v)
                let s = sigmoidLanes(2 * u)
                let du = geluA * (1 + 3 * geluB * v2)
                d = s + v * s * (1 - s) * 2 * du
            case .identity:
                d = Lanes(repeating: 1)
            }
            let o = acc + d * g
            if full { storeLanes(o, dx + i) } else { for j in i..<count { dx[j] = o[j - i] } }
        }
    }
}
