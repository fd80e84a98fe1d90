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
