/// Vector width of the hand-written element-wise loops (Swift's SIMD8: two SSE or one AVX register).
public typealias Lanes = SIMD8<Float>

@inline(__always) public func loadLanes(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
@inline(__always) public func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
}

/// Splits `rows` rows of `width` floats over the workers in chunks of at least ~16k floats.
/// Each row is handled by exactly one worker, so results never depend on the thread count.
@inline(__always)
public func parallelRows(_ rows: Int, width: Int, _ body: (Range<Int>) -> Void) {
    let minChunk = max(1, 16_384 / max(width, 1))
    Parallel.forEachChunk(rows, minChunk: minChunk, body)
}

/// out[c] += Σ_r x[r, c], 8 columns at a time; parallel over column blocks (each column's sum keeps one
/// fixed order, so the result does not depend on the thread count).
public func accumulateColumnSums(_ x: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
    accumulateColumns(rows: rows, width: width, into: out) { r, c in loadLanes(x + r * width + c) } scalar: { r, c in x[r * width + c] }
}

/// out[c] += Σ_r f(r, c) for the 8 columns from c (`lanes`) or one column (`scalar`), column blocks in
/// parallel, rows in order within each: the column sums of norms' weight gradients and of biases.
@inline(__always)
public func accumulateColumns(rows: Int, width: Int, into out: UnsafeMutablePointer<Float>,
                              lanes: (Int, Int) -> Lanes, scalar: (Int, Int) -> Float) {
    let blocks = (width + 7) / 8
    if rows * width < 65_536 {
        accumulateColumnBlocks(0..<blocks, rows: rows, width: width, into: out, lanes: lanes, scalar: scalar)
    } else {
        Parallel.forEachChunk(blocks, minChunk: 4) { range in
            accumulateColumnBlocks(range, rows: rows, width: width, into: out, lanes: lanes, scalar: scalar)
        }
    }
}

@inline(__always)
func accumulateColumnBlocks(_ range: Range<Int>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>,
                            lanes: (Int, Int) -> Lanes, scalar: (Int, Int) -> Float) {
    let c0 = range.lowerBound * 8, c1 = min(width, range.upperBound * 8)
    var c = c0
    while c + 8 <= c1 {
        var acc = Lanes(repeating: 0)
        for r in 0..<rows { acc += lanes(r, c) }
        storeLanes(loadLanes(out + c) + acc, out + c)
        c += 8
    }
    while c < c1 {
        var s: Float = 0
        for r in 0..<rows { s += scalar(r, c) }
        out[c] += s
        c += 1
    }
}
