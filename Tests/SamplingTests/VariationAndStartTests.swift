import Kernels
import XCTest
@testable import Sampling

/// A1111's variation seed (slerp of two seeds' noise) and img2img starts part-way down the schedule.
final class VariationAndStartTests: XCTestCase {
    func testVariationNoiseEnds() {
        let n = 257
        let own = Sampler.noise(seeds: [3, 4], elementsPerRow: n)
        let other = Sampler.noise(seeds: [9, 10], elementsPerRow: n)
        XCTAssertEqual(Sampler.variationNoise(seeds: [3, 4], variationSeeds: [9, 10], strength: 0, elementsPerRow: n), own,
                       "strength 0 is the seed's own noise, bit for bit")
        XCTAssertEqual(Sampler.variationNoise(seeds: [3, 4], variationSeeds: [9, 10], strength: 1, elementsPerRow: n), other,
                       "strength 1 is the variation seed's noise, bit for bit")
        // In between: on the great circle, so the norm stays that of noise (a plain average would
        // shrink it by about √2 at 0.5), and nearer the own noise at a small strength.
        let half = Sampler.variationNoise(seeds: [3, 4], variationSeeds: [9, 10], strength: 0.5, elementsPerRow: n)
        func norm(_ v: ArraySlice<Float>) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        for r in 0..<2 {
            let rows = (r * n)..<((r + 1) * n)
            let expected = (norm(own[rows]) + norm(other[rows])) / 2
            XCTAssertEqual(norm(half[rows]), expected, accuracy: 0.05 * expected)
        }
        let small = Sampler.variationNoise(seeds: [3], variationSeeds: [9], strength: 0.1, elementsPerRow: n)
        func distance(_ a: [Float], _ b: ArraySlice<Float>) -> Double { zip(a, b).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } }
        XCTAssertLessThan(distance(small, own[0..<n]), distance(small, other[0..<n]) / 10)
    }

    func testStartStepAndNoising() throws {
        let s = try Sampler(settings: SamplerSettings(sampler: .euler, steps: 24))
        XCTAssertEqual(s.startStep(strength: 1), 0)
        XCTAssertEqual(s.startStep(strength: 0), 24)
        XCTAssertEqual(s.startStep(strength: 0.2), 19, "0.2 of 24 steps, rounded: the last 5")
        XCTAssertEqual(s.schedule.sigmas[19], 5.0 / 24, accuracy: 1e-12)
        XCTAssertEqual(Sampler.noised([1, -1], noise: [0, 2], sigma: 0.25), [0.75, -0.25])
    }

    /// Starting at step k from the sample a full run had reached there gives the full run's
    /// result (one-step samplers keep no history), and the callback counts the steps that run.
    func testStartingPartWayContinuesTheRun() throws {
        let n = 48, k = 4
        for kind in [SamplerKind.euler, .heun] {
            let s = try Sampler(settings: SamplerSettings(sampler: kind, steps: 10, guidanceScale: 3))
            let full = try s.sample(toyNetwork(), seeds: [5], elementsPerRow: n)
            let head = Run(denoiser: toyNetwork(), guidance: Guidance(scale: 3, rescale: 0, interval: .always),
                           sigmas: Array(s.schedule.sigmas[0...k]), seeds: [5], elementsPerRow: n, onStep: nil)
            let start = Sampler.noise(seeds: [5], elementsPerRow: n)
            let reached = kind == .euler ? try head.euler(start) : try head.heun(start)
            var seen: [Int] = []
            let rest = try s.sample(toyNetwork(), from: reached, seeds: [5], elementsPerRow: n, startStep: k) { info in
                seen.append(info.step); return true
            }
            XCTAssertEqual(seen, Array(0..<(10 - k)), "\(kind)")
            XCTAssertEqual(rest, full, "\(kind)")
            XCTAssertThrowsError(try s.sample(toyNetwork(), from: full, seeds: [5], elementsPerRow: n, startStep: 10))
        }
    }
}
