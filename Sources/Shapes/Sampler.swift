import Foundation

/// How often each kind of scene is drawn: one object, several of one kind (counting), two kinds
/// without a relation (pair) and with one, lists of three or four. Relative weights.
public struct Compositions: Codable, Equatable, Sendable {
    public var single = 0.25, counting = 0.15, pair = 0.2, relation = 0.25, list = 0.15
    public init() {}
    public init(single: Double, counting: Double, pair: Double, relation: Double, list: Double) {
        self.single = single; self.counting = counting; self.pair = pair; self.relation = relation; self.list = list
    }
    var all: [Double] { [single, counting, pair, relation, list] }
    /// Why these weights cannot be drawn from, or nil.
    public var problem: String? {
        guard all.allSatisfy({ $0.isFinite && $0 >= 0 }) else { return "composition weights must be finite and not negative" }
        guard all.reduce(0, +) > 0 else { return "composition weights must not all be zero" }
        return nil
    }
}

/// The distribution of scene descriptions the model is trained on: one object, several of one kind
/// (counting), two kinds with or without a relation, and lists of three or four (the form the
/// positional-bias probe uses). At most `maxObjects` objects in all.
public struct SceneSampler: Sendable {
    public var policy: CombinationPolicy
    public var maxObjects = 4
    /// Weights of the composition kinds.
    public var compositions = Compositions()
    /// Chance that a group names its color, and that it names a size (small or large).
    public var colorRate = 0.85, sizeRate = 0.4

    public init(policy: CombinationPolicy = .training) { self.policy = policy }

    public func description(using rng: inout SplitMix64) -> SceneDescription {
        enum Kind { case single, counting, pair, relation, list }
        let w = compositions
        switch rng.pick(weighted: [(Kind.single, w.single), (.counting, w.counting), (.pair, w.pair), (.relation, w.relation), (.list, w.list)]) {
        case .single:
            return SceneDescription(groups: groups(counts: [1], using: &rng))
        case .counting:
            return SceneDescription(groups: groups(counts: [rng.int(in: 2...maxObjects)], using: &rng))
        case .pair:
            return SceneDescription(groups: groups(counts: pairCounts(using: &rng), using: &rng))
        case .relation:
            let relation = GroupRelation(subject: 0, relation: rng.pick(Relation.allCases), object: 1)
            return SceneDescription(groups: groups(counts: pairCounts(using: &rng), using: &rng), relation: relation)
        case .list:
            return SceneDescription(groups: groups(counts: Array(repeating: 1, count: rng.int(in: 3...maxObjects)), using: &rng))
        }
    }

    private func pairCounts(using rng: inout SplitMix64) -> [Int] {
        guard rng.chance(0.25) else { return [1, 1] }
        return rng.chance(0.5) ? [2, 1] : [1, 2]
    }

    /// Groups with the given counts and distinct shapes, so that no object could be read as part of
    /// another group.
    public func groups(counts: [Int], using rng: inout SplitMix64) -> [ObjectGroup] {
        let shapes = rng.shuffled(ShapeKind.allCases).prefix(counts.count)
        return zip(shapes, counts).map { shape, count in
            let colors = Palette.colors.filter { policy.allows(color: $0, shape: shape) }
            let color: PaletteColor? = rng.chance(colorRate) && !colors.isEmpty ? rng.pick(colors) : nil
            let size: Size? = rng.chance(sizeRate) ? rng.pick([Size.small, .large]) : nil
            return ObjectGroup(shape: shape, color: color, count: count, size: size)
        }
    }
}

/// One training example: a caption, what it says, and the picture.
public struct ShapesExample: Sendable {
    public var caption: String
    public var description: SceneDescription
    public var scene: SceneSpec
    public var image: FloatImage
}

/// The procedural training set: example `index` of `seed` is the same on every machine and every
/// run, so training can resume anywhere. Held-out (color, shape) pairs never appear in it.
public struct ShapesDataset: Sendable {
    public var seed: UInt64
    public var resolution: Int
    public var sampler = SceneSampler(policy: .training)
    public var layout = SceneLayout()
    public var grammar = CaptionGrammar()
    public var rasterizer = Rasterizer()

    public init(seed: UInt64 = 0, resolution: Int = 64) {
        self.seed = seed; self.resolution = resolution
    }

    public func example(_ index: Int) -> ShapesExample {
        var rng = SplitMix64(seed: seed, index: UInt64(index))
        while true {
            let description = sampler.description(using: &rng)
            // A description that cannot be laid out (four large crosses and a relation, say) is
            // rare; draw another rather than bend the layout rules.
            guard let scene = try? layout.scene(for: description, policy: sampler.policy, using: &rng) else { continue }
            let caption = grammar.caption(for: description, using: &rng)
            return ShapesExample(caption: caption, description: description, scene: scene,
                                 image: rasterizer.render(scene, width: resolution, height: resolution))
        }
    }
}
