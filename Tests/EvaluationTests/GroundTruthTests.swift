import XCTest
import Shapes
@testable import Evaluation

/// The detector on the renderer's own images: the acceptance tests.
final class GroundTruthTests: XCTestCase {
    static let cases = PromptSets.geneval()

    func report(resolution: Int, seeds: [UInt64], pairing: Pairing = .matched) throws -> BenchmarkReport {
        var benchmark = Benchmark(seeds: seeds)
        benchmark.pairing = pairing
        return try benchmark.run(Self.cases, generator: GroundTruthGenerator(resolution: resolution))
    }

    /// ≥ 0.98 overall and ≥ 0.95 on every task; failures printed for diagnosis.
    func assertDetectorPasses(resolution: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let report = try report(resolution: resolution, seeds: [0, 1])
        print("ground truth \(resolution)×\(resolution):\n" + report.table())
        for result in report.results.filter({ !$0.passed }).prefix(30) {
            print("failed [\(result.benchmarkCase.task.rawValue)] \(result.benchmarkCase.prompt) seed \(result.seed): "
                  + "\(result.verdict.why) | detected \(result.detected.map(\.label))")
        }
        XCTAssertGreaterThanOrEqual(report.overall, 0.98, file: file, line: line)
        for task in BenchmarkTask.geneval {
            XCTAssertGreaterThanOrEqual(report.tally(task).score, 0.95, task.rawValue, file: file, line: line)
        }
    }

    func testGroundTruthAt64() throws { try assertDetectorPasses(resolution: 64) }

    func testGroundTruthAt32() throws { try assertDetectorPasses(resolution: 32) }

    func testShuffledPromptsScoreNearChance() throws {
        let report = try report(resolution: 64, seeds: [0], pairing: .shuffled(seed: 7))
        print("shuffled prompts 64×64:\n" + report.table())
        XCTAssertTrue(report.results.allSatisfy { $0.imagePrompt != nil })
        XCTAssertLessThan(report.overall, 0.35)
    }

    func testReportIsReproducible() throws {
        let cases = Array(Self.cases.prefix(30))
        let first = try Benchmark(seeds: [3]).run(cases, generator: GroundTruthGenerator()).json().serialized()
        let second = try Benchmark(seeds: [3]).run(cases, generator: GroundTruthGenerator()).json().serialized()
        XCTAssertEqual(first, second)
    }
}
