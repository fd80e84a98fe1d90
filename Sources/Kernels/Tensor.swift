/// A contiguous, row-major Float32 tensor. Value semantics (copy on write through `[Float]`);
/// the heavy kernels take raw buffers so callers can fold batch and tokens into rows freely.
public struct Tensor: Equatable, CustomStringConvertible {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not match \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// Rows when the last axis is treated as the feature axis (batch and tokens folded together).
    public var rows: Int { shape.count <= 1 ? 1 : count / shape[shape.count - 1] }
    public var columns: Int { shape.last ?? 1 }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    public subscript(_ indices: Int...) -> Float {
        get { data[offset(indices)] }
        set { data[offset(indices)] = newValue }
    }

    private func offset(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "rank mismatch")
        var o = 0
        for (i, n) in zip(indices, shape) { precondition(i >= 0 && i < n, "index out of range"); o = o * n + i }
        return o
    }

    public var description: String { "Tensor\(shape)" }
}
