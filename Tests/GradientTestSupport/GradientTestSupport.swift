import XCTest
import Kernels
import NeuralLayers

/// Helpers shared by the gradient-check tests of NeuralLayers and Diffusion.

/// A stable heap buffer of floats for tests.
public final class Buf {
    public let p: UnsafeMutablePointer<Float>
    public let count: Int
    public init(_ count: Int, fill: Float = 0) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: fill, count: max(count, 1))
    }
    public convenience init(normal count: Int, seed: UInt64, scale: Float = 1) {
        self.init(count)
        var rng = RandomGenerator(seed: seed)
        rng.fillNormal(UnsafeMutableBufferPointer(start: p, count: count))
        for i in 0..<count { p[i] *= scale }
    }
    deinit { p.deallocate() }
    public func zero() { p.update(repeating: 0, count: count) }
    public var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
}

/// Randomises every parameter (so zero-initialised gates and ones-initialised norms still pass
/// gradient to everything during a check).
public func randomizeParameters(_ store: ParameterStore, seed: UInt64, scale: Float = 0.3) {
    var rng = RandomGenerator(seed: seed)
    let b = UnsafeMutableBufferPointer(start: store.values, count: store.count)
    rng.fillNormal(b)
    for e in store.entries {
        // Norm weights near one, everything else small random.
        let isNormWeight = e.shape.count == 1 && (e.name.hasSuffix("norm.weight") || e.name.contains("norm") && e.name.hasSuffix(".weight"))
        for j in e.offset..<(e.offset + e.count) {
            store.values[j] = isNormWeight ? 1 + 0.2 * store.values[j] : scale * store.values[j]
        }
    }
}

/// Runs gradient checks for the store's parameters and for each (input, its gradient) pair.
/// `lossFn` recomputes the forward pass and the weighted-sum loss; `backwardFn` zeroes nothing and
/// must accumulate the analytic gradients (the store's are zeroed here first, inputs' gradient
/// buffers too).
public func checkGradients(_ label: String, store: ParameterStore?, inputs: [(String, Buf, Buf)], epsilon: Float = 1e-2,
                    samples: Int = 80, tolerance: Double = 1e-2,
                    lossFn: () -> Double, backwardFn: () -> Void, file: StaticString = #filePath, line: UInt = #line) {
    store?.zeroGradients()
    for (_, _, g) in inputs { g.zero() }
    backwardFn()
    if let store {
        let idx = GradientCheck.sampleIndices(size: store.count, count: samples)
        let r = GradientCheck.check(store.values, analytic: store.gradients, indices: idx, epsilon: epsilon, loss: lossFn)
        print("\(label) params: \(r)")
        XCTAssertLessThan(r.relativeError, tolerance, "\(label) params \(r)", file: file, line: line)
        XCTAssertGreaterThan(r.analyticNorm, 0, "\(label) params have zero gradient", file: file, line: line)
    }
    for (name, x, g) in inputs {
        let idx = GradientCheck.sampleIndices(size: x.count, count: samples, seed: 7)
        let r = GradientCheck.check(x.p, analytic: g.p, indices: idx, epsilon: epsilon, loss: lossFn)
        print("\(label) d\(name): \(r)")
        XCTAssertLessThan(r.relativeError, tolerance, "\(label) d\(name) \(r)", file: file, line: line)
        XCTAssertGreaterThan(r.analyticNorm, 0, "\(label) d\(name) is zero", file: file, line: line)
    }
}
