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
        panelGemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x, lda: inFeatures, b: p.value(weight), ldb: inFeatures,
                  beta: beta, c: y, ldc: outFeatures)
    }

    /// Accumulates dW += dyᵀ·x, db += Σ_rows dy and (when `dx` is given) dx += dy·W
    /// (dx = dy·W with `overwriteDx`).
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int,
                         dx: UnsafeMutablePointer<Float>?, overwriteDx: Bool = false) {
        guard rows > 0 else { return }
        if let dx {
            panelGemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures,
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

/// y[r, :] = v for every row (parallel over rows).
public func fillRows(_ y: UnsafeMutablePointer<Float>, with v: UnsafePointer<Float>, rows: Int, width: Int) {
    parallelRows(rows, width: width) { range in
        for r in range { (y + r * width).update(from: v, count: width) }
    }
}

/// out[c] += Σ_r x[r, c], 8 columns at a time; parallel over column blocks (each column's sum keeps one
/// fixed order, so the result does not depend on the thread count).
public func accumulateColumnSums(_ x: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
    let blocks = (width + 7) / 8
    let work = { (range: Range<Int>) in
        let c0 = range.lowerBound * 8, c1 = min(width, range.upperBound * 8)
        var c = c0
        while c + 8 <= c1 {
            var acc = Lanes(repeating: 0)
            for r in 0..<rows { acc += loadLanes(x + r * width + c) }
            storeLanes(loadLanes(out + c) + acc, out + c)
            c += 8
        }
        while c < c1 {
            var s: Float = 0
            for r in 0..<rows { s += x[r * width + c] }
            out[c] += s
            c += 1
        }
    }
    if rows * width < 65_536 { work(0..<blocks) } else { Parallel.forEachChunk(blocks, minChunk: 4, work) }
}

/// C[m×n] = A[m×k]·op(B) + beta·C with the rows of C cut into a few large panels, one BLAS call each.
///
/// The kernels' `sgemm` cuts rows into 64-row tiles, and every tile repacks all of B: for a layer's
/// weight (B) and 4096 batch·token rows that is 64 packings of the weight, which cost about a quarter
/// of the multiply time. Here a panel is at least 64 rows and there are at most 8 panels, sized from
/// the shape alone (never from the thread count), so results stay bit-identical for any thread count.
public func panelGemm(transposeB: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 || m * n * k < 1 << 18 || m < 128 {
        sgemm(transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let panel = max(64, ((m + 7) / 8 + 15) / 16 * 16)
    let panels = (m + panel - 1) / panel
    Parallel.forEach(panels) { i in
        let r0 = i * panel
        serialSgemm(transposeB: transposeB, m: min(panel, m - r0), n: n, k: k, a: a + r0 * lda, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c + r0 * ldc, ldc: ldc)
    }
}

/// Scratch for the partial weight gradients (grown on demand), guarded by a lock so backward passes of
/// different models on different threads stay safe (they then take turns for this step).
nonisolated(unsafe) private var partialScratch: UnsafeMutablePointer<Float>?
nonisolated(unsafe) private var partialScratchCount = 0
private let partialScratchLock = NSLock()

/// dW[out, in] += dyᵀ[out, rows]·x[rows, in].
///
/// The product has few outputs and a long inner dimension (every row of the batch). Cutting the output
/// into tiles would make every tile repack all of dy or x; instead the rows are cut into an even number
/// of chunks (from the shape alone: ~512–1024 rows each, at most 8), each chunk's product is computed by
/// one BLAS call — the first accumulating into dW, the others into scratch — and the partial products are
/// then added to dW in chunk order. Same result for any thread count.
public func accumulateWeightGradient(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int,
                                     outFeatures: Int, inFeatures: Int, into dW: UnsafeMutablePointer<Float>) {
    let chunks = min(8, 2 * (rows / 1024))
    let size = outFeatures * inFeatures
    if chunks < 2 || rows * size < 1 << 20 {
        sgemm(transposeA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, lda: outFeatures,
              b: x, ldb: inFeatures, beta: 1, c: dW, ldc: inFeatures)
        return
    }
    let need = (chunks - 1) * size
    partialScratchLock.lock()
    defer { partialScratchLock.unlock() }
    if partialScratchCount < need {
        partialScratch?.deallocate()
        partialScratch = .allocate(capacity: need)
        partialScratchCount = need
    }
    let scratch = partialScratch!
    let chunk = (rows + chunks - 1) / chunks
    Parallel.forEach(chunks) { i in
        let r0 = i * chunk
        let n = min(chunk, rows - r0)
        let out = i == 0 ? dW : scratch + (i - 1) * size
        serialSgemm(transposeA: true, m: outFeatures, n: inFeatures, k: n, a: dy + r0 * outFeatures, lda: outFeatures,
                    b: x + r0 * inFeatures, ldb: inFeatures, beta: i == 0 ? 1 : 0, c: out, ldc: inFeatures)
    }
    Parallel.forEachChunk(size, minChunk: 4096) { range in
        for i in 1..<chunks { add(dW + range.lowerBound, scratch + (i - 1) * size + range.lowerBound,
                                   into: dW + range.lowerBound, count: range.count) }
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
        panelGemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: packed.weight,
                  ldb: inFeatures, beta: 1, c: y, ldc: outFeatures)
    }

    /// dx (+)= dy·W_packed; each part's dW, db += its slice of dyᵀ·x, Σ dy. `scratch` holds Σout·in + Σout floats.
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int, packed: Packed,
                         dx: UnsafeMutablePointer<Float>?, overwriteDx: Bool = false, scratch: Packed) {
        guard rows > 0 else { return }
        if let dx {
            panelGemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures, b: packed.weight, ldb: inFeatures,
                      beta: overwriteDx ? 0 : 1, c: dx, ldc: inFeatures)
        }
        scratch.weight.update(repeating: 0, count: outFeatures * inFeatures)
        scratch.bias.update(repeating: 0, count: outFeatures)
        accumulateWeightGradient(dy: dy, x: x, rows: rows, outFeatures: outFeatures, inFeatures: inFeatures, into: scratch.weight)
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
