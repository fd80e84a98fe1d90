import Foundation

/// Each shape's outline at unit scale: the "radius" that `Size.radius` scales. Coordinates have y
/// growing downwards (image convention) and every outline spans roughly [-1, 1] on its longer axis,
/// so all shapes of one size look about equally big. Upright, never rotated: orientation is part of
/// what makes a triangle (apex up), a heart (point down) and a diamond (taller than wide) what they are.
extension ShapeKind {
    /// Whether the unit-scale outline covers the point (x, y).
    public func contains(_ x: Double, _ y: Double) -> Bool {
        switch self {
        case .circle:
            return x * x + y * y <= 1
        case .square:
            return abs(x) <= 0.85 && abs(y) <= 0.85
        case .triangle:
            return ShapeOutlines.triangle.contains(x, y)
        case .star:
            return ShapeOutlines.star.contains(x, y)
        case .heart:
            // The sextic heart (x² + y² − 1)³ − x²y³ ≤ 0 (y up), scaled by 0.9 and shifted so that its
            // bounding box is centred on the origin.
            let u = x / 0.9, v = -y / 0.9 + 0.118
            let q = u * u + v * v - 1
            return q * q * q - u * u * v * v * v <= 0
        case .cross:
            let (ax, ay) = (abs(x), abs(y))
            return (ax <= 1 && ay <= 0.36) || (ay <= 1 && ax <= 0.36)
        case .diamond:
            return abs(x) / 0.78 + abs(y) / 1.08 <= 1
        case .ring:
            let d2 = x * x + y * y
            return d2 <= 1 && d2 >= 0.25
        }
    }

    /// Measured properties of the unit outline (area, centroid, bounds), computed once.
    public var unitGeometry: UnitGeometry { UnitGeometry.table[self]! }
}

/// Area, centroid and bounding box of a unit-scale outline, measured on a fine grid so that they
/// agree with `contains` exactly as the rasterizer and the detector see it.
public struct UnitGeometry: Sendable {
    public let area: Double
    public let centroidX: Double, centroidY: Double
    public let minX: Double, maxX: Double, minY: Double, maxY: Double

    /// Bounds relative to the centroid: scenes position shapes by their centroid.
    public var width: Double { maxX - minX }
    public var height: Double { maxY - minY }

    static let table: [ShapeKind: UnitGeometry] = {
        var table: [ShapeKind: UnitGeometry] = [:]
        for shape in ShapeKind.allCases { table[shape] = UnitGeometry(measuring: shape) }
        return table
    }()

    init(measuring shape: ShapeKind, extent: Double = 1.3, steps: Int = 520) {
        let cell = 2 * extent / Double(steps)
        var count = 0, sumX = 0.0, sumY = 0.0
        var minX = Double.infinity, maxX = -Double.infinity, minY = Double.infinity, maxY = -Double.infinity
        for j in 0..<steps {
            let y = -extent + (Double(j) + 0.5) * cell
            for i in 0..<steps {
                let x = -extent + (Double(i) + 0.5) * cell
                guard shape.contains(x, y) else { continue }
                count += 1; sumX += x; sumY += y
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        area = Double(count) * cell * cell
        centroidX = sumX / Double(count); centroidY = sumY / Double(count)
        self.minX = minX - cell / 2 - centroidX; self.maxX = maxX + cell / 2 - centroidX
        self.minY = minY - cell / 2 - centroidY; self.maxY = maxY + cell / 2 - centroidY
    }
}

/// A polygon with an even-odd inside test.
struct Polygon: Sendable {
    let xs: [Double], ys: [Double]

    init(_ points: [(Double, Double)]) {
        xs = points.map(\.0); ys = points.map(\.1)
    }

    func contains(_ x: Double, _ y: Double) -> Bool {
        var inside = false
        var j = xs.count - 1
        for i in 0..<xs.count {
            if (ys[i] > y) != (ys[j] > y),
               x < (xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i]) + xs[i] {
                inside.toggle()
            }
            j = i
        }
        return inside
    }
}

enum ShapeOutlines {
    /// Equilateral, apex up, circumradius 1.15 (its area is then close to the star's and diamond's).
    static let triangle = regular(points: 3, outer: 1.15, inner: nil)
    /// Five points, apex up; the inner radius (0.5 of 1.1) is fatter than a pentagram's 0.38 so the
    /// arms stay visible at 10 pixels across.
    static let star = regular(points: 5, outer: 1.1, inner: 0.5)

    static func regular(points: Int, outer: Double, inner: Double?) -> Polygon {
        var vertices: [(Double, Double)] = []
        let step = Double.pi / Double(points)
        for k in 0..<points {
            let angle = -Double.pi / 2 + 2 * step * Double(k)
            vertices.append((outer * cos(angle), outer * sin(angle)))
            if let inner {
                vertices.append((inner * cos(angle + step), inner * sin(angle + step)))
            }
        }
        return Polygon(vertices)
    }
}
