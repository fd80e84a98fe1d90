import CKernels
import Foundation

/// Row-wise softmax, numerically stable (the row maximum is subtracted before exp), with an
/// optional additive mask per row (0 = keep, -inf = drop). A row whose entries are all masked
/// comes out all zero instead of NaN, so fully padded queries stay harmless.
public func softmaxRows(
    _ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
    mask: UnsafePointer<Float>? = nil, maskRowStride: Int = 0
) {
    for r in 0..<rows {
        let row = x + r * columns
        if let mask {
            add(row, mask + r * maskRowStride, into: row, count: columns)
        }
        softmaxRow(row, count: columns)
    }
}

@inline(__always)
public func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
    lidit_softmax_row(row, count)
}

/// Backward of y = softmax(x) per row: dx = y ⊙ (dy − Σ dy⊙y).
public func softmaxRowsBackward(
    y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, columns: Int
) {
    for r in 0..<rows {
        let yr = y + r * columns, dyr = dy + r * columns, dxr = dx + r * columns
        let s = dot(yr, dyr, count: columns)
        for j in 0..<columns { dxr[j] = yr[j] * (dyr[j] - s) }
    }
}
