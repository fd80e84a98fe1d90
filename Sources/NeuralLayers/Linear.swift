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
    public func forward(_ p: ParameterStore, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                        accumulate: Bool = false) {
        guard rows > 0 else { return }
        sgemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures,
              a: x, lda: inFeatures, b: p.value(weight), ldb: inFeatures,
              beta: accumulate ? 1 : 0, c: y, ldc: outFeatures)
        if let bias { addRowVector(p.value(bias), to: y, rows: rows, width: outFeatures) }
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
        accumulateWeightGradient(dy: dy, x: x, rows: rows, outFeatures: outFeatures, inFeatures: inFeatures,
                                 into: p.gradient(weight))
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

/// out[c] += Σ_r x[r, c] (parallel over columns, so each sum has one fixed order).
public func accumulateColumnSums(_ x: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
    let work = { (range: Range<Int>) in
        for r in 0..<rows {
            let row = x + r * width
            for c in range { out[c] += row[c] }
        }
    }
    if rows * width < 32_768 { work(0..<width) } else { Parallel.forEachChunk(width, minChunk: 32, work) }
}

/// dW[out, in] += dyᵀ[out, rows]·x[rows, in].
///
/// The product has few outputs (out·in) and a long inner dimension (all rows of the batch), so the
/// kernels' default tiling (64-row panels) leaves a 2-core machine idle a third of the time for a
/// 192×192 weight. Here the output is cut into tiles whose size depends only on the shape — never on
/// the thread count — so every element comes from the same BLAS call whatever the thread count.
public func accumulateWeightGradient(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int,
                                     outFeatures: Int, inFeatures: Int, into dW: UnsafeMutablePointer<Float>) {
    if rows * outFeatures * inFeatures < 1 << 18 {
        serialSgemm(transposeA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, lda: outFeatures,
                    b: x, ldb: inFeatures, beta: 1, c: dW, ldc: inFeatures)
        return
    }
    let tm = outFeatures <= 256 ? 32 : 64
    let tn = inFeatures <= 256 ? inFeatures : 128
    let mt = (outFeatures + tm - 1) / tm, nt = (inFeatures + tn - 1) / tn
    Parallel.forEach(mt * nt) { t in
        let i = t / nt, j = t % nt
        let m0 = i * tm, n0 = j * tn
        serialSgemm(transposeA: true, m: min(tm, outFeatures - m0), n: min(tn, inFeatures - n0), k: rows,
                    a: dy + m0, lda: outFeatures, b: x + n0, ldb: inFeatures,
                    beta: 1, c: dW + m0 * inFeatures + n0, ldc: inFeatures)
    }
}
