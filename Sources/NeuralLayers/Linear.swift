import Foundation
import Kernels

/// y = x·Wᵀ + b on rows (batch and tokens folded into `rows`); W is [out, in] (PyTorch layout).
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: ParameterRef
    public let bias: ParameterRef?

    /// Declares `name.weight` [out, in] and (optionally) `name.bias` [out].
    /// Default weight init: Xavier uniform (DiT's `_basic_init`); bias zero.
    public init(_ store: ParameterStore, _ name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                weightInit: Initializer? = nil, biasInit: Initializer = .zeros) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = store.declare(name + ".weight", shape: [outFeatures, inFeatures],
                               initializer: weightInit ?? .xavierUniform(fanIn: inFeatures, fanOut: outFeatures))
        self.bias = bias ? store.declare(name + ".bias", shape: [outFeatures], initializer: biasInit) : nil
    }

    /// y = x·Wᵀ + b; `y` is [rows, out], x is [rows, in]. With `accumulate`, y += x·Wᵀ + b.
    /// The bias is written (or added) first and the product accumulated onto it, which saves BLAS's
    /// separate pass that clears C for beta = 0.
    public func forward(_ p: ParameterStore, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                        accumulate: Bool = false) {
        guard rows > 0 else { return }
        var beta: Float = accumulate ? 1 : 0
        if let bias {
            if accumulate { addRowVector(p.value(bias), to: y, rows: rows, width: outFeatures) }
            else { fillRows(y, with: p.value(bias), rows: rows, width: outFeatures) }
            beta = 1
        }
        sgemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x, lda: inFeatures, b: p.value(weight), ldb: inFeatures,
                  beta: beta, c: y, ldc: outFeatures)
    }

    /// Accumulates dW += dyᵀ·x, db += Σ_rows dy and (when `dx` is given) dx += dy·W
    /// (dx = dy·W with `overwriteDx`).
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int,
                         dx: UnsafeMutablePointer<Float>?, overwriteDx: Bool = false) {
        guard rows > 0 else { return }
        if let dx {
            sgemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures,
                      b: p.value(weight), ldb: inFeatures, beta: overwriteDx ? 0 : 1, c: dx, ldc: inFeatures)
        }
        sgemmAccumulateTransposedA(a: dy, b: x, rows: rows, m: outFeatures, n: inFeatures, into: p.gradient(weight))
        if let bias { accumulateColumnSums(dy, rows: rows, width: outFeatures, into: p.gradient(bias)) }
    }

    public var flopsPerRow: Int { 2 * inFeatures * outFeatures }
}

/// y[r, :] += v for every row (parallel over rows).
public func addRowVector(_ v: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    parallelRows(rows, width: width) { range in
        for r in range { add(y + r * width, v, into: y + r * width, count: width) }
    }
}

/// y[r, :] = v for every row (parallel over rows).
public func fillRows(_ y: UnsafeMutablePointer<Float>, with v: UnsafePointer<Float>, rows: Int, width: Int) {
    parallelRows(rows, width: width) { range in
        for r in range { (y + r * width).update(from: v, count: width) }
    }
}

/// Several Linears reading the same input (attention's q/k/v), run as one GEMM: their weights are
/// packed into one contiguous [Σout, in] matrix before the product (a copy of Σout·in floats, tiny next
/// to the product itself), and the packed weight gradient is split back into each part's gradient.
/// The parameters stay separate tensors with their own names, so the store's layout is the same as with
/// separate Linears.
public struct FusedLinears: Sendable {
    public let parts: [Linear]
    public let inFeatures: Int
    public let outFeatures: Int

    public init(_ parts: [Linear]) {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.inFeatures == parts[0].inFeatures && $0.bias != nil },
                     "fused linears need one input width and biases")
        self.parts = parts
        inFeatures = parts[0].inFeatures
        outFeatures = parts.reduce(0) { $0 + $1.outFeatures }
    }

    /// Packed weight and bias of one layer instance (filled by each forward pass, read by its backward).
    public struct Packed {
        public let weight, bias: UnsafeMutablePointer<Float>
    }

    public func makePacked(_ arena: Arena) -> Packed {
        Packed(weight: arena.floats(outFeatures * inFeatures), bias: arena.floats(outFeatures))
    }

    /// Gradient scratch for the packed weight and bias; shareable.
    public static func gradientScratch(_ arena: Arena, outFeatures: Int, inFeatures: Int) -> Packed {
        Packed(weight: arena.floats(outFeatures * inFeatures), bias: arena.floats(outFeatures))
    }

    /// y [rows, Σout] = x·[W₁; W₂; …]ᵀ + [b₁; b₂; …]
    public func forward(_ p: ParameterStore, _ x: UnsafePointer<Float>, rows: Int, packed: Packed,
                        into y: UnsafeMutablePointer<Float>) {
        var o = 0
        for part in parts {
            (packed.weight + o * inFeatures).update(from: p.value(part.weight), count: part.outFeatures * inFeatures)
            (packed.bias + o).update(from: p.value(part.bias!), count: part.outFeatures)
            o += part.outFeatures
        }
        guard rows > 0 else { return }
        fillRows(y, with: packed.bias, rows: rows, width: outFeatures)
        sgemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: packed.weight,
                  ldb: inFeatures, beta: 1, c: y, ldc: outFeatures)
    }

    /// dx (+)= dy·W_packed; each part's dW, db += its slice of dyᵀ·x, Σ dy. `scratch` holds Σout·in + Σout floats.
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int, packed: Packed,
                         dx: UnsafeMutablePointer<Float>?, overwriteDx: Bool = false, scratch: Packed) {
        guard rows > 0 else { return }
        if let dx {
            sgemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures, b: packed.weight, ldb: inFeatures,
                      beta: overwriteDx ? 0 : 1, c: dx, ldc: inFeatures)
        }
        scratch.weight.update(repeating: 0, count: outFeatures * inFeatures)
        scratch.bias.update(repeating: 0, count: outFeatures)
        sgemmAccumulateTransposedA(a: dy, b: x, rows: rows, m: outFeatures, n: inFeatures, into: scratch.weight)
        accumulateColumnSums(dy, rows: rows, width: outFeatures, into: scratch.bias)
        var o = 0
        for part in parts {
            let gw = p.gradient(part.weight), gb = p.gradient(part.bias!)
            add(gw, scratch.weight + o * inFeatures, into: gw, count: part.outFeatures * inFeatures)
            add(gb, scratch.bias + o, into: gb, count: part.outFeatures)
            o += part.outFeatures
        }
    }
}
