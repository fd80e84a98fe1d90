import Foundation

/// Places the objects of a description on the canvas so that what the description says is true of
/// the picture by construction: no two objects touch (boxes at least `gap` apart, so connected
/// components are objects), every object lies inside the canvas with a margin, and a stated relation
/// holds under GenEval's rule with room to spare (direction component beyond `relationThreshold`,
/// not just the rule's 0.5), so a detector that is a pixel off still agrees.
public struct SceneLayout: Sendable {
    public var margin = 0.03
    public var gap = 0.06
    public var relationThreshold = 0.62
    /// Attempts per object before starting the whole scene over, and scenes before giving up.
    public var attemptsPerObject = 60
    public var restarts = 3000
    /// Without a stated relation, lay the groups out left to right in the order the caption names
    /// them (each group's objects left of the next group's by `readingOrderGap`). Two shape words
    /// then have two places to bind to from the first, noisiest step, where a random layout leaves
    /// the model a symmetric choice it resolves by drawing one shape twice.
    public var readingOrder = false
    public var readingOrderGap = 0.05

    public init() {}

    public struct Infeasible: Error, CustomStringConvertible {
        public var description: String
    }

    /// A scene for `description`. Groups without a color get one per object, drawn from the colors
    /// `policy` allows with that shape.
    public func scene(for description: SceneDescription, policy: CombinationPolicy = .any,
                      using rng: inout SplitMix64) throws -> SceneSpec {
        // Colors first, so that the layout's retries never change them.
        var pending: [(group: Int, object: SceneObject)] = []
        for (index, group) in description.groups.enumerated() {
            for _ in 0..<group.count {
                let color = group.color ?? pickColor(for: group.shape, policy: policy, using: &rng)
                pending.append((index, SceneObject(shape: group.shape, color: color, size: group.size ?? .medium, x: 0, y: 0)))
            }
        }
        // Constrained objects first: they are the hardest to place.
        let related = description.relation.map { [$0.subject, $0.object] } ?? []
        let order = pending.indices.sorted { (related.contains(pending[$0].group) ? 0 : 1, $0) < (related.contains(pending[$1].group) ? 0 : 1, $1) }

        for _ in 0..<restarts {
            var placed: [Int: SceneObject] = [:]
            var failed = false
            for index in order {
                var object = pending[index].object
                var found = false
                for _ in 0..<attemptsPerObject {
                    let g = object.shape.unitGeometry, r = object.size.radius
                    let loX = margin - g.minX * r, hiX = 1 - margin - g.maxX * r
                    let loY = margin - g.minY * r, hiY = 1 - margin - g.maxY * r
                    guard loX < hiX, loY < hiY else { break }
                    object.x = rng.double(in: loX...hiX)
                    object.y = rng.double(in: loY...hiY)
                    if fits(object, group: pending[index].group, placed: placed, pending: pending, relation: description.relation) {
                        found = true
                        break
                    }
                }
                if !found { failed = true; break }
                placed[index] = object
            }
            if !failed { return SceneSpec(objects: pending.indices.map { placed[$0]! }) }
        }
        throw Infeasible(description: "no layout found for \(description.objectCount) objects")
    }

    private func fits(_ object: SceneObject, group: Int, placed: [Int: SceneObject],
                      pending: [(group: Int, object: SceneObject)], relation: GroupRelation?) -> Bool {
        let box = object.box
        for (index, other) in placed {
            let otherBox = other.box
            if box.overlaps(otherBox, gap: gap) { return false }
            let otherGroup = pending[index].group
            guard let relation else {
                if readingOrder && otherGroup != group {
                    let (left, right) = otherGroup < group ? (otherBox, box) : (box, otherBox)
                    if right.centerX - left.centerX < readingOrderGap { return false }
                }
                continue
            }
            if group == relation.subject && otherGroup == relation.object,
               !PositionRule.holds(relation.relation, of: box, to: otherBox, threshold: relationThreshold) {
                return false
            }
            if group == relation.object && otherGroup == relation.subject,
               !PositionRule.holds(relation.relation, of: otherBox, to: box, threshold: relationThreshold) {
                return false
            }
        }
        return true
    }

    private func pickColor(for shape: ShapeKind, policy: CombinationPolicy, using rng: inout SplitMix64) -> PaletteColor {
        // A colorless group in a held-out scene may take any color: only named colors are held out.
        let effective: CombinationPolicy = policy == .heldOutOnly ? .any : policy
        return rng.pick(Palette.colors.filter { effective.allows(color: $0, shape: shape) })
    }
}
