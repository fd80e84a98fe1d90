import CBLAS
import Foundation

/// Row-major matrix products through OpenBLAS: the one tiling policy of the project.
///
/// Determinism: OpenBLAS's own threading changes results in the last bits with the thread count,
/// so OpenBLAS always runs single-threaded and large products are cut here into pieces whose
/// boundaries depend only on the shape. Each piece is the same BLAS call whatever the thread
/// count, so every element is bit-identical.
///
/// - Tall products (m ≥ 128 rows, A not transposed: a layer over batch·token rows) are cut into a
///   few large row panels (at least 64 rows, at most 8 panels): every piece repacks all of B, so
///   64-row tiles would pack a layer's weight 64 times for 4096 rows, about a quarter of the
///   multiply time.
/// - Other large products are cut into 64-row tiles, or 64-column tiles when C is wider than tall.
/// - Small ones (< 2¹⁸ multiply-adds, or both sides ≤ 64) are one call.
///
/// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, where op is identity or transpose and
/// lda/ldb/ldc are row strides in elements (so a head's slice of a [tokens, heads·dim] buffer
/// is addressed with ld = heads·dim).
public func sgemm(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // BLAS leaves C untouched when k = 0 only if beta = 1; make beta's meaning explicit.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    let tile = 64
    if m * n * k < 1 << 18 || (m <= tile && n <= tile) {
        serialSgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    if !transposeA && m >= 128 {
        let panel = max(64, ((m + 7) / 8 + 15) / 16 * 16)
        Parallel.forEach((m + panel - 1) / panel) { i in
            let r0 = i * panel
            serialSgemm(transposeB: transposeB, m: min(panel, m - r0), n: n, k: k, alpha: alpha, a: a + r0 * lda, lda: lda,
                        b: b, ldb: ldb, beta: beta, c: c + r0 * ldc, ldc: ldc)
        }
    } else if m >= n {
        let tiles = (m + tile - 1) / tile
        Parallel.forEach(tiles) { t in
            let r0 = t * tile, rows = min(tile, m - r0)
            serialSgemm(transposeA: transposeA, transposeB: transposeB, m: rows, n: n, k: k, alpha: alpha,
                        a: transposeA ? a + r0 : a + r0 * lda, lda: lda, b: b, ldb: ldb,
                        beta: beta, c: c + r0 * ldc, ldc: ldc)
        }
    } else {
        // Short and wide. A block of 64+ rows (one picture's image tokens) is cut into column panels
        // of about 256, at least two: fewer, larger BLAS calls. Fewer rows (a prompt's tokens) keep
        // 64-column tiles, which OpenBLAS multiplies without packing.
        let panels = m >= 64 ? max(2, n / 256) : (n + tile - 1) / tile
        let width = ((n + panels - 1) / panels + 15) / 16 * 16
        let tiles = (n + width - 1) / width
        Parallel.forEach(tiles) { t in
            let c0 = t * width, cols = min(width, n - c0)
            serialSgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: cols, k: k, alpha: alpha,
                        a: a, lda: lda, b: transposeB ? b + c0 * ldb : b + c0, ldb: ldb,
                        beta: beta, c: c + c0, ldc: ldc)
        }
    }
}

/// C[m×n] += Aᵀ·B with A [rows×m] and B [rows×n]: a weight gradient (dW += dyᵀ·x over every row of
/// the batch). The product has few outputs and a long inner dimension, so cutting the output into
/// tiles would make every tile repack all of A or B; instead the rows are cut into an even number of
/// chunks (from the shape alone: ~512–1024 rows each, at most 8), each chunk's product is one BLAS
/// call — the first accumulating into C, the others into scratch — and the partial products are then
/// added to C in chunk order. Same result for any thread count.
public func sgemmAccumulateTransposedA(a: UnsafePointer<Float>, b: UnsafePointer<Float>, rows: Int, m: Int, n: Int,
                                       into c: UnsafeMutablePointer<Float>) {
    let chunks = min(8, 2 * (rows / 1024))
    let size = m * n
    if chunks < 2 || rows * size < 1 << 20 {
        sgemm(transposeA: true, m: m, n: n, k: rows, a: a, lda: m, b: b, ldb: n, beta: 1, c: c, ldc: n)
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
        let count = min(chunk, rows - r0)
        let out = i == 0 ? c : scratch + (i - 1) * size
        serialSgemm(transposeA: true, m: m, n: n, k: count, a: a + r0 * m, lda: m,
                    b: b + r0 * n, ldb: n, beta: i == 0 ? 1 : 0, c: out, ldc: n)
    }
    Parallel.forEachChunk(size, minChunk: 4096) { range in
        for i in 1..<chunks { add(c + range.lowerBound, scratch + (i - 1) * size + range.lowerBound,
                                  into: c + range.lowerBound, count: range.count) }
    }
}

/// Scratch for the partial products (grown on demand), guarded by a lock so backward passes of
/// different models on different threads stay safe (they then take turns).
nonisolated(unsafe) private var partialScratch: UnsafeMutablePointer<Float>?
nonisolated(unsafe) private var partialScratchCount = 0
private let partialScratchLock = NSLock()

/// One OpenBLAS call on the calling thread; safe inside a parallel region.
@inline(__always)
public func serialSgemm(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    _ = Parallel.blasConfigured
    cblas_sgemm(CblasRowMajor,
                transposeA ? CblasTrans : CblasNoTrans,
                transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}


/// A linear layer on rows: y[rows×out] = x[rows×in] · Wᵀ (+ bias), W stored [out×in] row-major
/// (the GGUF / PyTorch layout). Batch and tokens are folded into `rows`.
public func linear(
    _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil, outFeatures: Int,
    into y: UnsafeMutablePointer<Float>, accumulate: Bool = false
) {
    sgemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures,
          a: x, lda: inFeatures, b: weight, ldb: inFeatures,
          beta: accumulate ? 1 : 0, c: y, ldc: outFeatures)
    if let bias {
        for r in 0..<rows { add(y + r * outFeatures, bias, into: y + r * outFeatures, count: outFeatures) }
    }
}

/// Convenience: C = A·B (or with transposes) on 2-D tensors.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul takes 2-D tensors")
    let m = transposeA ? a.shape[1] : a.shape[0]
    let k = transposeA ? a.shape[0] : a.shape[1]
    let kb = transposeB ? b.shape[1] : b.shape[0]
    let n = transposeB ? b.shape[0] : b.shape[1]
    precondition(k == kb, "inner dimensions differ: \(k) vs \(kb)")
    var c = Tensor(zeros: [m, n])
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            c.data.withUnsafeMutableBufferPointer { pc in
                sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                      a: pa.baseAddress!, lda: a.shape[1], b: pb.baseAddress!, ldb: b.shape[1],
                      c: pc.baseAddress!, ldc: n)
            }
        }
    }
    return c
}

/// OpenBLAS with its own thread pool (`threads` workers), untiled: the machine's native sgemm,
/// used only as the benchmark's reference point. Its results can differ in the last bits with
/// the thread count, which is why the models never call it.
public func referenceThreadedSgemm(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, threads: Int
) {
    openblas_set_num_threads(Int32(threads))
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, c, Int32(n))
    openblas_set_num_threads(1)
}
