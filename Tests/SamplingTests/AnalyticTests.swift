import Foundation
import XCTest
@testable import Sampling

/// Samplers against the Gaussian-data case, where the ideal denoiser and the flow ODE's exact
/// solution are known (see `GaussianData`).
final class AnalyticTests: XCTestCase {
    /// Excludes the very stiff s = 0.1 channel of the default data: at the step counts tested it
    /// keeps every sampler out of its asymptotic regime (the distribution tests keep it).
    var data: GaussianData {
        var d = GaussianData()
        d.deviations = [0.5, 1.5, 0.3, 1.0]
        return d
    }
    let elements = 64
    let seed: UInt64 = 7

    func rmsError(_ kind: SamplerKind, steps: Int, shift: Double = 1) throws -> Double {
        let noise = Sampler.noise(seeds: [seed], elementsPerRow: elements)
        let exact = data.exactEndpoint(noise: noise, elementsPerRow: elements)
        let out = try sampler(kind, steps: steps, shift: shift)
            .sample(data.denoiser(), from: noise, seeds: [seed], elementsPerRow: elements)
        return rms(out, exact)
    }

    func rms(_ a: [Float], _ b: [Double]) -> Double {
        (zip(a, b).map { (Double($0) - $1) * (Double($0) - $1) }.reduce(0, +) / Double(a.count)).squareRoot()
    }

    /// Observed order over `doublings` doublings of the step count from `steps`.
    func observedOrder(_ kind: SamplerKind, from steps: Int, doublings: Int, shift: Double = 1) throws -> Double {
        let coarse = try rmsError(kind, steps: steps, shift: shift)
        let fine = try rmsError(kind, steps: steps << doublings, shift: shift)
        return log2(coarse / fine) / Double(doublings)
    }

    /// The closed-form endpoint really is the flow ODE's solution: a fine Double-precision Heun
    /// solve, independent of the library, lands on it.
    func testClosedFormMatchesFineHeunSolve() {
        let noise = Sampler.noise(seeds: [seed], elementsPerRow: elements)
        let exact = data.exactEndpoint(noise: noise, elementsPerRow: elements)
        let solved = data.fineHeunEndpoint(noise: noise, elementsPerRow: elements, steps: 4000)
        XCTAssertLessThan(zip(solved, exact).map { abs($0 - $1) }.max()!, 1e-5)
    }

    func testDeterministicSamplersConvergeToTheFlowSolution() throws {
        for shift in [1.0, 3.0] {
            for kind in [SamplerKind.euler, .heun, .dpmpp2m, .ddim, .unipc] {
                let errors = try [10, 40, 160].map { try rmsError(kind, steps: $0, shift: shift) }
                XCTAssertGreaterThan(errors[0], errors[1], "\(kind) shift \(shift)")
                XCTAssertGreaterThan(errors[1], errors[2], "\(kind) shift \(shift)")
                XCTAssertLessThan(errors[2], 0.015, "\(kind) shift \(shift)")
            }
        }
    }

    func testOrdersOnTheUniformSchedule() throws {
        // Over 40 → 320 steps. DPM++(2M) converges like log(N)/N² on uniform σ steps: the λ steps
        // next to σ = 1 and σ = 0 stay ~log 2 wide for any N (see the λ-uniform test for its
        // clean order).
        let euler = try observedOrder(.euler, from: 40, doublings: 3)
        XCTAssertEqual(euler, 1, accuracy: 0.1)
        XCTAssertEqual(try observedOrder(.ddim, from: 40, doublings: 3), 1, accuracy: 0.1)
        XCTAssertGreaterThan(try observedOrder(.heun, from: 40, doublings: 3), 1.9)
        XCTAssertGreaterThan(try observedOrder(.dpmpp2m, from: 40, doublings: 3), 1.5)
        XCTAssertGreaterThan(try observedOrder(.unipc, from: 40, doublings: 3), 1.8)
    }

    func testSecondOrderSamplersBeatEulerAtEqualSteps() throws {
        for shift in [1.0, 3.0] {
            for steps in [20, 80] {
                let euler = try rmsError(.euler, steps: steps, shift: shift)
                for kind in [SamplerKind.heun, .dpmpp2m, .unipc] {
                    XCTAssertLessThan(try rmsError(kind, steps: steps, shift: shift), euler / 3,
                                      "\(kind) at \(steps) steps, shift \(shift)")
                }
            }
        }
    }

    /// On steps uniform in λ = log(α/σ), the variable the multistep solvers are built on, their
    /// theoretical orders show cleanly: 2 for DPM-Solver++(2M), 3 for UniPC (UniP-2 + UniC).
    /// A wrong extrapolation weight or corrector coefficient drops these by at least one.
    func testMultistepOrdersOnLambdaUniformSteps() throws {
        let noise = Sampler.noise(seeds: [seed], elementsPerRow: elements)
        let exact = data.exactEndpoint(noise: noise, elementsPerRow: elements)
        func error(_ solve: (Run) throws -> [Float], steps: Int) rethrows -> Double {
            var sigmas: [Double] = [1]
            for k in 0...steps { sigmas.append(1 / (1 + exp(-6 + 12 * Double(k) / Double(steps)))) }
            sigmas.append(0)
            let run = Run(denoiser: data.denoiser(), guidance: Guidance(scale: 1, rescale: 0, interval: .always),
                          sigmas: sigmas, seeds: [seed], elementsPerRow: elements, onStep: nil)
            return rms(try solve(run), exact)
        }
        func order(_ solve: (Run) throws -> [Float]) rethrows -> Double {
            log2(try error(solve, steps: 20) / error(solve, steps: 160)) / 3
        }
        XCTAssertGreaterThan(try order { try $0.dpmpp2m(noise) }, 1.8)
        XCTAssertLessThan(try order { try $0.dpmpp2m(noise) }, 2.3)
        XCTAssertGreaterThan(try order { try $0.unipc(noise) }, 2.6)
        XCTAssertEqual(try order { try $0.euler(noise) }, 1, accuracy: 0.15)
    }

