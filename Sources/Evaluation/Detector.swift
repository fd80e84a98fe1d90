import Foundation
import Shapes

/// One object the detector found. Positions are normalized to the canvas (0...1, y down).
public struct DetectedObject: Sendable, Equatable {
    /// nil when no outline fits well enough (a blob, a smear): it then matches no prompt object.
    public var shape: ShapeKind?
    public var color: PaletteColor
    public var size: Size
    /// Coverage-weighted centroid, and the box of the pixels at least half covered; the position
    /// rule uses the centroid as the box centre.
    public var box: ObjectBox
    /// Covered area in pixels (sum of per-pixel coverage).
    public var area: Double
    /// Soft IoU between the object's coverage and the best-fitting outline (1 = exact).
    public var shapeFit: Double
    /// ΔE76 between the object's core color and the named palette color's best mix.
    public var colorDistance: Double
    /// The object's pixels (y·width + x) at least half covered, ascending: where it is drawn, for
    /// measures over its area (attention-map localisation).
    public var pixels: [Int] = []

    public var x: Double { box.centerX }
    public var y: Double { box.centerY }

    public var label: String {
        "\(size == .medium ? "" : size.rawValue + " ")\(color.rawValue) \(shape?.rawValue ?? "blob")"
    }
}

/// An analytic detector for the shapes domain (model-free: the data's generator is known): segment what differs
/// from the known background, split components where colors or outlines say they hold several
/// objects, name each object's color by CIELAB distance and its shape by fitting the renderer's own
/// outlines at the measured scale, and place it by its centroid.
///
/// Shapes are classified by template fitting rather than by thresholds on hand-picked features
/// (fill ratio, convexity, holes, corners): the outline that fits best at the object's own area and
/// centroid captures all of those at once, and it stays reliable at 32×32, where perimeters and
/// corner counts are noise.
public struct Detector: Sendable {
    /// ΔE from the background above which a pixel is foreground (about a third of the weakest
    /// palette color's contrast, so faint anti-aliased rims stay out of the masks).
    public var foregroundThreshold: Float = 15
    /// Below this fit an object's shape is unknown.
    public var minShapeFit = 0.6
    /// Below this fit a component is tried as several same-colored objects touching.
    public var splitBelowFit = 0.8
    /// Components smaller than this fraction of the smallest object the renderer draws are noise.
    public var minAreaFraction = 0.3
    public var templateSamples = 4

    public init() {}

    public func detect(_ image: FloatImage) -> [DetectedObject] {
        DetectionPass(detector: self, image: image).run()
    }
}

/// The state of one `detect` call.
private struct DetectionPass {
    let detector: Detector
    let image: FloatImage
    let width: Int, height: Int
    let classifier: ColorClassifier
    /// ΔE from the background, per pixel.
    let contrast: [Float]
    let minArea: Double
    /// Pixel side that `Size.radius` is a fraction of.
    let side: Double

    init(detector: Detector, image: FloatImage) {
        self.detector = detector
        self.image = image
        width = image.width; height = image.height
        classifier = ColorClassifier(background: DetectionPass.estimateBackground(image))
        contrast = (0..<image.width * image.height).map { [classifier, image] i in
            classifier.contrast(image[i % image.width, i / image.width])
        }
        side = Double(min(width, height))
        let smallest = ShapeKind.allCases.map(\.unitGeometry.area).min()! * pow(Size.small.radius * side, 2)
        minArea = max(2, detector.minAreaFraction * smallest)
    }

    /// The per-channel median of the border pixels: the background, since objects keep a margin
    /// from the edges. Measured rather than assumed so that a model's slightly-off gray still works.
    static func estimateBackground(_ image: FloatImage) -> SIMD3<Float> {
        var border: [SIMD3<Float>] = []
        for x in 0..<image.width { border.append(image[x, 0]); border.append(image[x, image.height - 1]) }
        for y in 1..<max(1, image.height - 1) { border.append(image[0, y]); border.append(image[image.width - 1, y]) }
        func median(_ values: [Float]) -> Float { values.sorted()[values.count / 2] }
        return SIMD3(median(border.map(\.x)), median(border.map(\.y)), median(border.map(\.z)))
    }

    func run() -> [DetectedObject] {
        let foreground = contrast.map { $0 > detector.foregroundThreshold }
        var objects: [DetectedObject] = []
        for component in components(of: foreground) {
            for part in splitByColor(component) {
                objects += analyze(part.pixels, color: part.color, allowSplit: true)
            }
        }
        return objects
    }

    // MARK: segmentation

