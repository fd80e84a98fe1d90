import ImageIO
import PromptEncoder
import Pipeline

/// What the studio keeps of one picture's attention maps (issue 26): per prompt word its map over
/// the patch grid, the branch shares and the template share, as of `step` of `totalSteps`. Built
/// by the backend from the pipeline's `AttentionMaps` (summed over the steps so far), so the UI
/// only holds plain values.
public struct WordAttention: Equatable, Sendable {
    public var prompt: String
    public var words: [String]
    /// UTF-8 byte range of each word in `prompt` (the prompt editor's cursor picks a word by it).
    public var wordBytes: [Range<Int>]
    public var width: Int, height: Int
    public var gridWidth: Int, gridHeight: Int
    /// Per word: mass per patch (row-major grid), summing to 1 (uniform when it had none).
    public var patchMaps: [[Double]]
    public var branches: [String]
    public var branchShares: [Double]
    public var templateShare: Double
    public var step: Int, totalSteps: Int

    public init(prompt: String, words: [String], wordBytes: [Range<Int>], width: Int, height: Int, gridWidth: Int, gridHeight: Int,
                patchMaps: [[Double]], branches: [String], branchShares: [Double], templateShare: Double, step: Int, totalSteps: Int) {
        self.prompt = prompt; self.words = words; self.wordBytes = wordBytes; self.width = width; self.height = height
        self.gridWidth = gridWidth; self.gridHeight = gridHeight; self.patchMaps = patchMaps; self.branches = branches
        self.branchShares = branchShares; self.templateShare = templateShare; self.step = step; self.totalSteps = totalSteps
    }

    public init(_ maps: AttentionMaps, step: Int, totalSteps: Int) {
        let patches = maps.words.indices.map { w -> [Double] in
            let m = maps.wordPatchMass(w)
            let total = m.reduce(0, +)
            return total > 0 ? m.map { $0 / total } : m.map { _ in 1 / Double(max(1, m.count)) }
        }
        self.init(prompt: maps.prompt, words: maps.words.map(\.text), wordBytes: maps.words.map(\.bytes), width: maps.width,
                  height: maps.height, gridWidth: maps.gridWidth, gridHeight: maps.gridHeight, patchMaps: patches,
                  branches: maps.branchNames, branchShares: maps.branchShares(), templateShare: maps.templateShare(),
                  step: step, totalSteps: totalSteps)
    }

    /// Word `w`'s map over the picture's pixels ([height × width], summing to 1; nearest neighbour).
    public func pixelMap(_ w: Int) -> [Float] {
        AttentionMaps.upsample(patchMaps[w], gridWidth: gridWidth, gridHeight: gridHeight, width: width, height: height)
    }

    /// The word whose bytes hold (or end at) byte `offset` of the prompt, if any.
    public func word(atByte offset: Int) -> Int? {
        wordBytes.firstIndex { $0.contains(offset) || $0.upperBound == offset }
    }
}

/// Heat-map drawing for the preview pane.
public enum HeatMap {
    /// Each picture of a batch preview (laid out by `PictureGrid.make`) with its own word map over
    /// it; cells without maps are left as they are.
    public static func overlay(_ grid: RGBImage, _ attention: [WordAttention], word: Int) -> RGBImage {
        guard let first = attention.first, word < first.words.count else { return grid }
        let (w, h) = (first.width, first.height)
        let n = attention.count
        if n == 1 && grid.width == w && grid.height == h { return AttentionMaps.overlay(first.pixelMap(word), on: grid) }
        let cols = Int(Double(n).squareRoot().rounded(.up)), gap = 2
        var out = grid
        for (i, a) in attention.enumerated() where word < a.words.count {
            let ox = (i % cols) * (w + gap), oy = (i / cols) * (h + gap)
            guard ox + w <= grid.width, oy + h <= grid.height else { continue }
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h { for x in 0..<w {
                let (r, g, b) = grid.rgb(x: ox + x, y: oy + y)
                px[(y * w + x) * 3] = r; px[(y * w + x) * 3 + 1] = g; px[(y * w + x) * 3 + 2] = b
            } }
            let cell = AttentionMaps.overlay(a.pixelMap(word), on: RGBImage(width: w, height: h, pixels: px))
            for y in 0..<h { for x in 0..<w {
                let o = ((oy + y) * grid.width + ox + x) * grid.channels, s = (y * w + x) * 3
                out.pixels[o] = cell.pixels[s]; out.pixels[o + 1] = cell.pixels[s + 1]; out.pixels[o + 2] = cell.pixels[s + 2]
            } }
        }
        return out
    }

    /// The plain (no graphics) view: a coarse character map of `columns` × `rows` cells, darkest to
    /// densest ` .:-=+*#%@`, each cell the map's mass around its centre relative to the peak.
    public static func characterMap(_ a: WordAttention, word: Int, columns: Int, rows: Int) -> [String] {
        guard columns > 0, rows > 0, word < a.patchMaps.count else { return [] }
        let ramp = Array(" .:-=+*#%@")
        let m = a.patchMaps[word]
        let low = m.min() ?? 0, range = max((m.max() ?? 0) - low, 1e-30)
        return (0..<rows).map { r in
            String((0..<columns).map { c -> Character in
                let gy = min(a.gridHeight - 1, r * a.gridHeight / rows), gx = min(a.gridWidth - 1, c * a.gridWidth / columns)
                let v = (m[gy * a.gridWidth + gx] - low) / range
                return ramp[min(ramp.count - 1, Int(v * Double(ramp.count - 1) + 0.5))]
            })
        }
    }
}
