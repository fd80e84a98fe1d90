import XCTest
import Shapes
@testable import Evaluation

/// The committed prompt sets under `benchmarks/`.
final class PromptSetTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("benchmarks")

    func read(_ name: String) throws -> [BenchmarkCase] {
        try PromptFile.read(path: Self.directory.appendingPathComponent(name).path)
    }

    func testMainSetHasAHundredVariedPromptsPerTaskAndNoHeldOutPair() throws {
        let cases = try read("shapes-geneval.jsonl")
        for task in BenchmarkTask.geneval {
            let prompts = cases.filter { $0.task == task }.map(\.prompt)
            XCTAssertGreaterThanOrEqual(prompts.count, 100, task.rawValue)
            XCTAssertEqual(Set(prompts.map { $0.lowercased() }).count, prompts.count, "\(task.rawValue) has duplicates")
        }
        for benchmarkCase in cases {
            for group in benchmarkCase.objects {
                if let color = group.color { XCTAssertFalse(HeldOut.contains(color: color, shape: group.shape), benchmarkCase.prompt) }
            }
        }
        // Varied phrasings: openings, clauses, both directions of a relation.
        let prompts = cases.map { $0.prompt.lowercased() }
        for phrase in ["a photo of", "there is", "that is", "right of", "left of", "above", "below", "on the left", "three"] {
            XCTAssertTrue(prompts.contains { $0.contains(phrase) }, phrase)
        }
    }

    func testHeldOutSetUsesOnlyHeldOutPairs() throws {
        let cases = try read("shapes-heldout.jsonl")
        XCTAssertGreaterThanOrEqual(cases.count, 100)
        for benchmarkCase in cases {
            for group in benchmarkCase.objects {
                let color = try XCTUnwrap(group.color, benchmarkCase.prompt)
                XCTAssertTrue(HeldOut.contains(color: color, shape: group.shape), benchmarkCase.prompt)
            }
        }
    }

    func testProbeSetListsThreeOrFourColoredSegmentsInPromptOrder() throws {
        let cases = try read("shapes-position-probe.jsonl")
        XCTAssertGreaterThanOrEqual(cases.count, 100)
        for benchmarkCase in cases {
            XCTAssertEqual(benchmarkCase.task, .positionalBias)
            XCTAssertTrue((3...4).contains(benchmarkCase.objects.count))
            let offsets = benchmarkCase.objects.map { group in
                benchmarkCase.prompt.range(of: "\(group.color!.rawValue) \(group.shape.rawValue)")!.lowerBound
            }
            XCTAssertEqual(offsets, offsets.sorted(), benchmarkCase.prompt)
        }
    }

    func testGeneratorIsDeterministic() {
        XCTAssertEqual(PromptSets.geneval(perTask: 20), PromptSets.geneval(perTask: 20))
        XCTAssertEqual(PromptSets.positionalBias(count: 20), PromptSets.positionalBias(count: 20))
    }

    /// Ground truth on the probe: every segment found, whatever its place.
    func testProbeOnGroundTruth() throws {
        let report = try Benchmark(seeds: [0]).run(Array(try read("shapes-position-probe.jsonl").prefix(60)), generator: GroundTruthGenerator())
        for (_, positions) in report.positionalBias {
            for (_, tally) in positions { XCTAssertEqual(tally.score, 1) }
        }
        XCTAssertTrue(report.table().contains("positional bias"))
    }
}