    /// 8-connected components of a mask, each as a list of pixel indices.
    func components(of mask: [Bool]) -> [[Int]] {
        var seen = [Bool](repeating: false, count: mask.count)
        var result: [[Int]] = []
        for start in mask.indices where mask[start] && !seen[start] {
            var pixels: [Int] = [], stack = [start]
            seen[start] = true
            while let p = stack.popLast() {
                pixels.append(p)
                forEachNeighbour(of: p, diagonal: true) { q in
                    if mask[q] && !seen[q] { seen[q] = true; stack.append(q) }
                }
            }
            result.append(pixels)
        }
        return result
    }

    func forEachNeighbour(of p: Int, diagonal: Bool, _ body: (Int) -> Void) {
        let x = p % width, y = p / width
        for dy in -1...1 {
            for dx in -1...1 where (dx != 0 || dy != 0) && (diagonal || dx == 0 || dy == 0) {
                let nx = x + dx, ny = y + dy
                if nx >= 0 && nx < width && ny >= 0 && ny < height { body(ny * width + nx) }
            }
        }
    }

    /// Splits a component whose strong pixels name two or more colors in force (touching objects of
    /// different colors): each significant color seeds a region, every pixel joins the nearest seed.
    func splitByColor(_ pixels: [Int]) -> [(pixels: [Int], color: PaletteColor)] {
        let strong = strongPixels(pixels)
        var labels: [Int: PaletteColor] = [:]
        var tally: [PaletteColor: Int] = [:]
        for p in strong {
            let color = classifier.classify(image[p % width, p / width]).color
            labels[p] = color
            tally[color, default: 0] += 1
        }
        let significant = Set(tally.filter { Double($0.value) >= max(minArea / 2, 0.15 * Double(strong.count)) }.keys)
        // One color: name it from the mean of the strong pixels, steadier than a per-pixel vote.
        guard significant.count >= 2 else { return [(pixels, classifier.classify(meanColor(of: strong)).color)] }

        let assigned = growSeeds(pixels: pixels, seeds: labels.filter { significant.contains($0.value) })
        var parts: [(pixels: [Int], color: PaletteColor)] = []
        for color in significant.sorted() {
            let mask = maskOf(pixels.filter { assigned[$0] == color })
            for part in components(of: mask) { parts.append((part, color)) }
        }
        return parts
    }

    /// The pixels that stand out most from the background: the object's core, away from its
    /// anti-aliased rim.
    func strongPixels(_ pixels: [Int]) -> [Int] {
        let strongest = pixels.map { contrast[$0] }.max() ?? 0
        return pixels.filter { contrast[$0] >= 0.6 * strongest }
    }

    func meanColor(of pixels: [Int]) -> SIMD3<Float> {
        guard !pixels.isEmpty else { return classifier.background }
        var sum = SIMD3<Float>(repeating: 0)
        for p in pixels { sum += image[p % width, p / width] }
        return sum / Float(pixels.count)
    }

    func maskOf(_ pixels: [Int]) -> [Bool] {
        var mask = [Bool](repeating: false, count: width * height)
        for p in pixels { mask[p] = true }
        return mask
    }

    /// Multi-source breadth-first growth inside `pixels`: every pixel takes the label of the seed it
    /// is nearest to (in 8-connected steps).
    func growSeeds<L>(pixels: [Int], seeds: [Int: L]) -> [Int: L] {
        let inside = Set(pixels)
        var assigned = seeds
        var frontier = Array(seeds.keys).sorted()
        while !frontier.isEmpty {
            var next: [Int] = []
            for p in frontier {
                forEachNeighbour(of: p, diagonal: true) { q in
                    if inside.contains(q) && assigned[q] == nil { assigned[q] = assigned[p]; next.append(q) }
                }
            }
            frontier = next
        }
        return assigned
    }

    // MARK: measurement

    /// Measures one same-colored region as one object; if no outline fits it well, tries it as
    /// several touching objects (split at the necks that erosion opens) and keeps the split when
    /// every piece fits better.
    func analyze(_ pixels: [Int], color: PaletteColor, allowSplit: Bool) -> [DetectedObject] {
        let coverage = coverageMap(pixels, color: color)
        guard let object = measure(coverage, pixels: pixels, color: color) else { return [] }
        if allowSplit && object.shapeFit < detector.splitBelowFit && object.area >= 2 * minArea {
            for seeds in erosionSeeds(pixels, coverage: coverage) {
                let assigned = growSeeds(pixels: pixels, seeds: seeds)
                var pieces: [DetectedObject] = []
                for label in Set(seeds.values).sorted() {
                    let piece = pixels.filter { assigned[$0] == label }
                    pieces += analyze(piece, color: color, allowSplit: false)
                }
                if pieces.count >= 2 && pieces.allSatisfy({ $0.shapeFit >= detector.minShapeFit && $0.shapeFit > object.shapeFit }) {
                    return pieces
                }
            }
        }
        return [object]
    }

