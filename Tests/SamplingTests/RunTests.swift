import Kernels
import XCTest
@testable import Sampling

/// Determinism, step callbacks, cancellation and input checks.
final class RunTests: XCTestCase {
    let data = GaussianData()

    func testStartingNoiseIsEachSeedsStream() {
        let n = 37
        let noise = Sampler.noise(seeds: [3, 99], elementsPerRow: n)
        XCTAssertEqual(Array(noise[0..<n]), RandomGenerator(seed: 3).normals(count: n))
        XCTAssertEqual(Array(noise[n...]), RandomGenerator(seed: 99).normals(count: n))
    }

    func testSameSeedIsBitIdenticalAndSeedsMatter() throws {
        let n = 96
        let cases: [SamplerSettings] = [
            SamplerSettings(sampler: .eulerAncestral, steps: 12),
            SamplerSettings(sampler: .ddim, steps: 12, eta: 0.7),
            SamplerSettings(sampler: .lcm, steps: 4),
            SamplerSettings(sampler: .unipc, steps: 9, shift: 3, guidanceScale: 4, guidanceRescale: 0.5,
                            guidanceInterval: .init(low: 0.2, high: 0.9)),
        ]
        for settings in cases {
            let s = try Sampler(settings: settings)
            let a = try s.sample(toyNetwork(), seeds: [42, 43], elementsPerRow: n)
            let b = try s.sample(toyNetwork(), seeds: [42, 43], elementsPerRow: n)
            let c = try s.sample(toyNetwork(), seeds: [44, 43], elementsPerRow: n)
            XCTAssertEqual(a, b, "\(settings.sampler)")
            XCTAssertNotEqual(Array(a[0..<n]), Array(c[0..<n]), "\(settings.sampler)")
        }
    }

    /// Ancestral noise comes from each row's own seed: the fresh noise really is used (seeded
    /// differently from the start noise), and an image is the same alone or in a batch.
    func testAncestralNoiseIsPerSeed() throws {
        let n = 64
        for settings in [SamplerSettings(sampler: .eulerAncestral, steps: 8), SamplerSettings(sampler: .ddim, steps: 8, eta: 1),
                         SamplerSettings(sampler: .lcm, steps: 3)] {
            let s = try Sampler(settings: settings)
            let batch = try s.sample(data.denoiser(), seeds: [5, 9], elementsPerRow: n)
            let alone = try s.sample(data.denoiser(), seeds: [9], elementsPerRow: n)
            XCTAssertEqual(Array(batch[n...]), alone, "\(settings.sampler)")
            // Same starting noise, different ancestral seed → different image.
            let noise = Sampler.noise(seeds: [9], elementsPerRow: n)
            let other = try s.sample(data.denoiser(), from: noise, seeds: [10], elementsPerRow: n)
            XCTAssertNotEqual(other, alone, "\(settings.sampler)")
        }
    }

    func testThreadCountDoesNotChangeResults() throws {
        // Rows long enough for RandomGenerator to split its fills across workers.
        let n = 40_000
        let saved = Parallel.threads
        defer { Parallel.setThreads(saved) }
        let s = try Sampler(settings: SamplerSettings(sampler: .eulerAncestral, steps: 4, guidanceScale: 2))
        Parallel.setThreads(1)
        let one = try s.sample(toyNetwork(), seeds: [8, 9], elementsPerRow: n)
        Parallel.setThreads(2)
        let two = try s.sample(toyNetwork(), seeds: [8, 9], elementsPerRow: n)
        XCTAssertEqual(one, two)
    }

    func testCallbackSeesEveryStep() throws {
        for kind in SamplerKind.allCases {
            let s = try Sampler(settings: SamplerSettings(sampler: kind, steps: 7, shift: 2))
            var seen: [StepInfo] = []
            let out = try s.sample(data.denoiser(), seeds: [1, 2, 3], elementsPerRow: 8) { seen.append($0); return true }
            XCTAssertEqual(seen.map(\.step), Array(0..<7), "\(kind)")
            XCTAssertEqual(seen.map(\.sigma), Array(s.schedule.sigmas.dropLast()), "\(kind)")
            XCTAssertEqual(seen.map(\.nextSigma), Array(s.schedule.sigmas.dropFirst()), "\(kind)")
            XCTAssertTrue(seen.allSatisfy { $0.steps == 7 && $0.rows == 3 && $0.elementsPerRow == 8 && $0.denoised.count == 24 })
            // The last step lands on its clean estimate.
            XCTAssertEqual(seen.last!.denoised, out, "\(kind)")
        }
    }

    func testCancellationStopsEarly() throws {
        for kind in [SamplerKind.euler, .heun, .unipc] {
            let counter = Counter()
            let s = try Sampler(settings: SamplerSettings(sampler: kind, steps: 20))
            var reported = 0
            XCTAssertThrowsError(try s.sample(data.denoiser(calls: counter), seeds: [1], elementsPerRow: 8) { info in
                reported += 1
                return info.step < 3
            }) { error in
                XCTAssertTrue(error is CancellationError, "\(error)")
            }
            XCTAssertEqual(reported, 4, "\(kind)")
            XCTAssertEqual(counter.calls, kind == .heun ? 8 : 4, "\(kind)")
        }
    }

