import Foundation

/// Rotary position embedding.
///
/// Two layouts exist in the wild for which coordinates form a rotated pair:
/// - `adjacentPairs` (ggml's NORM, used by llama-arch GGUFs, whose Q/K rows were permuted at
///   conversion): pairs (x[2i], x[2i+1]).
/// - `rotateHalf` (ggml's NEOX, Hugging Face's `rotate_half`, Gemma): pairs (x[i], x[i + d/2]).
/// Pair i turns by θ = position · base^(−2i/d).
public struct RotaryEmbedding: Sendable {
    public enum Layout: Sendable { case adjacentPairs, rotateHalf }

    public var base: Float
    public var dimensions: Int
    public var layout: Layout

    public init(base: Float, dimensions: Int, layout: Layout) {
        precondition(dimensions % 2 == 0, "rotary dimensions must be even")
        self.base = base
        self.dimensions = dimensions
        self.layout = layout
    }

    /// cos/sin for each position and pair: [positions.count, dimensions/2] each.
    /// θ is advanced by repeated multiplication with base^(−2/d) in Float, as ggml does.
    public func table(positions: [Int]) -> (cos: [Float], sin: [Float]) {
        let half = dimensions / 2
        var c = [Float](repeating: 0, count: positions.count * half)
        var s = c
        let thetaScale = powf(base, -2 / Float(dimensions))
        for (p, pos) in positions.enumerated() {
            var theta = Float(pos)
            for i in 0..<half {
                c[p * half + i] = cosf(theta)
                s[p * half + i] = sinf(theta)
                theta *= thetaScale
            }
        }
        return (c, s)
    }

    /// Rotates x in place. x is [tokens, heads, headDim]; the first `dimensions` of each head turn.
    /// `inverse` turns the other way, which is the backward pass (a rotation's transpose).
    public func apply(
        _ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int,
        positions: [Int], inverse: Bool = false
    ) {
        precondition(positions.count == tokens, "one position per token")
        apply(x, tokens: tokens, heads: heads, headDim: headDim, table: table(positions: positions), inverse: inverse)
    }

    /// `apply` with a table made once (`table(positions:)`) for every block that shares it.
    public func apply(
        _ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int,
        table: (cos: [Float], sin: [Float]), inverse: Bool = false
    ) {
        precondition(dimensions <= headDim)
        let (cosTable, sinTable) = table
        let half = dimensions / 2
        precondition(cosTable.count == tokens * half, "one table row per token")
        let sign: Float = inverse ? -1 : 1
        for t in 0..<tokens {
            for h in 0..<heads {
                let v = x + (t * heads + h) * headDim
                for i in 0..<half {
                    let c = cosTable[t * half + i], s = sign * sinTable[t * half + i]
                    let (a, b) = layout == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + half)
                    let x0 = v[a], x1 = v[b]
                    v[a] = x0 * c - x1 * s
                    v[b] = x0 * s + x1 * c
                }
            }
        }
    }
}