    /// Per-pixel coverage of one object, with its pixels in ascending order so that sums, and so
    /// reports, come out the same in every run.
    struct CoverageMap {
        var pixels: [Int] = []
        var alpha: [Int: Float] = [:]
    }

    /// Coverage of each pixel of the region and of the one-pixel rim around it that no other
    /// foreground holds (the faint anti-aliased edge).
    func coverageMap(_ pixels: [Int], color: PaletteColor) -> CoverageMap {
        var map = CoverageMap()
        for p in pixels { map.alpha[p] = classifier.coverage(of: image[p % width, p / width], by: color) }
        for p in pixels {
            forEachNeighbour(of: p, diagonal: true) { q in
                if map.alpha[q] == nil && contrast[q] <= detector.foregroundThreshold {
                    map.alpha[q] = classifier.coverage(of: image[q % width, q / width], by: color)
                }
            }
        }
        map.pixels = map.alpha.keys.sorted()
        return map
    }

    func measure(_ coverage: CoverageMap, pixels: [Int], color: PaletteColor) -> DetectedObject? {
        var area = 0.0, sumX = 0.0, sumY = 0.0
        var minX = width, maxX = -1, minY = height, maxY = -1
        var covered: [Int] = []
        for p in coverage.pixels {
            let alpha = coverage.alpha[p]!
            let x = p % width, y = p / width, a = Double(alpha)
            area += a; sumX += a * (Double(x) + 0.5); sumY += a * (Double(y) + 0.5)
            if alpha >= 0.5 { minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y); covered.append(p) }
        }
        guard area >= minArea, maxX >= 0 else { return nil }
        let cx = sumX / area, cy = sumY / area

        // The outline that best explains the coverage, each scaled to the measured area.
        var best: (shape: ShapeKind, fit: Double, radius: Double) = (.circle, -1, 0)
        for shape in ShapeKind.allCases {
            let radius = (area / shape.unitGeometry.area).squareRoot()
            let fit = softIoU(coverage, ShapeStamp(shape: shape, centerX: cx, centerY: cy, radius: radius))
            if fit > best.fit { best = (shape, fit, radius) }
        }
        let core = meanColor(of: strongPixels(pixels))
        let box = ObjectBox(minX: Double(minX) / Double(width), maxX: Double(maxX + 1) / Double(width),
                            minY: Double(minY) / Double(height), maxY: Double(maxY + 1) / Double(height),
                            centerX: cx / Double(width), centerY: cy / Double(height))
        return DetectedObject(shape: best.fit >= detector.minShapeFit ? best.shape : nil, color: color,
                              size: Size.nearest(toRadius: best.radius / side), box: box, area: area,
                              shapeFit: best.fit, colorDistance: Double(classifier.mixDistance(core, to: color).distance),
                              pixels: covered)
    }

    /// Σ min(observed, template) / Σ max(observed, template) over both supports.
    func softIoU(_ coverage: CoverageMap, _ stamp: ShapeStamp) -> Double {
        var intersection: Float = 0, union: Float = 0
        var visited = Set<Int>()
        let bounds = stamp.pixelBounds(width: width, height: height)
        for y in bounds.y {
            for x in bounds.x {
                let p = y * width + x
                let t = stamp.coverage(x: x, y: y, samples: detector.templateSamples)
                let o = coverage.alpha[p] ?? 0
                intersection += min(o, t); union += max(o, t)
                visited.insert(p)
            }
        }
        for p in coverage.pixels where !visited.contains(p) { union += coverage.alpha[p]! }
        return union > 0 ? Double(intersection / union) : 0
    }

    /// Seed sets for splitting a region: the pieces of its half-covered mask after 1, 2, ...
    /// erosions, at the first depths where it falls apart into two or more pieces.
    func erosionSeeds(_ pixels: [Int], coverage: CoverageMap) -> [[Int: Int]] {
        var mask = maskOf(pixels.filter { (coverage.alpha[$0] ?? 0) >= 0.5 })
        var result: [[Int: Int]] = []
        while mask.contains(true) && result.count < 3 {
            var eroded = mask
            for p in mask.indices where mask[p] {
                forEachNeighbour(of: p, diagonal: false) { q in if !mask[q] { eroded[p] = false } }
                let x = p % width, y = p / width
                if x == 0 || y == 0 || x == width - 1 || y == height - 1 { eroded[p] = false }
            }
            mask = eroded
            let pieces = components(of: mask).filter { $0.count >= 2 }
            if pieces.count >= 2 {
                var seeds: [Int: Int] = [:]
                for (label, piece) in pieces.enumerated() { for p in piece { seeds[p] = label } }
                result.append(seeds)
            }
        }
        return result
    }
}
