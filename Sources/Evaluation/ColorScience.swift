import Foundation
import Shapes

/// CIELAB (D65 white), where Euclidean distance (ΔE76) roughly follows perceived difference.
public struct Lab: Sendable {
    public var l: Float, a: Float, b: Float

    public init(l: Float, a: Float, b: Float) { self.l = l; self.a = a; self.b = b }

    /// From sRGB-encoded values in 0...1 (IEC 61966-2-1 transfer curve, D65 primaries).
    public init(srgb: SIMD3<Float>) {
        func linear(_ c: Float) -> Float {
            let c = min(max(c, 0), 1)
            return c <= 0.04045 ? c / 12.92 : powf((c + 0.055) / 1.055, 2.4)
        }
        let (r, g, bl) = (linear(srgb.x), linear(srgb.y), linear(srgb.z))
        let x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * bl) / 0.95047
        let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * bl
        let z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * bl) / 1.08883
        func f(_ t: Float) -> Float { t > 216 / 24389 ? cbrtf(t) : (24389 / 27 * t + 16) / 116 }
        let (fx, fy, fz) = (f(x), f(y), f(z))
        l = 116 * fy - 16; a = 500 * (fx - fy); b = 200 * (fy - fz)
    }

    public func distance(to other: Lab) -> Float {
        let dl = l - other.l, da = a - other.a, db = b - other.b
        return (dl * dl + da * da + db * db).squareRoot()
    }
}

/// Names an observed color by the palette color it is closest to in CIELAB, allowing for partial
/// coverage: an anti-aliased edge pixel (or a thin arm at 32×32) is a mix of the object color and
/// the background, so each palette color c is compared with its best mix `bg + α(c − bg)`, α in
/// 0...1, rather than with c itself. Mixing happens in sRGB values because that is where the
/// renderer blends.
public struct ColorClassifier: Sendable {
    public let background: SIMD3<Float>
    private let backgroundLab: Lab

    public init(background: SIMD3<Float>) {
        self.background = background
        backgroundLab = Lab(srgb: background)
    }

    /// The nearest palette color, its ΔE to the best mix, and the mix's coverage α.
    public func classify(_ rgb: SIMD3<Float>) -> (color: PaletteColor, distance: Float, alpha: Float) {
        let observed = Lab(srgb: rgb)
        var best: (color: PaletteColor, distance: Float, alpha: Float) = (.black, .infinity, 0)
        for color in Palette.colors {
            let (distance, alpha) = mixDistance(observed, rgb, to: color)
            if distance < best.distance { best = (color, distance, alpha) }
        }
        return best
    }

    /// ΔE between `rgb` and the closest mix of `color` over the background, and that mix's α.
    public func mixDistance(_ rgb: SIMD3<Float>, to color: PaletteColor) -> (distance: Float, alpha: Float) {
        mixDistance(Lab(srgb: rgb), rgb, to: color)
    }

    private func mixDistance(_ observed: Lab, _ rgb: SIMD3<Float>, to color: PaletteColor) -> (distance: Float, alpha: Float) {
        let alpha = coverage(of: rgb, by: color)
        let mix = background + alpha * (color.srgb.unit - background)
        return (observed.distance(to: Lab(srgb: mix)), alpha)
    }

    /// How much of `color` over the background `rgb` shows: the projection onto the line from the
    /// background to the color, clamped to 0...1.
    public func coverage(of rgb: SIMD3<Float>, by color: PaletteColor) -> Float {
        let direction = color.srgb.unit - background
        let alpha = ((rgb - background) * direction).sum() / (direction * direction).sum()
        return min(max(alpha, 0), 1)
    }

    /// ΔE from the background.
    public func contrast(_ rgb: SIMD3<Float>) -> Float { Lab(srgb: rgb).distance(to: backgroundLab) }
}
