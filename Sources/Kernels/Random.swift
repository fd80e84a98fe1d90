import Foundation

/// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy
/// as 1, 2, 3", SC 2011), the generator behind cuRAND's and JAX's counter streams.
///
/// Element i of a draw is a pure function of (seed, counter + i/4, lane i%4), so a stream is the
/// same on every run and for every thread count: parallel fills just split the index range.
/// - uniform: the top 24 bits of a 32-bit word, times 2⁻²⁴, in [0, 1).
/// - normal: Box–Muller on the uniforms (u1, u2) of lanes (0, 1) and (2, 3) of a block:
///   z0 = r·cos(2πu2), z1 = r·sin(2πu2), r = sqrt(−2 ln(1 − u1)), in Double, rounded to Float.
public struct RandomGenerator: Sendable, Equatable {
    public let seed: UInt64
    /// Next unused 128-bit block.
    public private(set) var counter: UInt64

    public init(seed: UInt64, counter: UInt64 = 0) {
        self.seed = seed
        self.counter = counter
    }

    @inline(__always)
    static func block(seed: UInt64, counter: UInt64) -> SIMD4<UInt32> {
        philox(counter: SIMD4(UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32), 0, 0),
               key: SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// The Philox4x32 bijection with 10 rounds.
    @inline(__always)
    static func philox(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter
        var k0 = key[0], k1 = key[1]
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c[0])
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c[2])
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c[1] ^ k0, UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c[3] ^ k1, UInt32(truncatingIfNeeded: p0))
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return c
    }

    @inline(__always)
    static func unit(_ w: UInt32) -> Float { Float(w >> 8) * (1.0 / 16_777_216.0) }

    @inline(__always)
    static func normals(_ w: SIMD4<UInt32>) -> SIMD4<Float> {
        var out = SIMD4<Float>()
        for pair in 0..<2 {
            let u1 = Double(w[2 * pair] >> 8) * (1.0 / 16_777_216.0)
            let u2 = Double(w[2 * pair + 1] >> 8) * (1.0 / 16_777_216.0)
            let r = (-2 * Foundation.log(1 - u1)).squareRoot()
            out[2 * pair] = Float(r * Foundation.cos(2 * Double.pi * u2))
            out[2 * pair + 1] = Float(r * Foundation.sin(2 * Double.pi * u2))
        }
        return out
    }

    /// Fills with uniforms in [0, 1); advances the counter by ceil(count/4) blocks.
    public mutating func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>) {
        fill(buffer) { w in SIMD4(Self.unit(w[0]), Self.unit(w[1]), Self.unit(w[2]), Self.unit(w[3])) }
    }

    /// Fills with standard normals; advances the counter by ceil(count/4) blocks.
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>) {
        fill(buffer, Self.normals)
    }

    private mutating func fill(_ buffer: UnsafeMutableBufferPointer<Float>, _ transform: (SIMD4<UInt32>) -> SIMD4<Float>) {
        let n = buffer.count
        guard n > 0, let base = buffer.baseAddress else { return }
        let blocks = (n + 3) / 4
        let (seed, start) = (self.seed, counter)
        Parallel.forEachChunk(blocks, minChunk: 4096) { range in
            for blk in range {
                let v = transform(Self.block(seed: seed, counter: start &+ UInt64(blk)))
                for lane in 0..<4 where blk * 4 + lane < n { base[blk * 4 + lane] = v[lane] }
            }
        }
        counter &+= UInt64(blocks)
    }

    public mutating func uniform() -> Float {
        defer { counter &+= 1 }
        return Self.unit(Self.block(seed: seed, counter: counter)[0])
    }

    public mutating func normal() -> Float {
        defer { counter &+= 1 }
        return Self.normals(Self.block(seed: seed, counter: counter))[0]
    }

    /// Uniform integer in 0..<bound (bound > 0), from 64 bits with multiply-shift.
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0)
        defer { counter &+= 1 }
        let w = Self.block(seed: seed, counter: counter)
        let x = UInt64(w[0]) | (UInt64(w[1]) << 32)
        return Int(x.multipliedFullWidth(by: UInt64(bound)).high)
    }

    public func normals(count: Int) -> [Float] {
        var copy = self
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { copy.fillNormal($0) }
        return out
    }
}
