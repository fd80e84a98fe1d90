/// Element-wise kernels on raw buffers, vectorised with SIMD16 and a scalar tail.
/// Outputs may alias inputs.

public typealias FloatVector = SIMD16<Float>

@inline(__always)
private func load(_ p: UnsafePointer<Float>) -> FloatVector {
    UnsafeRawPointer(p).loadUnaligned(as: FloatVector.self)
}

@inline(__always)
private func store(_ v: FloatVector, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: FloatVector.self)
}

/// out = a + b
public func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count { store(load(a + i) + load(b + i), out + i); i += 16 }
    while i < count { out[i] = a[i] + b[i]; i += 1 }
}

/// out = a * b
public func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count { store(load(a + i) * load(b + i), out + i); i += 16 }
    while i < count { out[i] = a[i] * b[i]; i += 1 }
}

/// out = a * s
public func scale(_ a: UnsafePointer<Float>, by s: Float, into out: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let sv = FloatVector(repeating: s)
    while i + 16 <= count { store(load(a + i) * sv, out + i); i += 16 }
    while i < count { out[i] = a[i] * s; i += 1 }
}

/// y += alpha * x
public func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let av = FloatVector(repeating: alpha)
    while i + 16 <= count { store(load(y + i) + av * load(x + i), y + i); i += 16 }
    while i < count { y[i] += alpha * x[i]; i += 1 }
}

/// Σ a·b, accumulated in 16 float lanes then summed in Double (fixed order, so deterministic).
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc = FloatVector(repeating: 0)
    var i = 0
    while i + 16 <= count { acc += load(a + i) * load(b + i); i += 16 }
    var s = Double(acc.sum())
    while i < count { s += Double(a[i] * b[i]); i += 1 }
    return Float(s)
}

/// Σ x², accumulated in Double for norms over wide rows.
public func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var acc = SIMD8<Double>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let v = SIMD8<Double>(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
        acc += v * v
        i += 8
    }
    var s = acc.sum()
    while i < count { s += Double(x[i]) * Double(x[i]); i += 1 }
    return s
}

public func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var acc = SIMD8<Double>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        acc += SIMD8<Double>(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
        i += 8
    }
    var s = acc.sum()
    while i < count { s += Double(x[i]); i += 1 }
    return s
}

public extension Tensor {
    static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "shape mismatch \(a.shape) vs \(b.shape)")
        var out = a
        out.data.withUnsafeMutableBufferPointer { o in
            b.data.withUnsafeBufferPointer { pb in add(o.baseAddress!, pb.baseAddress!, into: o.baseAddress!, count: a.count) }
        }
        return out
    }

    static func * (a: Tensor, s: Float) -> Tensor {
        var out = a
        out.data.withUnsafeMutableBufferPointer { o in scale(o.baseAddress!, by: s, into: o.baseAddress!, count: a.count) }
        return out
    }
}
