import Foundation

/// The words of the shapes domain: ten colors (GenEval's), eight shapes, three sizes, four
/// relations. Raw values are the spellings used in captions and in benchmark JSON.

/// An sRGB color with 8-bit channels.
public struct RGB8: Equatable, Hashable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }

    /// Channels as sRGB-encoded floats in 0...1.
    public var unit: SIMD3<Float> { SIMD3(Float(r), Float(g), Float(b)) / 255 }
}

/// GenEval's ten color names, each drawn with one fixed sRGB value.
public enum PaletteColor: String, CaseIterable, Codable, Sendable, Comparable {
    case red, orange, yellow, green, blue, purple, pink, brown, black, white

    /// The exact value the renderer paints. Chosen so that every pair, and every color against the
    /// mid-gray background, is far apart in CIELAB (the closest pair, orange and yellow, is still
    /// more than 30 ΔE76 apart), so a detector can name each color without doubt.
    public var srgb: RGB8 {
        switch self {
        case .red: RGB8(220, 30, 30)
        case .orange: RGB8(255, 140, 0)
        case .yellow: RGB8(250, 225, 40)
        case .green: RGB8(30, 160, 50)
        case .blue: RGB8(30, 70, 220)
        case .purple: RGB8(130, 40, 170)
        case .pink: RGB8(255, 130, 190)
        case .brown: RGB8(120, 70, 30)
        case .black: RGB8(15, 15, 15)
        case .white: RGB8(245, 245, 245)
        }
    }

    public static func < (a: PaletteColor, b: PaletteColor) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

public enum Palette {
    /// Plain mid-gray: the one background of the domain.
    public static let background = RGB8(128, 128, 128)
    public static let colors = PaletteColor.allCases
}

public enum ShapeKind: String, CaseIterable, Codable, Sendable, Comparable {
    case circle, square, triangle, star, heart, cross, diamond, ring

    public var plural: String { self == .cross ? "crosses" : rawValue + "s" }

    public static func < (a: ShapeKind, b: ShapeKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Object size. Captions say "small" or "large"; an unspecified size is drawn medium.
public enum Size: String, CaseIterable, Codable, Sendable {
    case small, medium, large

    /// The shape's radius (the scale of its unit geometry) as a fraction of the canvas side.
    /// Neighbouring sizes differ by a factor of about 1.4 in radius (2× in area), so a detector can
    /// tell them apart from the area alone even at 32×32.
    public var radius: Double {
        switch self {
        case .small: 0.085
        case .medium: 0.12
        case .large: 0.17
        }
    }

    /// The size whose radius is nearest (in log scale) to `radius`.
    public static func nearest(toRadius radius: Double) -> Size {
        allCases.min { abs(log($0.radius / radius)) < abs(log($1.radius / radius)) }!
    }
}

/// A spatial relation "subject REL object", in image coordinates (y grows downwards).
public enum Relation: String, CaseIterable, Codable, Sendable {
    case leftOf = "left of"
    case rightOf = "right of"
    case above
    case below

    /// The same fact with subject and object swapped: A left of B == B right of A.
    public var inverse: Relation {
        switch self {
        case .leftOf: .rightOf
        case .rightOf: .leftOf
        case .above: .below
        case .below: .above
        }
    }
}
