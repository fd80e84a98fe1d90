import Foundation
import Kernels
@testable import Sampling

/// Data x0 ~ N(μ, s²·I), with μ and s cycling over a few "channels" along each row. For it
/// the ideal denoiser is known in closed form, and so is the flow ODE's solution:
///   E[x0 | x_σ] = μ + (1−σ)s²/((1−σ)²s² + σ²)·(x_σ − (1−σ)μ),
///   x_σ = (1−σ)μ + √((1−σ)²s² + σ²)·ε  (the flow map is affine and monotone per element),
/// so the exact endpoint from starting noise ε is μ + s·ε.
struct GaussianData {
    var means: [Double] = [1.0, -0.5, 2.0, 0.0]
    var deviations: [Double] = [0.5, 1.5, 0.1, 1.0]

    var channels: Int { means.count }
    func mean(_ k: Int) -> Double { means[k % channels] }
    func deviation(_ k: Int) -> Double { deviations[k % channels] }

    func cleanEstimate(_ x: Double, sigma: Double, element k: Int) -> Double {
        let (m, s2, a) = (mean(k), deviation(k) * deviation(k), 1 - sigma)
        return m + a * s2 / (a * a * s2 + sigma * sigma) * (x - a * m)
    }

    /// The ideal network, as a velocity or a clean-image predictor. Counts its calls.
    func denoiser(_ prediction: Prediction = .cleanImage, calls: Counter? = nil) -> Denoiser {
        Denoiser(prediction: prediction) { input in
            calls?.record(input)
            let (n, sigma, a) = (input.elementsPerRow, input.sigma, 1 - input.sigma)
            // x̂0 = gain·x + offset per channel (the closed form above, factored for speed)
            let gains = (0..<channels).map { k in a * deviation(k) * deviation(k) / (a * a * deviation(k) * deviation(k) + sigma * sigma) }
            let offsets = (0..<channels).map { k in mean(k) - gains[k] * a * mean(k) }
            var out = [Float](repeating: 0, count: input.x.count)
            for i in 0..<out.count {
                let k = (i % n) % channels
                let x = Double(input.x[i]), clean = gains[k] * x + offsets[k]
                out[i] = Float(prediction == .cleanImage ? clean : (x - clean) / sigma)
            }
            return out
        }
    }

    /// μ + s·ε for every element of each row.
    func exactEndpoint(noise: [Float], elementsPerRow n: Int) -> [Double] {
        noise.enumerated().map { i, e in mean(i % n) + deviation(i % n) * Double(e) }
    }

    /// A Double-precision Heun solve of dx/dσ = (x − x̂0)/σ on `steps` uniform steps, independent
    /// of the library: the reference the closed form is checked against.
    func fineHeunEndpoint(noise: [Float], elementsPerRow n: Int, steps: Int) -> [Double] {
        noise.enumerated().map { i, e in
            let k = i % n
            var x = Double(e)
            func velocity(_ x: Double, _ sigma: Double) -> Double { (x - cleanEstimate(x, sigma: sigma, element: k)) / sigma }
            for step in 0..<steps {
                let sigma = 1 - Double(step) / Double(steps), next = 1 - Double(step + 1) / Double(steps)
                let v = velocity(x, sigma)
                if next == 0 { x += (next - sigma) * v; break }
                let predicted = x + (next - sigma) * v
                x += (next - sigma) * 0.5 * (v + velocity(predicted, next))
            }
            return x
        }
    }
}

/// Records the model calls a sampler makes.
final class Counter {
    private(set) var calls = 0
    private(set) var guidedCalls = 0
    private(set) var sigmas: [Double] = []
    private(set) var rowCounts: [Int] = []

    func record(_ input: DenoiserInput) {
        calls += 1
        if input.includesUnconditional { guidedCalls += 1 }
        sigmas.append(input.sigma)
        rowCounts.append(input.x.count / input.elementsPerRow)
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
}

/// Per-channel sample mean and standard deviation over all rows.
func channelStatistics(_ x: [Float], elementsPerRow n: Int, channels: Int) -> [(mean: Double, std: Double)] {
    (0..<channels).map { c in
        let values = x.indices.filter { ($0 % n) % channels == c }.map { Double(x[$0]) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return (mean, variance.squareRoot())
    }
}

func sampler(_ kind: SamplerKind, steps: Int, shift: Double = 1, eta: Double? = nil) throws -> Sampler {
    try Sampler(settings: SamplerSettings(sampler: kind, steps: steps, shift: shift, eta: eta))
}
