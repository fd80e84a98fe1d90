import Foundation
import Kernels

/// Central finite differences against analytic gradients (for tests and debugging).
public enum GradientCheck {
    public struct Report: CustomStringConvertible, Sendable {
        /// ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) over the checked coordinates.
        public var relativeError: Double
        /// Largest |analytic − numeric| / (|analytic| + |numeric| + floor), floor = 1e-2·max|numeric|.
        public var worstCoordinateError: Double
        public var analyticNorm: Double
        public var numericNorm: Double
        public var checked: Int
        public var description: String {
            String(format: "rel %.2e worst %.2e |g| %.3e (n=%d)", relativeError, worstCoordinateError, analyticNorm, checked)
        }
    }

    /// Perturbs x[i] by ±epsilon for each i in `indices`, evaluating `loss` (which must recompute from x),
    /// and compares (L(x+ε) − L(x−ε)) / 2ε with `analytic[i]`.
    public static func check(_ x: UnsafeMutablePointer<Float>, analytic: UnsafePointer<Float>, indices: [Int],
                             epsilon: Float, loss: () -> Double) -> Report {
        var num = [Double](), ana = [Double]()
        for i in indices {
            let saved = x[i]
            x[i] = saved + epsilon
            let lp = loss()
            x[i] = saved - epsilon
            let lm = loss()
            x[i] = saved
            num.append((lp - lm) / (2 * Double(epsilon)))
            ana.append(Double(analytic[i]))
        }
        return compare(analytic: ana, numeric: num)
    }

    public static func compare(analytic: [Double], numeric: [Double]) -> Report {
        var diff = 0.0, na = 0.0, nn = 0.0, maxN = 0.0
        for (a, n) in zip(analytic, numeric) { diff += (a - n) * (a - n); na += a * a; nn += n * n; maxN = max(maxN, abs(n)) }
        let floor = 1e-2 * maxN + 1e-12
        var worst = 0.0
        for (a, n) in zip(analytic, numeric) { worst = max(worst, abs(a - n) / (abs(a) + abs(n) + floor)) }
        let denom = max(na.squareRoot(), nn.squareRoot())
        return Report(relativeError: denom == 0 ? 0 : diff.squareRoot() / denom, worstCoordinateError: worst,
                      analyticNorm: na.squareRoot(), numericNorm: nn.squareRoot(), checked: analytic.count)
    }

    /// Up to `count` distinct indices in 0..<size, spread deterministically.
    public static func sampleIndices(size: Int, count: Int, seed: UInt64 = 1) -> [Int] {
        if size <= count { return Array(0..<size) }
        var rng = RandomGenerator(seed: seed)
        var set = Set<Int>()
        while set.count < count { set.insert(rng.integer(below: size)) }
        return set.sorted()
    }

    /// Σ r_i·y_i in Double: a scalar "loss" whose gradient with respect to y is r.
    public static func weightedSum(_ y: UnsafePointer<Float>, _ r: UnsafePointer<Float>, count: Int) -> Double {
        var s = 0.0
        for i in 0..<count { s += Double(y[i]) * Double(r[i]) }
        return s
    }
}
