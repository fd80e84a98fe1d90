import Foundation
import Shapes

/// Scores of one run: per task, overall, and the positional-bias bins.
public struct BenchmarkReport: Sendable {
    public var results: [CaseResult]
    public var seeds: [UInt64]

    public init(results: [CaseResult], seeds: [UInt64]) { self.results = results; self.seeds = seeds }

    public struct Tally: Sendable, Equatable {
        public var passed = 0, total = 0
        public var score: Double { total == 0 ? 0 : Double(passed) / Double(total) }

        /// Half-width of the Wilson 95% interval, to show how far apart two scores must be.
        public var margin95: Double {
            guard total > 0 else { return 0 }
            let n = Double(total), p = score, z = 1.96
            return z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
        }
    }

    /// Tasks present, in the canonical order.
    public var tasks: [BenchmarkTask] {
        BenchmarkTask.allCases.filter { task in results.contains { $0.benchmarkCase.task == task } }
    }

    public func tally(_ task: BenchmarkTask) -> Tally {
        var tally = Tally()
        for result in results where result.benchmarkCase.task == task {
            tally.total += 1
            if result.passed { tally.passed += 1 }
        }
        return tally
    }

    /// GenEval's overall: the unweighted mean of the task scores (of the six GenEval tasks present;
    /// of whatever tasks are present when none of the six is).
    public var overall: Double {
        let six = tasks.filter { BenchmarkTask.geneval.contains($0) }
        let counted = six.isEmpty ? tasks : six
        guard !counted.isEmpty else { return 0 }
        return counted.map { tally($0).score }.reduce(0, +) / Double(counted.count)
    }

    /// Positional-bias probe: per segment position (0 = first named), by number of segments.
    public var positionalBias: [Int: [Int: Tally]] {
        var bins: [Int: [Int: Tally]] = [:]   // [segments in prompt: [position: tally]]
        for result in results {
            guard let segments = result.verdict.segments else { continue }
            for (position, found) in segments.enumerated() {
                bins[segments.count, default: [:]][position, default: Tally()].total += 1
                if found { bins[segments.count]![position]!.passed += 1 }
            }
        }
        return bins
    }

    // MARK: text

    /// The per-task table, overall, and the positional-bias table when the run had probe cases.
    public func table() -> String {
        var lines = ["task               score    ±95%   passed/images"]
        for task in tasks {
            let t = tally(task)
            lines.append(pad(task.rawValue, 17) + format(t.score, 7) + format(t.margin95, 8) + "   \(t.passed)/\(t.total)")
        }
        lines.append(pad("overall", 17) + format(overall, 7))
        let bins = positionalBias
        if !bins.isEmpty {
            let counts = bins.keys.sorted()
            let ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
            lines.append("")
            lines.append("positional bias: segment found with its color, by place in the prompt")
            lines.append(pad("segment", 10) + counts.map { pad("\($0) segments", 13, left: true) }.joined() + pad("all", 9, left: true))
            for position in 0..<(counts.last ?? 0) {
                var all = Tally()
                var row = pad(position < ordinals.count ? ordinals[position] : "#\(position + 1)", 10)
                for n in counts {
                    if let t = bins[n]?[position] {
                        row += pad(String(format: "%.3f (%d)", t.score, t.total), 13, left: true)
                        all.passed += t.passed; all.total += t.total
                    } else {
                        row += pad("-", 13, left: true)
                    }
                }
                lines.append(row + pad(String(format: "%.3f", all.score), 9, left: true))
            }
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return left ? fill + s : s + fill
    }

    private func format(_ value: Double, _ width: Int) -> String {
        pad(String(format: "%.3f", value), width, left: true)
    }

    // MARK: JSON

    /// `{"overall": .., "tasks": {..}, "counts": {..}, "seeds": [..], "positional_bias": [..],
    /// "cases": [{"prompt", "task", "seed", "passed", "why", "detected", ...}]}`
    public func json() -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("overall", .double(rounded(overall))),
            ("tasks", .object(tasks.map { ($0.rawValue, .double(rounded(tally($0).score))) })),
            ("counts", .object(tasks.map { task in
                let t = tally(task)
                return (task.rawValue, .object([("passed", .int(t.passed)), ("images", .int(t.total))]))
            })),
            ("seeds", .array(seeds.map { .int(Int(truncatingIfNeeded: $0)) })),
        ]
        let bins = positionalBias
        if !bins.isEmpty {
            members.append(("positional_bias", .array(bins.keys.sorted().flatMap { n in
                bins[n]!.keys.sorted().map { position in
                    let t = bins[n]![position]!
                    return JSONValue.object([("segments", .int(n)), ("position", .int(position + 1)),
                                             ("score", .double(rounded(t.score))), ("images", .int(t.total))])
                }
            })))
        }
        members.append(("cases", .array(results.map(caseJSON))))
        return .object(members)
    }

    private func caseJSON(_ result: CaseResult) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("prompt", .string(result.benchmarkCase.prompt)),
            ("task", .string(result.benchmarkCase.task.rawValue)),
            ("seed", .int(Int(truncatingIfNeeded: result.seed))),
            ("passed", .bool(result.passed)),
            ("why", .string(result.verdict.why)),
            ("expected", result.benchmarkCase.json["objects"] ?? .null),
            ("relation", result.benchmarkCase.json["relation"] ?? .null),
            ("detected", .array(result.detected.map(objectJSON))),
        ]
        if let segments = result.verdict.segments { members.append(("segments", .array(segments.map { .bool($0) }))) }
        if let prompt = result.imagePrompt { members.append(("image_prompt", .string(prompt))) }
        if let path = result.imagePath { members.append(("image", .string(path))) }
        return .object(members)
    }

    private func objectJSON(_ object: DetectedObject) -> JSONValue {
        .object([
            ("shape", object.shape.map { .string($0.rawValue) } ?? .null),
            ("color", .string(object.color.rawValue)),
            ("size", .string(object.size.rawValue)),
            ("x", .double(rounded(object.x))), ("y", .double(rounded(object.y))),
            ("w", .double(rounded(object.box.width))), ("h", .double(rounded(object.box.height))),
            ("area", .double(rounded(object.area, 1))),
            ("shape_fit", .double(rounded(object.shapeFit))),
            ("color_distance", .double(rounded(object.colorDistance, 1))),
        ])
    }

    private func rounded(_ value: Double, _ digits: Int = 4) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }
}