    func testDDIMWithoutEtaIsEuler() throws {
        let noise = Sampler.noise(seeds: [seed], elementsPerRow: elements)
        let a = try sampler(.euler, steps: 12, shift: 2).sample(data.denoiser(), from: noise, seeds: [seed], elementsPerRow: elements)
        let b = try sampler(.ddim, steps: 12, shift: 2).sample(data.denoiser(), from: noise, seeds: [seed], elementsPerRow: elements)
        XCTAssertLessThan(maxAbsDifference(a, b.map(Double.init)), 1e-5)
    }

    /// Velocity and clean-image models of the same ideal denoiser sample the same images.
    func testPredictionTypesAgree() throws {
        let noise = Sampler.noise(seeds: [seed], elementsPerRow: elements)
        for kind in [SamplerKind.euler, .heun, .unipc] {
            let s = try sampler(kind, steps: 15)
            let a = try s.sample(data.denoiser(.velocity), from: noise, seeds: [seed], elementsPerRow: elements)
            let b = try s.sample(data.denoiser(.cleanImage), from: noise, seeds: [seed], elementsPerRow: elements)
            XCTAssertLessThan(maxAbsDifference(a, b.map(Double.init)), 1e-4, "\(kind)")
        }
    }

    /// Samples from many independent elements must have each channel's mean and std.
    func testSampleDistributions() throws {
        let n = 8192
        let seeds: [UInt64] = [11, 12]
        // (sampler, η, steps, data, relative tolerance on std). Deterministic samplers follow the
        // flow ODE, so they keep the stiff s = 0.1 channel. Ancestral ones converge only like 1/N
        // with an ideal denoiser (std −1.6% at 300 steps for s = 0.3, −3.7% for s = 0.1, by the
        // exact variance recursion), so they run on the milder data.
        let cases: [(SamplerKind, Double?, Int, GaussianData, Double)] = [
            (.euler, nil, 100, GaussianData(), 0.04), (.heun, nil, 40, GaussianData(), 0.03),
            (.dpmpp2m, nil, 40, GaussianData(), 0.03), (.ddim, 0, 100, GaussianData(), 0.04),
            (.unipc, nil, 40, GaussianData(), 0.03),
            (.eulerAncestral, nil, 300, data, 0.05), (.eulerAncestral, 0.5, 300, data, 0.05),
            (.ddim, 1, 300, data, 0.05),
        ]
        for (kind, eta, steps, data, tolerance) in cases {
            let out = try sampler(kind, steps: steps, eta: eta).sample(data.denoiser(), seeds: seeds, elementsPerRow: n)
            assertDistribution(out, data, elementsPerRow: n, tolerance: tolerance, "\(kind) η=\(eta.map { "\($0)" } ?? "default")")
        }
    }

    func assertDistribution(_ x: [Float], _ data: GaussianData, elementsPerRow n: Int, tolerance: Double,
                            _ label: String, line: UInt = #line) {
        let stats = channelStatistics(x, elementsPerRow: n, channels: data.channels)
        for c in 0..<data.channels {
            let (mu, s) = (data.mean(c), data.deviation(c))
            // standard errors with 4096 samples a channel: s/64 for the mean, ~s/90 for the std
            XCTAssertEqual(stats[c].mean, mu, accuracy: 0.05 * s, "\(label) channel \(c)", line: line)
            XCTAssertEqual(stats[c].std, s, accuracy: tolerance * s, "\(label) channel \(c)", line: line)
        }
    }

    /// LCM is exact for a consistency model (one that maps x_σ straight to the flow's endpoint)
    /// at any step count; with a plain denoiser it loses variance at every re-noising, which is
    /// why it is only for distilled models.
    func testLCMWithAConsistencyModel() throws {
        let data = GaussianData()
        let n = 8192
        let consistency = Denoiser(prediction: .cleanImage) { input in
            let a = 1 - input.sigma
            return input.x.enumerated().map { i, x in
                let (m, s) = (data.mean(i % n), data.deviation(i % n))
                return Float(m + s * (Double(x) - a * m) / (a * a * s * s + input.sigma * input.sigma).squareRoot())
            }
        }
        for steps in [1, 4] {
            let out = try sampler(.lcm, steps: steps).sample(consistency, seeds: [5, 6], elementsPerRow: n)
            assertDistribution(out, data, elementsPerRow: n, tolerance: 0.03, "lcm \(steps) steps")
        }
        let plain = try sampler(.lcm, steps: 4).sample(data.denoiser(), seeds: [5, 6], elementsPerRow: n)
        let stats = channelStatistics(plain, elementsPerRow: n, channels: data.channels)
        XCTAssertLessThan(stats[3].std, 0.9 * data.deviation(3))
    }
}
