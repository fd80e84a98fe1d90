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

    /// The three hand-written phrasing sets: every GenEval task well represented, each case shaped
    /// as its task asks (GenEval's rules score only the fields, so a two-object case naming one
    /// shape twice would pass with one shape drawn), no prompt twice, none from the main set, no
    /// held-out pair; and a sample of cases drawn from their own fields passes (the layout can
    /// place every count and relation they ask for).
    func testPhrasingSetsAreBalancedAndWellFormed() throws {
        let main = Set(try read("shapes-geneval.jsonl").map { $0.prompt.lowercased() })
        for name in ["shapes-phrasing.jsonl", "shapes-phrasing-2.jsonl", "shapes-phrasing-3.jsonl"] {
            let cases = try read(name)
            for task in BenchmarkTask.geneval {
                XCTAssertGreaterThanOrEqual(cases.filter { $0.task == task }.count, 55, "\(name) \(task.rawValue)")
            }
            let prompts = cases.map { $0.prompt.lowercased() }
            XCTAssertEqual(Set(prompts).count, prompts.count, "\(name) has duplicates")
            XCTAssertTrue(main.isDisjoint(with: prompts), "\(name) repeats a main-set prompt")
            for benchmarkCase in cases {
                let groups = benchmarkCase.objects, what = "\(name): \(benchmarkCase.prompt)"
                let colors = groups.compactMap(\.color)
                for group in groups {
                    if let color = group.color { XCTAssertFalse(HeldOut.contains(color: color, shape: group.shape), what) }
                }
                XCTAssertEqual(Set(groups.map(\.shape)).count, groups.count, "one shape named twice: \(what)")
                XCTAssertEqual(Set(colors).count, colors.count, "one color named twice: \(what)")
                switch benchmarkCase.task {
                case .singleObject: XCTAssertTrue(groups.count == 1 && groups[0].count == 1 && colors.isEmpty, what)
                case .twoObject: XCTAssertTrue(groups.count == 2 && colors.isEmpty && benchmarkCase.relation == nil, what)
                case .counting: XCTAssertTrue(groups.count == 1 && (2...4).contains(groups[0].count), what)
                case .colors: XCTAssertTrue(groups.count == 1 && colors.count == 1, what)
                case .position: XCTAssertTrue(groups.count == 2 && benchmarkCase.relation != nil && colors.count != 1, what)
                case .colorAttribute: XCTAssertTrue(groups.count == 2 && colors.count == 2 && benchmarkCase.relation == nil, what)
                default: XCTFail("not a GenEval task: \(what)")
                }
            }
            let sample = cases.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
            let report = try Benchmark(seeds: [0]).run(sample, generator: GroundTruthGenerator())
            XCTAssertEqual(report.overall, 1, name)
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
