import Foundation
import Shapes

/// The committed prompt sets (`benchmarks/*.jsonl`), made with a fixed seed so that rerunning the
/// generator gives the same files. Prompts are phrased by the training grammar (so they vary the
/// way captions do) and de-duplicated ignoring case and a final period.
public enum PromptSets {
    /// GenEval's `create_prompts.py` seed.
    public static let seed: UInt64 = 43

    public static let files = ["shapes-geneval.jsonl", "shapes-heldout.jsonl", "shapes-position-probe.jsonl"]

    /// GenEval's six tasks over the training combinations (held-out pairs excluded).
    public static func geneval(perTask: Int = 100, seed: UInt64 = seed) -> [BenchmarkCase] {
        BenchmarkTask.geneval.flatMap { cases(for: $0, policy: .training, count: perTask, seed: seed) }
    }

    /// Only held-out (color, shape) pairs: the tasks that name colors (colors, color_attr, and
    /// colored position and counting prompts).
    public static func heldOut(perTask: Int = 100, seed: UInt64 = seed) -> [BenchmarkCase] {
        [BenchmarkTask.counting, .colors, .position, .colorAttribute].flatMap {
            cases(for: $0, policy: .heldOutOnly, count: perTask, seed: seed)
        }
    }

    /// LI-DiT's positional-bias probe: 3–4 "color shape" segments with distinct colors and shapes,
    /// listed in prompt order.
    public static func positionalBias(count: Int = 200, seed: UInt64 = seed) -> [BenchmarkCase] {
        var rng = SplitMix64(seed: seed, index: 99)
        return unique(count: count) {
            let groups = probeDescription(using: &rng).groups
            let segments = groups.map { group -> String in
                let words = "\(group.color!.rawValue) \(group.shape.rawValue)"
                return CaptionGrammar.indefiniteArticle(before: words) + " " + words
            }
            let comma = rng.chance(0.5) ? "," : ""
            let opening = rng.pick(weighted: [("", 0.6), ("a photo of ", 0.2), ("a picture of ", 0.2)])
            let prompt = opening + segments.dropLast().joined(separator: ", ") + comma + " and " + segments.last!
            return BenchmarkCase(prompt: prompt, task: .positionalBias, objects: groups)
        }
    }

    static func probeDescription(using rng: inout SplitMix64) -> SceneDescription {
        let shapes = rng.shuffled(ShapeKind.allCases).prefix(rng.int(in: 3...4))
        var colors = rng.shuffled(Palette.colors)
        return SceneDescription(groups: shapes.map { shape in
            let color = colors.first { CombinationPolicy.training.allows(color: $0, shape: shape) }!
            colors.removeAll { $0 == color }
            return ObjectGroup(shape: shape, color: color)
        })
    }

    /// Writes the three sets into `directory`; returns the paths written.
    @discardableResult
    public static func write(to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let sets = [geneval(), heldOut(), positionalBias()]
        return try zip(files, sets).map { name, cases in
            let path = (directory as NSString).appendingPathComponent(name)
            try PromptFile.write(cases, to: path)
            return path
        }
    }

    // MARK: building

    static func cases(for task: BenchmarkTask, policy: CombinationPolicy, count: Int, seed: UInt64) -> [BenchmarkCase] {
        var rng = SplitMix64(seed: seed, index: stableHash(task.rawValue) ^ (policy == .heldOutOnly ? 1 : 0))
        let grammar = CaptionGrammar()
        let layout = SceneLayout()
        return unique(count: count) {
            while true {
                let description = describe(task, policy: policy, using: &rng)
                // Only cases the ground-truth renderer can lay out.
                var probe = rng
                guard (try? layout.scene(for: description, using: &probe)) != nil else { continue }
                return BenchmarkCase(prompt: grammar.caption(for: description, using: &rng), task: task, description: description)
            }
        }
    }

    /// A random description for `task`, mirroring GenEval's templates: shapes distinct within a
    /// prompt, colors distinct in color_attr, counts 2–4 in counting. Sizes are named now and then
    /// (they are part of the domain's vocabulary); colors only where the task is about color, and in
    /// half of the position prompts (the prompt-file format's own example, "a red circle to the left of
    /// a blue square", names them).
    static func describe(_ task: BenchmarkTask, policy: CombinationPolicy, using rng: inout SplitMix64) -> SceneDescription {
        let colored = policy == .heldOutOnly
        func shapes(_ n: Int) -> [ShapeKind] { Array(rng.shuffled(ShapeKind.allCases).prefix(n)) }
        func size(_ rate: Double) -> Size? { rng.chance(rate) ? rng.pick([Size.small, .large]) : nil }
        func color(for shape: ShapeKind, excluding used: [PaletteColor] = []) -> PaletteColor {
            rng.pick(Palette.colors.filter { policy.allows(color: $0, shape: shape) && !used.contains($0) })
        }
        func pairWithColors(_ shapes: [ShapeKind]) -> [ObjectGroup] {
            let first = color(for: shapes[0])
            return [ObjectGroup(shape: shapes[0], color: first, size: size(0.15)),
                    ObjectGroup(shape: shapes[1], color: color(for: shapes[1], excluding: [first]), size: size(0.15))]
        }

        switch task {
        case .singleObject:
            return SceneDescription(groups: [ObjectGroup(shape: shapes(1)[0], size: size(0.3))])
        case .twoObject:
            return SceneDescription(groups: shapes(2).map { ObjectGroup(shape: $0, size: size(0.15)) })
        case .counting:
            let shape = shapes(1)[0]
            return SceneDescription(groups: [ObjectGroup(shape: shape, color: colored ? color(for: shape) : nil,
                                                         count: rng.int(in: 2...4), size: size(0.2))])
        case .colors:
            let shape = shapes(1)[0]
            return SceneDescription(groups: [ObjectGroup(shape: shape, color: color(for: shape), size: size(0.3))])
        case .position:
            let pair = shapes(2)
            let groups = colored || rng.chance(0.5) ? pairWithColors(pair) : pair.map { ObjectGroup(shape: $0) }
            return SceneDescription(groups: groups, relation: GroupRelation(subject: 0, relation: rng.pick(Relation.allCases), object: 1))
        case .colorAttribute:
            return SceneDescription(groups: pairWithColors(shapes(2)))
        case .positionalBias:
            return probeDescription(using: &rng)
        }
    }

    /// Draws until `count` distinct prompts (ignoring case and a final period).
    static func unique(count: Int, _ draw: () -> BenchmarkCase) -> [BenchmarkCase] {
        var seen = Set<String>(), result: [BenchmarkCase] = []
        var attempts = 0
        while result.count < count && attempts < count * 200 {
            attempts += 1
            let next = draw()
            var key = next.prompt.lowercased()
            if key.hasSuffix(".") { key.removeLast() }
            if seen.insert(key).inserted { result.append(next) }
        }
        return result
    }
}
