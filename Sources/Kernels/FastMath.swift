/// Vectorised exp for softmax and activations: Cephes' expf scheme (range reduction by ln 2 in
/// two parts, a degree-6 polynomial, then scaling by 2ⁿ through the exponent bits).
/// Relative error below 2e-7 over the whole float range; exp(x) = 0 for x < −87.3, and +inf
/// above 88.7. Deterministic: pure arithmetic, no table.
@inline(__always)
public func vexp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let hi = SIMD16<Float>(repeating: 88.72283)
    let lo = SIMD16<Float>(repeating: -87.33654)
    var v = x.replacing(with: hi, where: x .> hi)
    v = v.replacing(with: lo, where: v .< lo)
    // n = round(v / ln2)
    let n = (v * 1.442695040888963 + 0.5).rounded(.down)
    var r = v - n * 0.693359375
    r = r - n * (-2.12194440e-4)
    let r2 = r * r
    var p = SIMD16<Float>(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * r2 + r + 1
    // 2ⁿ in two halves so n = ±127 near the range ends cannot overflow the exponent field.
    let ni = SIMD16<Int32>(n)
    let half = ni &>> 1
    let s1 = unsafeBitCast((half &+ 127) &<< 23, to: SIMD16<Float>.self)
    let s2 = unsafeBitCast((ni &- half &+ 127) &<< 23, to: SIMD16<Float>.self)
    var result = p * s1 * s2
    result = result.replacing(with: 0, where: x .< lo)
    result = result.replacing(with: Float.infinity, where: x .> hi)
    return result
}

/// exp over a buffer, SIMD16 with a padded tail so every element takes the same path.
public func vexp(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: vexp(v), as: SIMD16<Float>.self)
        i += 16
    }
    if i < count {
        var tail = SIMD16<Float>(repeating: 0)
        for j in 0..<(count - i) { tail[j] = x[i + j] }
        let e = vexp(tail)
        for j in 0..<(count - i) { y[i + j] = e[j] }
    }
}
