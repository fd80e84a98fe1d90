import CKernels

/// In place: row ← softmax(row), numerically stable (the maximum is subtracted before exp, the sum
/// taken in a fixed order). A row whose entries are all −∞ comes out all zero instead of NaN, so
/// fully masked queries stay harmless.
@inline(__always)
public func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
    lidit_softmax_row(row, count)
}

/// In place: softmax over the keys in `visible` whose `valid` byte is nonzero (nil: all); every other
/// entry becomes 0. The attention mask of every attention in the project goes through here.
@inline(__always)
public func maskedSoftmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, valid: UnsafePointer<UInt8>?, visible: Range<Int>) {
    for j in 0..<visible.lowerBound { row[j] = -.infinity }
    for j in visible.upperBound..<count { row[j] = -.infinity }
    if let valid { for j in visible where valid[j] == 0 { row[j] = -.infinity } }
    softmaxRow(row, count: count)
}

/// Row-wise softmax of a [rows, columns] buffer, in place.
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
    for r in 0..<rows { softmaxRow(x + r * columns, count: columns) }
}

/// Backward of y = softmax(x) per row: dx = y ⊙ (dy − Σ dy⊙y). dx may be dy.
public func softmaxRowsBackward(
    y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, columns: Int
) {
    for r in 0..<rows {
        let p = y + r * columns, g = dy + r * columns, out = dx + r * columns
        var acc = Lanes(repeating: 0)
        var j = 0
        while j + 8 <= columns { acc += loadLanes(p + j) * loadLanes(g + j); j += 8 }
        var s = acc.sum()
        while j < columns { s += p[j] * g[j]; j += 1 }
        let sv = Lanes(repeating: s)
        j = 0
        while j + 8 <= columns { storeLanes(loadLanes(p + j) * (loadLanes(g + j) - sv), out + j); j += 8 }
        while j < columns { out[j] = p[j] * (g[j] - s); j += 1 }
    }
}
