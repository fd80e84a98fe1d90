import Foundation
import Shapes

/// Makes the images a benchmark case is scored on, one per seed, all seeds of a case in one call
/// (a model encodes the prompt once). A model-backed generator must read only
/// `benchmarkCase.prompt` and the seeds: the structured fields are the answer key.
public protocol ImageGenerator {
    func generate(_ benchmarkCase: BenchmarkCase, seeds: [UInt64]) throws -> [FloatImage]
}

/// Renders each case's own description: `lidit eval --ground-truth`, which measures the detector
/// and the rules rather than a model. The layout is seeded by the prompt and the seed.
public struct GroundTruthGenerator: ImageGenerator, Sendable {
    public var resolution: Int
    public var layout = SceneLayout()
    public var rasterizer = Rasterizer()

    public init(resolution: Int = 64) { self.resolution = resolution }

    public func scene(for benchmarkCase: BenchmarkCase, seed: UInt64) throws -> SceneSpec {
        var rng = SplitMix64(seed: seed, index: stableHash(benchmarkCase.prompt))
        return try layout.scene(for: benchmarkCase.description, policy: .any, using: &rng)
    }

    public func generate(_ benchmarkCase: BenchmarkCase, seed: UInt64) throws -> FloatImage {
        rasterizer.render(try scene(for: benchmarkCase, seed: seed), width: resolution, height: resolution)
    }

    public func generate(_ benchmarkCase: BenchmarkCase, seeds: [UInt64]) throws -> [FloatImage] {
        try seeds.map { try generate(benchmarkCase, seed: $0) }
    }
}

/// FNV-1a over UTF-8: a hash that, unlike `hashValue`, is the same in every process.
public func stableHash(_ text: String) -> UInt64 {
    text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
}

/// One scored image.
public struct CaseResult: Sendable {
    public var benchmarkCase: BenchmarkCase
    public var seed: UInt64
    public var verdict: Verdict
    public var detected: [DetectedObject]
    /// When prompts are shuffled against images: the prompt the image was generated for.
    public var imagePrompt: String?
    /// Where the image was saved, if it was.
    public var imagePath: String?

    public var passed: Bool { verdict.passed }
}

/// How images are paired with the prompts they are scored against.
public enum Pairing: Sendable {
    /// Each image against its own prompt.
    case matched
    /// Each image against another case's prompt (a random cyclic permutation, so never its own):
    /// a detector that is not fooled scores near chance.
    case shuffled(seed: UInt64)
}

/// Generates, detects and scores every case × seed.
public struct Benchmark {
    public var seeds: [UInt64]
    public var detector = Detector()
    public var pairing = Pairing.matched

    public init(seeds: [UInt64] = [0, 1, 2, 3]) { self.seeds = seeds }

    /// - Parameters:
    ///   - progress: called after each image with (done, total).
    ///   - keep: called with each result and its image; returns where it saved the image, or nil.
    public func run(_ cases: [BenchmarkCase], generator: ImageGenerator,
                    progress: ((Int, Int) -> Void)? = nil,
                    keep: ((CaseResult, FloatImage) throws -> String?)? = nil) throws -> BenchmarkReport {
        let source = imageSources(count: cases.count)
        let total = cases.count * seeds.count
        var results: [CaseResult] = []
        results.reserveCapacity(total)
        for (index, scored) in cases.enumerated() {
            let drawn = cases[source[index]]
            let images: Result<[FloatImage], Error> = Result {
                let generated = try generator.generate(drawn, seeds: seeds)
                guard generated.count == seeds.count else { throw BenchmarkError("\(generated.count) pictures for \(seeds.count) seeds") }
                return generated
            }
            for (i, seed) in seeds.enumerated() {
                var result: CaseResult
                var image: FloatImage?
                switch images {
                case .success(let generated):
                    let detected = detector.detect(generated[i])
                    result = CaseResult(benchmarkCase: scored, seed: seed, verdict: GenEvalRules.score(scored, detected: detected),
                                        detected: detected)
                    image = generated[i]
                case .failure(let error):
                    result = CaseResult(benchmarkCase: scored, seed: seed,
                                        verdict: Verdict(passed: false, why: "generation failed: \(error)"), detected: [])
                }
                if source[index] != index { result.imagePrompt = drawn.prompt }
                if let keep, let image { result.imagePath = try keep(result, image) }
                results.append(result)
                progress?(results.count, total)
            }
        }
        return BenchmarkReport(results: results, seeds: seeds)
    }

    /// For case i, the index of the case whose image it is scored on.
    private func imageSources(count: Int) -> [Int] {
        guard case .shuffled(let seed) = pairing, count > 1 else { return Array(0..<count) }
        // Sattolo's algorithm: a uniformly random single cycle, hence no fixed points.
        var rng = SplitMix64(seed: seed)
        var permutation = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { permutation.swapAt(i, rng.int(below: i)) }
        return permutation
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
