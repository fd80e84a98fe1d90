import XCTest
import Shapes
@testable import Evaluation

/// A generator's images are never exact renders: the detector must degrade gracefully under mild
/// blur, noise and color drift.
final class RobustnessTests: XCTestCase {
    struct Perturbed: ImageGenerator {
        var base: GroundTruthGenerator
        var blur: Bool
        var noise: Float
        var drift: Float

        func generate(_ benchmarkCase: BenchmarkCase, seeds: [UInt64]) throws -> [FloatImage] {
            try seeds.map { try generate(benchmarkCase, seed: $0) }
        }

        func generate(_ benchmarkCase: BenchmarkCase, seed: UInt64) throws -> FloatImage {
            var image = try base.generate(benchmarkCase, seed: seed)
            if blur { image = boxBlur(image) }
            var rng = SplitMix64(seed: seed, index: stableHash(benchmarkCase.prompt) ^ 0xABCD)
            let shift = SIMD3<Float>(Float(rng.double(in: -1...1)), Float(rng.double(in: -1...1)), Float(rng.double(in: -1...1))) * drift
            for i in image.pixels.indices {
                // Box–Muller normal noise.
                let u1 = max(rng.unit(), 1e-12), u2 = rng.unit()
                let n = Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
                image.pixels[i] = min(1, max(0, image.pixels[i] + noise * n + shift[i % 3]))
            }
            return image
        }

        /// 3×3 binomial blur ([1 2 1] ⊗ [1 2 1] / 16), edges clamped.
        func boxBlur(_ image: FloatImage) -> FloatImage {
            var out = image
            let w = image.width, h = image.height
            for y in 0..<h {
                for x in 0..<w {
                    var sum = SIMD3<Float>(repeating: 0)
                    for dy in -1...1 {
                        for dx in -1...1 {
                            let weight = Float((2 - abs(dx)) * (2 - abs(dy)))
                            sum += weight * image[min(w - 1, max(0, x + dx)), min(h - 1, max(0, y + dy))]
                        }
                    }
                    out[x, y] = sum / 16
                }
            }
            return out
        }
    }

    func score(resolution: Int, blur: Bool, noise: Float, drift: Float) throws -> BenchmarkReport {
        let generator = Perturbed(base: GroundTruthGenerator(resolution: resolution), blur: blur, noise: noise, drift: drift)
        return try Benchmark(seeds: [0]).run(GroundTruthTests.cases, generator: generator)
    }

    func testMildBlurNoiseAndDriftAt64() throws {
        let report = try score(resolution: 64, blur: true, noise: 0.03, drift: 0.04)
        print("ground truth 64×64, blurred + noise 0.03 + drift 0.04:\n" + report.table())
        var shown = 0
        for result in report.results where !result.passed && shown < 25 {
            shown += 1
            print("FAIL [\(result.benchmarkCase.task.rawValue)] \(result.benchmarkCase.prompt): \(result.verdict.why) | \(result.detected.map { "\($0.label) fit \(String(format: "%.2f", $0.shapeFit))" })")
        }
        XCTAssertGreaterThanOrEqual(report.overall, 0.95)
    }

    func testNoiseAndDriftAt32() throws {
        let report = try score(resolution: 32, blur: false, noise: 0.03, drift: 0.04)
        print("ground truth 32×32, noise 0.03 + drift 0.04:\n" + report.table())
        XCTAssertGreaterThanOrEqual(report.overall, 0.95)
    }

    /// A 3×3 blur at 32×32 smears a small shape (5–6 pixels across) by a third of its width; rings
    /// fill in and stars lose their points, so this is a graceful-degradation check, not a bar.
    func testMildBlurNoiseAndDriftAt32() throws {
        let report = try score(resolution: 32, blur: true, noise: 0.03, drift: 0.04)
        print("ground truth 32×32, blurred + noise 0.03 + drift 0.04:\n" + report.table())
        XCTAssertGreaterThanOrEqual(report.overall, 0.8)
    }
}