    func testInputChecks() throws {
        let s = try Sampler(settings: SamplerSettings())
        XCTAssertThrowsError(try s.sample(data.denoiser(), seeds: [], elementsPerRow: 4))
        XCTAssertThrowsError(try s.sample(data.denoiser(), from: [0, 0, 0], seeds: [1], elementsPerRow: 4)) { error in
            XCTAssertEqual("\(error)", "starting noise has 3 values, expected 1 rows × 4")
        }
        let short = Denoiser(prediction: .velocity) { Array($0.x.dropLast()) }
        XCTAssertThrowsError(try s.sample(short, seeds: [1], elementsPerRow: 4)) { error in
            XCTAssertEqual(error as? SamplingError, .modelOutput(expected: 4, got: 3))
        }
    }

    func testPredictionConversions() {
        XCTAssertEqual(Prediction.velocity.cleanEstimate(output: 2, x: 1, sigma: 0.25), 0.5)
        XCTAssertEqual(Prediction.cleanImage.cleanEstimate(output: 2, x: 1, sigma: 0.25), 2)
    }

    /// DDIM's fresh noise at η = 1 is the DDPM posterior's: for a point mass at c (so x̂0 = c),
    /// one step from σ to σn gives x_n ~ N(αn·c + √(σn² − s²)·ε̂, s²) with
    /// s² = σ²_{t|s}·σn²/σ², σ²_{t|s} = σ² − (α/αn)²·σn² (the forward step's variance).
    /// The step's fresh noise is the seed's stream at counter ⌈n/4⌉ (one row of blocks in).
    func testDDIMNoiseIsTheDDPMPosteriorVariance() throws {
        let n = 32
        let c: Float = 0.7
        let pointMass = Denoiser(prediction: .cleanImage) { [Float](repeating: c, count: $0.x.count) }
        let (sigma, next) = (0.6, 0.3)
        let (alpha, alphaNext) = (1 - sigma, 1 - next)
        let start = RandomGenerator(seed: 100).normals(count: n)
        let fresh = RandomGenerator(seed: 4, counter: UInt64((n + 3) / 4)).normals(count: n)
        for eta in [1.0, 0.5] {
            let run = Run(denoiser: pointMass, guidance: Guidance(scale: 1, rescale: 0, interval: .always),
                          sigmas: [sigma, next], seeds: [4], elementsPerRow: n, onStep: nil)
            let out = try run.ddim(start, eta: eta)
            let forwardVariance = sigma * sigma - pow(alpha / alphaNext * next, 2)
            let s = eta * (forwardVariance * next * next / (sigma * sigma)).squareRoot()
            for k in 0..<n {
                let epsilon = (Double(start[k]) - alpha * Double(c)) / sigma
                let expected = alphaNext * Double(c) + (next * next - s * s).squareRoot() * epsilon + s * Double(fresh[k])
                XCTAssertEqual(Double(out[k]), expected, accuracy: 1e-5, "η = \(eta)")
            }
        }
    }

    /// One Euler-a step as ComfyUI's `sample_euler_ancestral_RF` writes it, for a point mass at c.
    /// Whatever η, the result has signal αn·c and noise of variance exactly σn².
    func testEulerAncestralStep() throws {
        let n = 32
        let c: Float = -0.4
        let pointMass = Denoiser(prediction: .cleanImage) { [Float](repeating: c, count: $0.x.count) }
        let (sigma, next) = (0.8, 0.5)
        let start = RandomGenerator(seed: 100).normals(count: n)
        let fresh = RandomGenerator(seed: 4, counter: UInt64((n + 3) / 4)).normals(count: n)
        for eta in [0.0, 0.5, 1.0, 3.0] {
            let run = Run(denoiser: pointMass, guidance: Guidance(scale: 1, rescale: 0, interval: .always),
                          sigmas: [sigma, next], seeds: [4], elementsPerRow: n, onStep: nil)
            let out = try run.eulerAncestral(start, eta: eta)
            let down = max(0, next * (1 + (next / sigma - 1) * eta))   // η = 3 clamps to 0
            let (alphaNext, alphaDown) = (1 - next, 1 - down)
            let renoise = (next * next - pow(down * alphaNext / alphaDown, 2)).squareRoot()
            for k in 0..<n {
                let stepped = down / sigma * Double(start[k]) + (1 - down / sigma) * Double(c)
                let expected = alphaNext / alphaDown * stepped + renoise * Double(fresh[k])
                XCTAssertEqual(Double(out[k]), expected, accuracy: 1e-5, "η = \(eta)")
            }
            // noise part = (αn/α_down)·σ_down·ε + renoise·z: the coefficients' squares sum to σn²
            XCTAssertEqual(pow(alphaNext / alphaDown * down, 2) + renoise * renoise, next * next, accuracy: 1e-12)
        }
    }
}
