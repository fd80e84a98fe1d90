import CKernels

/// exp over a buffer (Cephes' expf scheme, relative error < 2e-7; 0 below −87.3, +inf above
/// 88.7), vectorised in C. Pure arithmetic, so results do not depend on the thread count.
public func vexp(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    lidit_vexp(x, y, count)
}
