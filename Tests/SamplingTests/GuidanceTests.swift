import XCTest
@testable import Sampling

/// A toy clean-image network whose conditional and unconditional predictions differ:
/// conditional `0.8·x + 0.3 + 0.5·row·x`, unconditional `0.5·x − 0.2` (per sample row).
func toyNetwork(_ prediction: Prediction = .cleanImage, calls: Counter? = nil,
                alwaysConditional: Bool = false) -> Denoiser {
    Denoiser(prediction: prediction) { input in
        calls?.record(input)
        let n = input.elementsPerRow
        var out = [Float](repeating: 0, count: input.x.count)
        for row in 0..<input.rows {
            let sample = Float(row % input.batch)
            for k in row * n..<(row + 1) * n {
                let x = input.x[k]
                let clean = input.isUnconditional(row: row) && !alwaysConditional
                    ? 0.5 * x - 0.2 : 0.8 * x + 0.3 + 0.5 * sample * x
                out[k] = prediction == .cleanImage ? clean : (x - clean) / Float(input.sigma)
            }
        }
        return out
    }
}

final class GuidanceTests: XCTestCase {
    let n = 48
    let seeds: [UInt64] = [1, 2]

    func settings(_ sampler: SamplerKind = .euler, steps: Int = 1, scale: Double, rescale: Double = 0,
                  interval: GuidanceInterval = .always) -> SamplerSettings {
        SamplerSettings(sampler: sampler, steps: steps, guidanceScale: scale, guidanceRescale: rescale,
                        guidanceInterval: interval)
    }

    /// One Euler step from σ = 1 to 0 returns the guided x̂0 at the starting noise exactly.
    func guidedEstimate(scale: Double, rescale: Double = 0, prediction: Prediction = .cleanImage) throws -> [Float] {
        try Sampler(settings: settings(scale: scale, rescale: rescale))
            .sample(toyNetwork(prediction), seeds: seeds, elementsPerRow: n)
    }

    func testScaleOneIsTheConditionalPredictionWithoutUnconditionalCalls() throws {
        for kind in SamplerKind.allCases {
            let counter = Counter()
            let s = try Sampler(settings: settings(kind, steps: 6, scale: 1))
            let guided = try s.sample(toyNetwork(calls: counter), seeds: seeds, elementsPerRow: n)
            let conditional = try s.sample(toyNetwork(alwaysConditional: true), seeds: seeds, elementsPerRow: n)
            XCTAssertEqual(guided, conditional, "\(kind)")
            XCTAssertEqual(counter.guidedCalls, 0, "\(kind)")
            XCTAssertEqual(counter.calls, kind.modelEvaluations(steps: 6), "\(kind)")
            XCTAssertEqual(Set(counter.rowCounts), [seeds.count], "\(kind)")
        }
    }

    func testPlainGuidanceFormula() throws {
        let x = Sampler.noise(seeds: seeds, elementsPerRow: n)
        for scale in [0.0, 3.0, 7.5] {
            let counter = Counter()
            let out = try Sampler(settings: settings(scale: scale))
                .sample(toyNetwork(calls: counter), seeds: seeds, elementsPerRow: n)
            XCTAssertEqual(counter.calls, 1)
            XCTAssertEqual(counter.rowCounts, [2 * seeds.count], "one call with cond and uncond rows")
            for k in x.indices {
                let row = Float(k / n)
                let c = 0.8 * x[k] + 0.3 + 0.5 * row * x[k], u = 0.5 * x[k] - 0.2
                XCTAssertEqual(out[k], u + Float(scale) * (c - u), accuracy: 1e-5)
            }
        }
    }

    /// Guidance on x̂0 equals guidance on v at fixed x and σ.
    func testGuidanceIsTheSameForVelocityModels() throws {
        let s = try Sampler(settings: settings(.heun, steps: 8, scale: 4, rescale: 0.7))
        let a = try s.sample(toyNetwork(.cleanImage), seeds: seeds, elementsPerRow: n)
        let b = try s.sample(toyNetwork(.velocity), seeds: seeds, elementsPerRow: n)
        XCTAssertLessThan(maxAbsDifference(a, b.map(Double.init)), 1e-4)
    }

    func testRescale() throws {
        let x = Sampler.noise(seeds: seeds, elementsPerRow: n)
        let plain = try guidedEstimate(scale: 5)
        XCTAssertEqual(try guidedEstimate(scale: 5, rescale: 0), plain, "φ = 0 is plain guidance")
        let full = try guidedEstimate(scale: 5, rescale: 1)
        let half = try guidedEstimate(scale: 5, rescale: 0.5)
        XCTAssertNotEqual(full, plain)
        for row in 0..<seeds.count {
            let range = row * n..<(row + 1) * n
            // φ = 1: the guided velocity (here at σ = 1: x − x̂0) has the conditional one's std, per sample.
            let conditional = range.map { k in Double(x[k] - (0.8 * x[k] + 0.3 + 0.5 * Float(row) * x[k])) }
            let rescaled = range.map { k in Double(x[k] - full[k]) }
            XCTAssertEqual(standardDeviation(rescaled), standardDeviation(conditional), accuracy: 1e-4 * standardDeviation(conditional))
            // The mix is linear in φ.
            for k in range { XCTAssertEqual(half[k], 0.5 * (plain[k] + full[k]), accuracy: 1e-5) }
        }
        // Rows are rescaled separately: their conditional stds differ, so do their factors.
        let factors = (0..<seeds.count).map { row in (x[row * n] - full[row * n]) / (x[row * n] - plain[row * n]) }
        XCTAssertGreaterThan(abs(factors[0] - factors[1]), 0.01)
    }

    func testIntervalSkipsTheUnconditionalPassOutsideIt() throws {
        let interval = GuidanceInterval(low: 0.25, high: 0.75)
        let counter = Counter()
        var first: [Float] = []
        let s = try Sampler(settings: settings(steps: 10, scale: 3, interval: interval))
        _ = try s.sample(toyNetwork(calls: counter), seeds: seeds, elementsPerRow: n) { info in
            if info.step == 0 { first = info.denoised }
            return true
        }
        XCTAssertEqual(counter.calls, 10)
        XCTAssertEqual(counter.guidedCalls, 5, "σ = 0.7, 0.6, 0.5, 0.4, 0.3")
        for (sigma, rows) in zip(counter.sigmas, counter.rowCounts) {
            XCTAssertEqual(rows, interval.contains(sigma) ? 4 : 2, "σ = \(sigma)")
        }
        // At σ = 1, outside the interval, the step used the conditional prediction alone.
        let x = Sampler.noise(seeds: seeds, elementsPerRow: n)
        for k in x.indices { XCTAssertEqual(first[k], 0.8 * x[k] + 0.3 + 0.5 * Float(k / n) * x[k]) }

        // Heun evaluates at σ_{i+1} too; each evaluation decides on its own σ.
        let heunCounter = Counter()
        _ = try Sampler(settings: settings(.heun, steps: 10, scale: 3, interval: interval))
            .sample(toyNetwork(calls: heunCounter), seeds: seeds, elementsPerRow: n)
        XCTAssertEqual(heunCounter.calls, 19)
        XCTAssertEqual(heunCounter.guidedCalls, heunCounter.sigmas.filter { interval.contains($0) }.count)
        XCTAssertEqual(heunCounter.guidedCalls, 10, "σ = 0.7…0.3 as first and as second evaluation")
    }
}
