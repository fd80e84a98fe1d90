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
    /// With reading order, how far apart the first and last groups' centroids lie at least (nil:
    /// only `readingOrderGap` between neighbours): neighbours are then `spread / (groups − 1)`
    /// apart. A gap of 0.05 lets two groups sit nearly one above the other, where the noise often
    /// puts two blobs on the same half; the model then gives both that half's shape (one shape drawn
    /// twice). A wide spread gives each shape word a half of its own. A scene that cannot spread
    /// (several large objects in one group) is laid out with the plain gap after a tenth of the
    /// restarts.
    public var readingOrderSpread: Double?
    /// A scene of one kind only, several of it, puts each object in its own cell of a fixed
    /// arrangement (`countCells`): two side by side, three in a row (a triangle when large), four as
    /// a 2×2 grid. A number word then has a layout of its own to bind to from the first step, where
    /// random places leave the count to be settled late, when one more object still fits.
    public var countGrid = false

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
        let cells = countGrid && description.groups.count == 1
            ? Self.countCells(description.groups[0].count, size: description.groups[0].size ?? .medium) : nil

        for restart in 0..<restarts {
            let spread = restart < restarts / 10
            var placed: [Int: SceneObject] = [:]
            var failed = false
            for index in order {
                var object = pending[index].object
                let cell = cells?[index]
                var found = false
                for _ in 0..<attemptsPerObject {
                    let g = object.shape.unitGeometry, r = object.size.radius
                    var loX = margin - g.minX * r, hiX = 1 - margin - g.maxX * r
                    var loY = margin - g.minY * r, hiY = 1 - margin - g.maxY * r
                    if let cell {
                        loX = max(loX, cell.minX); hiX = min(hiX, cell.maxX)
                        loY = max(loY, cell.minY); hiY = min(hiY, cell.maxY)
                    }
                    guard loX < hiX, loY < hiY else { break }
                    object.x = rng.double(in: loX...hiX)
                    object.y = rng.double(in: loY...hiY)
                    if fits(object, group: pending[index].group, placed: placed, pending: pending, relation: description.relation,
                            spread: spread) {
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

    /// Where each object's centroid may lie when `countGrid` lays out `count` objects of one kind
    /// and `size` (nil: no arrangement for that count). Cells are disjoint and leave room for the
    /// widest shape of that size with the gap, so every arrangement is feasible. Three sit in a row
    /// rather than a triangle wherever a row fits: a triangle shares two of the 2×2 grid's cells,
    /// and a model taught it drew the fourth. Three large shapes do not fit across the canvas.
    public static func countCells(_ count: Int, size: Size) -> [CellRect]? {
        let left = CellRect(minX: 0, maxX: 0.42, minY: 0, maxY: 0.42), right = CellRect(minX: 0.58, maxX: 1, minY: 0, maxY: 0.42)
        switch count {
        case 2: return [CellRect(minX: 0, maxX: 0.42, minY: 0.3, maxY: 0.7), CellRect(minX: 0.58, maxX: 1, minY: 0.3, maxY: 0.7)]
        case 3 where size == .large: return [left, right, CellRect(minX: 0.35, maxX: 0.65, minY: 0.58, maxY: 1)]
        case 3: return [CellRect(minX: 0, maxX: 0.22, minY: 0.35, maxY: 0.65), CellRect(minX: 0.42, maxX: 0.58, minY: 0.35, maxY: 0.65),
                        CellRect(minX: 0.78, maxX: 1, minY: 0.35, maxY: 0.65)]
        case 4: return [left, right, CellRect(minX: 0, maxX: 0.42, minY: 0.58, maxY: 1), CellRect(minX: 0.58, maxX: 1, minY: 0.58, maxY: 1)]
        default: return nil
        }
    }

    /// A rectangle of the canvas, in the normalized units of object positions.
    public struct CellRect: Sendable, Equatable {
        public var minX, maxX, minY, maxY: Double
        public func contains(x: Double, y: Double) -> Bool { (minX...maxX).contains(x) && (minY...maxY).contains(y) }
    }

    private func fits(_ object: SceneObject, group: Int, placed: [Int: SceneObject],
                      pending: [(group: Int, object: SceneObject)], relation: GroupRelation?, spread: Bool) -> Bool {
        let box = object.box
        for (index, other) in placed {
            let otherBox = other.box
            if box.overlaps(otherBox, gap: gap) { return false }
            let otherGroup = pending[index].group
            guard let relation else {
                if readingOrder && otherGroup != group {
                    let (left, right) = otherGroup < group ? (otherBox, box) : (box, otherBox)
                    if right.centerX - left.centerX < neighbourGap(groups: pending.last!.group + 1, spread: spread) { return false }
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

    /// The least distance between the centroids of neighbouring groups in reading order.
    func neighbourGap(groups: Int, spread: Bool) -> Double {
        guard spread, let readingOrderSpread, groups > 1 else { return readingOrderGap }
        return max(readingOrderGap, readingOrderSpread / Double(groups - 1))
    }

    private func pickColor(for shape: ShapeKind, policy: CombinationPolicy, using rng: inout SplitMix64) -> PaletteColor {
        // A colorless group in a held-out scene may take any color: only named colors are held out.
        let effective: CombinationPolicy = policy == .heldOutOnly ? .any : policy
        return rng.pick(Palette.colors.filter { effective.allows(color: $0, shape: shape) })
    }
}
