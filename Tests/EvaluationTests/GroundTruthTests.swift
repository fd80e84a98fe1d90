import XCTest
import Shapes
@testable import Evaluation

/// The detector on the renderer's own images: the acceptance tests. Heavy: run in release
/// (`swift test -c release -Xswiftc -enable-testing --filter EvaluationTests`).
final class GroundTruthTests: XCTestCase {
    static let cases = PromptSets.geneval()

    func report(resolution: Int, seeds: [UInt64], pairing: Pairing = .matched) throws -> BenchmarkReport {
        var benchmark = Benchmark(seeds: seeds)
        benchmark.pairing = pairing
        return try benchmark.run(Self.cases, generator: GroundTruthGenerator(resolution: resolution))
    }

    func testGroundTruthAt64() throws {
        let report = try report(resolution: 64, seeds: [0, 1])
        print("ground truth 64×64:\n" + report.table())
        for result in report.results where !result.passed {
            print("FAIL [\(result.benchmarkCase.task.rawValue)] \(result.benchmarkCase.prompt) seed \(result.seed): \(result.verdict.why) | \(result.detected.map(\.label))")
        }
        XCTAssertGreaterThanOrEqual(report.overall, 0.98)
        for task in BenchmarkTask.geneval {
            XCTAssertGreaterThanOrEqual(report.tally(task).score, 0.95, task.rawValue)
        }
    }

    func testGroundTruthAt32() throws {
        let report = try report(resolution: 32, seeds: [0, 1])
        print("ground truth 32×32:\n" + report.table())
        var shown = 0
        for result in report.results where !result.passed && shown < 40 {
            shown += 1
            print("FAIL32 [\(result.benchmarkCase.task.rawValue)] \(result.benchmarkCase.prompt) seed \(result.seed): \(result.verdict.why) | \(result.detected.map(\.label))")
        }
        XCTAssertGreaterThanOrEqual(report.overall, 0.9)
    }

    func testShuffledPromptsScoreNearChance() throws {
        let report = try report(resolution: 64, seeds: [0], pairing: .shuffled(seed: 7))
        print("shuffled prompts 64×64:\n" + report.table())
        XCTAssertTrue(report.results.allSatisfy { $0.imagePrompt != nil })
        XCTAssertLessThan(report.overall, 0.35)
    }
}
