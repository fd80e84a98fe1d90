import Foundation

/// What a caption or a benchmark prompt asks for, before any layout: "two small red circles to the
/// left of a blue square" is two groups and one relation.
public struct ObjectGroup: Hashable, Sendable {
    public var shape: ShapeKind
    /// nil: any color (the caption names none).
    public var color: PaletteColor?
    /// How many objects of this kind, 1...4.
    public var count: Int
    /// nil: unspecified; drawn medium, and any size passes the benchmark.
    public var size: Size?

    public init(shape: ShapeKind, color: PaletteColor? = nil, count: Int = 1, size: Size? = nil) {
        self.shape = shape; self.color = color; self.count = count; self.size = size
    }

    /// Whether a concrete object fits this description.
    public func matches(shape: ShapeKind?, color: PaletteColor?, size: Size?) -> Bool {
        shape == self.shape
            && (self.color == nil || color == self.color)
            && (self.size == nil || size == self.size)
    }
}

/// "group `subject` is REL group `object`": every subject object must stand in that relation to every
/// object object (GenEval's rule).
public struct GroupRelation: Hashable, Sendable {
    public var subject: Int
    public var relation: Relation
    public var object: Int

    public init(subject: Int, relation: Relation, object: Int) {
        self.subject = subject; self.relation = relation; self.object = object
    }
}

public struct SceneDescription: Hashable, Sendable {
    public var groups: [ObjectGroup]
    public var relation: GroupRelation?

    public init(groups: [ObjectGroup], relation: GroupRelation? = nil) {
        self.groups = groups; self.relation = relation
    }

    public var objectCount: Int { groups.reduce(0) { $0 + $1.count } }
}

/// One drawn object. Positions are normalized to the canvas (0...1 on both axes, y down) and give
/// the shape's centroid, which is also where the detector places it.
public struct SceneObject: Hashable, Sendable {
    public var shape: ShapeKind
    public var color: PaletteColor
    public var size: Size
    public var x: Double
    public var y: Double

    public init(shape: ShapeKind, color: PaletteColor, size: Size, x: Double, y: Double) {
        self.shape = shape; self.color = color; self.size = size; self.x = x; self.y = y
    }

    /// Bounding box in normalized canvas units.
    public var box: ObjectBox {
        let g = shape.unitGeometry, r = size.radius
        return ObjectBox(minX: x + g.minX * r, maxX: x + g.maxX * r, minY: y + g.minY * r, maxY: y + g.maxY * r,
                         centerX: x, centerY: y)
    }
}

/// A concrete scene: what the rasterizer draws.
public struct SceneSpec: Hashable, Sendable {
    public var objects: [SceneObject]
    public init(objects: [SceneObject]) { self.objects = objects }
}

/// The (color, shape) pairs that never occur in training scenes or captions; the held-out prompt set
/// is built only from them, to measure compositional generalization (Okawa et al. 2023). Each shape
/// appears once and each chromatic color at most once, so training still sees every color and every
/// shape, only never these pairings.
public enum HeldOut {
    public static let combinations: [(color: PaletteColor, shape: ShapeKind)] = [
        (.red, .triangle),
        (.orange, .ring),
        (.yellow, .heart),
        (.green, .star),
        (.blue, .cross),
        (.purple, .circle),
        (.pink, .diamond),
        (.brown, .square),
    ]

    public static func contains(color: PaletteColor, shape: ShapeKind) -> Bool {
        combinations.contains { $0.color == color && $0.shape == shape }
    }
}

/// Which (color, shape) pairs a sampler may draw.
public enum CombinationPolicy: Sendable {
    /// Every pair.
    case any
    /// Every pair except `HeldOut.combinations`: training data and the main benchmark.
    case training
    /// Only `HeldOut.combinations` for named colors: the held-out benchmark.
    case heldOutOnly

    public func allows(color: PaletteColor, shape: ShapeKind) -> Bool {
        switch self {
        case .any: true
        case .training: !HeldOut.contains(color: color, shape: shape)
        case .heldOutOnly: HeldOut.contains(color: color, shape: shape)
        }
    }
}

/// An axis-aligned box with the point an object is placed by (its centroid).
public struct ObjectBox: Hashable, Sendable {
    public var minX, maxX, minY, maxY: Double
    public var centerX, centerY: Double

    public init(minX: Double, maxX: Double, minY: Double, maxY: Double, centerX: Double, centerY: Double) {
        self.minX = minX; self.maxX = maxX; self.minY = minY; self.maxY = maxY
        self.centerX = centerX; self.centerY = centerY
    }

    public var width: Double { maxX - minX }
    public var height: Double { maxY - minY }

    /// Whether the boxes, each grown by `gap / 2`, overlap.
    public func overlaps(_ other: ObjectBox, gap: Double) -> Bool {
        minX - gap < other.maxX && other.minX - gap < maxX && minY - gap < other.maxY && other.minY - gap < maxY
    }
}

/// GenEval's relative-position rule (`evaluate_images.py`, `relative_position`): the centre offset of
/// A from B, shrunk on each axis by 0.1 × (dim A + dim B), divided by the length of the raw offset;
/// a component below −0.5 or above 0.5 names the relation (image y down). A pair can stand in two
/// relations at once (diagonal) or in none (too close).
public enum PositionRule {
    public static let sizeMargin = 0.1
    public static let threshold = 0.5

    /// The (dx, dy) direction components of A relative to B, or nil when the boxes are too close
    /// for any relation.
    public static func direction(of a: ObjectBox, from b: ObjectBox) -> (dx: Double, dy: Double)? {
        let ox = a.centerX - b.centerX, oy = a.centerY - b.centerY
        let rx = max(abs(ox) - sizeMargin * (a.width + b.width), 0) * sign(ox)
        let ry = max(abs(oy) - sizeMargin * (a.height + b.height), 0) * sign(oy)
        let norm = (ox * ox + oy * oy).squareRoot()
        if abs(rx) < 1e-3 && abs(ry) < 1e-3 || norm == 0 { return nil }
        return (rx / norm, ry / norm)
    }

    /// Every relation A stands in to B.
    public static func relations(of a: ObjectBox, to b: ObjectBox, threshold: Double = threshold) -> Set<Relation> {
        guard let (dx, dy) = direction(of: a, from: b) else { return [] }
        var found: Set<Relation> = []
        if dx < -threshold { found.insert(.leftOf) }
        if dx > threshold { found.insert(.rightOf) }
        if dy < -threshold { found.insert(.above) }
        if dy > threshold { found.insert(.below) }
        return found
    }

    public static func holds(_ relation: Relation, of a: ObjectBox, to b: ObjectBox, threshold: Double = threshold) -> Bool {
        relations(of: a, to: b, threshold: threshold).contains(relation)
    }

    private static func sign(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }
}
