import Foundation

/// An RGB image of sRGB-encoded floats in 0...1, row-major with interleaved channels: what the
/// renderer draws, what a model generates, what the detector reads.
public struct FloatImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(pixels.count == width * height * 3, "expected \(width * height * 3) floats")
        self.width = width; self.height = height; self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: RGB8) {
        let c = fill.unit
        var pixels = [Float](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) { (pixels[i], pixels[i + 1], pixels[i + 2]) = (c.x, c.y, c.z) }
        self.init(width: width, height: height, pixels: pixels)
    }

    public subscript(x: Int, y: Int) -> SIMD3<Float> {
        get {
            let i = (y * width + x) * 3
            return SIMD3(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = (y * width + x) * 3
            pixels[i] = newValue.x; pixels[i + 1] = newValue.y; pixels[i + 2] = newValue.z
        }
    }

    /// 8-bit RGB, rounded and clamped: for PNG/PPM files.
    public func rgb8() -> [UInt8] {
        pixels.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) }
    }

    public init(width: Int, height: Int, rgb8: [UInt8]) {
        self.init(width: width, height: height, pixels: rgb8.map { Float($0) / 255 })
    }
}

/// One shape placed on a pixel grid: its outline scaled by `radius` pixels with its centroid at
/// (`centerX`, `centerY`) in pixel coordinates (pixel (i, j) covers [i, i+1] × [j, j+1]).
public struct ShapeStamp: Sendable {
    public let shape: ShapeKind
    public let centerX: Double, centerY: Double
    public let radius: Double
    /// Looked up once: `coverage` runs per pixel.
    private let geometry: UnitGeometry

    public init(shape: ShapeKind, centerX: Double, centerY: Double, radius: Double) {
        self.shape = shape; self.centerX = centerX; self.centerY = centerY; self.radius = radius
        geometry = shape.unitGeometry
    }

    /// Pixels the shape may touch, clipped to a width × height grid.
    public func pixelBounds(width: Int, height: Int) -> (x: Range<Int>, y: Range<Int>) {
        let g = geometry
        let x0 = max(0, Int((centerX + g.minX * radius).rounded(.down)))
        let x1 = min(width, Int((centerX + g.maxX * radius).rounded(.up)))
        let y0 = max(0, Int((centerY + g.minY * radius).rounded(.down)))
        let y1 = min(height, Int((centerY + g.maxY * radius).rounded(.up)))
        return (x0..<max(x0, x1), y0..<max(y0, y1))
    }

    /// Fraction of pixel (x, y) inside the outline, from `samples` × `samples` stratified points.
    public func coverage(x: Int, y: Int, samples: Int = 4) -> Float {
        let g = geometry
        // Unit coordinates of the outline's own origin, which sits `centroid` away from the centroid.
        let inverse = 1 / radius
        var hits = 0
        for j in 0..<samples {
            let py = Double(y) + (Double(j) + 0.5) / Double(samples)
            let uy = (py - centerY) * inverse + g.centroidY
            for i in 0..<samples {
                let px = Double(x) + (Double(i) + 0.5) / Double(samples)
                if shape.contains((px - centerX) * inverse + g.centroidX, uy) { hits += 1 }
            }
        }
        return Float(hits) / Float(samples * samples)
    }
}

/// Draws scenes with anti-aliased edges: each pixel blends the object color over the background by
/// its supersampled coverage, in sRGB values (the detector unmixes in the same space).
public struct Rasterizer: Sendable {
    /// Supersampling per axis: 4 gives 17 coverage levels, plenty for 8-bit output.
    public var samples = 4
    public var background = Palette.background

    public init(samples: Int = 4) { self.samples = samples }

    public func render(_ scene: SceneSpec, width: Int, height: Int) -> FloatImage {
        var image = FloatImage(width: width, height: height, fill: background)
        let side = Double(min(width, height))
        for object in scene.objects {
            let stamp = ShapeStamp(shape: object.shape, centerX: object.x * Double(width),
                                   centerY: object.y * Double(height), radius: object.size.radius * side)
            let color = object.color.srgb.unit
            let bounds = stamp.pixelBounds(width: width, height: height)
            for y in bounds.y {
                for x in bounds.x {
                    let alpha = stamp.coverage(x: x, y: y, samples: samples)
                    if alpha > 0 { image[x, y] += alpha * (color - image[x, y]) }
                }
            }
        }
        return image
    }
}
