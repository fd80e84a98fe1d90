import Diffusion
import Foundation
import ImageIO
import PromptEncoder
import Shapes

/// What one captured text token (a key of the DiT's cross-attention) is. Every real key of the
/// conditional row is one of these; padding keys (masked, zero attention) are not kept.
public enum TextTokenRole: Equatable, Sendable {
    /// An instruction-template token that reaches the DiT: prefix tokens beyond the model's
    /// `instructionTokens` (a template longer than the one trained with), or the template's text
    /// after `{prompt}`. Not a word of the prompt; its mass is the template share.
    case template
    /// One of the prompt's own tokens, with the words (indices into `AttentionMaps.words`) whose
    /// bytes it overlaps. Empty: white space or punctuation only. A token that spans several words
    /// gives each an equal part of its mass.
    case prompt(words: [Int])
}

public struct TextTokenColumn: Equatable, Sendable {
    /// Index of the LLM branch (the model's branch order) whose token this is.
    public var branch: Int
    public var role: TextTokenRole
    public init(branch: Int, role: TextTokenRole) { self.branch = branch; self.role = role }
}

/// Per-word attention maps of one picture (DAAM, Tang et al. 2023, on LI-DiT's cross-attention):
/// the attention the image tokens paid to each text token, summed over heads and blocks, per
/// sampling step, for the conditional (guided) row only; words are merged from the subword tokens
/// of every LLM branch through the tokenizers' byte offsets.
///
/// Mass: each image token's attention sums to 1 per head and block, so one step adds
/// heads × blocks × image tokens × model calls of mass; shares and maps are ratios of it.
public struct AttentionMaps: Sendable {
    /// The picture's size in pixels and its patch grid (image token t covers patch row t / gridWidth,
    /// column t % gridWidth).
    public var width: Int, height: Int
    public var gridWidth: Int, gridHeight: Int
    public var prompt: String
    public var words: [PromptWord]
    public var branchNames: [String]
    public var columns: [TextTokenColumn]
    /// Per finished sampling step: [image tokens, columns] row-major.
    public var steps: [[Float]]

    public init(width: Int, height: Int, gridWidth: Int, gridHeight: Int, prompt: String, words: [PromptWord],
                branchNames: [String], columns: [TextTokenColumn], steps: [[Float]] = []) {
        self.width = width; self.height = height; self.gridWidth = gridWidth; self.gridHeight = gridHeight
        self.prompt = prompt; self.words = words; self.branchNames = branchNames; self.columns = columns; self.steps = steps
    }

    public var imageTokens: Int { gridWidth * gridHeight }

    /// [image tokens, columns] summed over the given steps (default: all of them).
    public func mass(steps range: Range<Int>? = nil) -> [Double] {
        let K = columns.count
        var out = [Double](repeating: 0, count: imageTokens * K)
        for s in (range ?? 0..<steps.count).clamped(to: 0..<steps.count) {
            for (i, v) in steps[s].enumerated() { out[i] += Double(v) }
        }
        return out
    }

    /// Word `w`'s attention per image token (unnormalised): the sum over its tokens in every branch.
    public func wordPatchMass(_ w: Int, steps range: Range<Int>? = nil) -> [Double] {
        let K = columns.count, m = mass(steps: range)
        var out = [Double](repeating: 0, count: imageTokens)
        for (k, c) in columns.enumerated() {
            guard case .prompt(let ws) = c.role, ws.contains(w) else { continue }
            let part = 1 / Double(ws.count)
            for t in 0..<imageTokens { out[t] += part * m[t * K + k] }
        }
        return out
    }

    /// Word `w`'s map over the picture's pixels, [height × width] row-major, summing to 1:
    /// nearest-neighbour upsampling of the patch grid (every pixel of a patch gets an equal part
    /// of the patch's mass, so the map is exactly the model's resolution, not smoothed). A word
    /// with no mass (its tokens cut off by the prompt-length limit, or every branch switched off)
    /// gets the uniform map.
    public func wordMap(_ w: Int, steps range: Range<Int>? = nil) -> [Float] {
        Self.upsample(wordPatchMass(w, steps: range), gridWidth: gridWidth, gridHeight: gridHeight, width: width, height: height)
    }

    /// Patch masses → a [height × width] map summing to 1 (nearest neighbour; uniform when empty).
    public static func upsample(_ patches: [Double], gridWidth: Int, gridHeight: Int, width: Int, height: Int) -> [Float] {
        let total = patches.reduce(0, +)
        guard total > 0 else { return [Float](repeating: 1 / Float(width * height), count: width * height) }
        // Pixels per patch along each axis (the last patch takes any remainder).
        var pixelsIn = [Int](repeating: 0, count: patches.count)
        for y in 0..<height { for x in 0..<width { pixelsIn[min(gridHeight - 1, y * gridHeight / height) * gridWidth + min(gridWidth - 1, x * gridWidth / width)] += 1 } }
        var out = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let t = min(gridHeight - 1, y * gridHeight / height) * gridWidth + min(gridWidth - 1, x * gridWidth / width)
                out[y * width + x] = Float(patches[t] / total / Double(pixelsIn[t]))
            }
        }
        return out
    }

    /// Share of the image tokens' cross-attention mass that went to each branch's tokens (prompt
    /// and template tokens alike), in branch order; sums to 1 when any mass was captured.
    public func branchShares(steps range: Range<Int>? = nil) -> [Double] {
        let K = columns.count, m = mass(steps: range)
        var per = [Double](repeating: 0, count: branchNames.count)
        for t in 0..<imageTokens { for (k, c) in columns.enumerated() { per[c.branch] += m[t * K + k] } }
        let total = per.reduce(0, +)
        return total > 0 ? per.map { $0 / total } : per
    }

    /// Share of the mass that went to instruction-template tokens (of every branch).
    public func templateShare(steps range: Range<Int>? = nil) -> Double {
        let K = columns.count, m = mass(steps: range)
        var template = 0.0, total = 0.0
        for t in 0..<imageTokens {
            for (k, c) in columns.enumerated() {
                total += m[t * K + k]
                if c.role == .template { template += m[t * K + k] }
            }
        }
        return total > 0 ? template / total : 0
    }

    /// `{"width", "height", "words": [{"word", "map"}], "branches": {name: share}, "template_share"}`
    /// over all steps (the format of `lidit generate --attention`).
    public func json() -> Data {
        // A Float's own shortest digits (0.0012345), not those of its widened Double.
        func number(_ v: Float) -> JSONValue { v.isFinite ? .double(Double(v.description)!) : .int(0) }
        func share(_ v: Double) -> JSONValue { v.isFinite ? .double(v) : .int(0) }
        let value = JSONValue.object([
            ("width", .int(width)), ("height", .int(height)),
            ("words", .array(words.indices.map { i in
                .object([("word", .string(words[i].text)), ("map", .array(wordMap(i).map(number)))])
            })),
            ("branches", .object(zip(branchNames, branchShares()).map { ($0, share($1)) })),
            ("template_share", share(templateShare())),
        ])
        return Data((value.serialized() + "\n").utf8)
    }
}

/// Collects the cross-attention of the conditional rows while `ImagePipeline.generate` samples:
/// pass one in to switch capture on (nil, the default, leaves the sampling loop untouched).
/// `maps` holds one `AttentionMaps` per seed, with a step appended as each sampling step finishes,
/// so a step callback can show the live maps.
public final class AttentionCapture: @unchecked Sendable {
    public private(set) var maps: [AttentionMaps] = []
    /// Per seed, the step being accumulated ([image tokens, columns]).
    var current: [[Float]] = []
    /// Per branch: token count of the conditional encoding, and the model's instruction tokens.
    var encodedTokens: [Int] = []
    var instructionTokens: [Int] = []

    public init() {}

    /// Sets up the columns for `prompt` as `pipeline` encodes it, one map set per seed.
    func start(_ pipeline: ImagePipeline, prompt: String, seeds: Int) {
        let words = PromptWord.split(prompt)
        let branches = pipeline.model.config.refiner.branches
        var columns: [TextTokenColumn] = []
        encodedTokens = []; instructionTokens = []
        for (a, enc) in pipeline.encoders.enumerated() {
            let prefix = enc.instructionTokenCount
            let spans = enc.promptByteSpans(prompt)
            let suffix = enc.suffixTokenCount
            let count = prefix + spans.count + suffix
            let n = branches[a].instructionTokens
            encodedTokens.append(count); instructionTokens.append(n)
            // Encoding index i = n + j for Y column j of this branch: template prefix, prompt, suffix.
            for i in n..<max(n, count) {
                if i < prefix || i >= prefix + spans.count {
                    columns.append(TextTokenColumn(branch: a, role: .template))
                } else {
                    let span = spans[i - prefix]
                    let ws = words.indices.filter { words[$0].bytes.overlaps(span) }
                    columns.append(TextTokenColumn(branch: a, role: .prompt(words: ws)))
                }
            }
        }
        let g = pipeline.model.geometry
        let blank = AttentionMaps(width: g.width, height: g.height, gridWidth: g.gridWidth, gridHeight: g.gridHeight,
                                  prompt: prompt, words: words, branchNames: branches.map(\.name), columns: columns)
        maps = Array(repeating: blank, count: seeds)
        current = Array(repeating: [Float](repeating: 0, count: g.tokens * columns.count), count: seeds)
    }

    /// Adds the last forward pass's attention of conditional row `row`; `branchTokens` are the
    /// per-branch token counts of that call's refiner input (Y has `branchTokens[a] − n_a` columns
    /// for branch a, padding after the real ones).
    func record(_ model: LIDiTModel, row: Int, branchTokens: [Int]) {
        let (values, S) = model.lastCrossAttention(row: row)
        let T = model.network.tokens, K = maps[row].columns.count
        var yColumn = 0, kColumn = 0
        var columnMap: [(y: Int, k: Int)] = []
        for a in branchTokens.indices {
            let n = instructionTokens[a]
            let real = max(0, encodedTokens[a] - n), segment = max(0, branchTokens[a] - n)
            for j in 0..<min(real, segment) { columnMap.append((yColumn + j, kColumn + j)) }
            yColumn += segment; kColumn += real
        }
        precondition(yColumn == S && kColumn == K, "text layout: \(yColumn) Y columns (model had \(S)), \(kColumn) of \(K) captured")
        current[row].withUnsafeMutableBufferPointer { cur in
            for t in 0..<T { for (y, k) in columnMap { cur[t * K + k] += values[t * S + y] } }
        }
    }

    /// Closes the step being accumulated.
    func finishStep() {
        for i in maps.indices {
            maps[i].steps.append(current[i])
            current[i] = [Float](repeating: 0, count: current[i].count)
        }
    }
}

// MARK: pictures

extension AttentionMaps {
    /// A heat colour for v ∈ [0, 1]: black → red → yellow → white (a "hot" ramp: readable in
    /// 256-colour terminals and in print, and monotone in lightness).
    public static func heatColor(_ v: Float) -> (UInt8, UInt8, UInt8) {
        let x = max(0, min(1, v.isFinite ? v : 0)) * 3
        func byte(_ f: Float) -> UInt8 { UInt8(max(0, min(255, (f * 255).rounded()))) }
        return (byte(x), byte(x - 1), byte(x - 2))
    }

    /// `map` ([height × width], as `wordMap` gives) over `picture`: the picture in dimmed gray,
    /// the map's heat colour blended in by where the value lies between the map's minimum and
    /// maximum (cross-attention maps are flat-ish, so stretching is what makes them readable).
    public static func overlay(_ map: [Float], on picture: RGBImage) -> RGBImage {
        let n = picture.width * picture.height
        precondition(map.count == n, "a map of \(map.count) values for a \(picture.width)×\(picture.height) picture")
        let low = map.min() ?? 0
        let range = max((map.max() ?? 0) - low, .leastNonzeroMagnitude)
        var px = [UInt8](repeating: 0, count: 3 * n)
        for i in 0..<n {
            let s = i * picture.channels
            let gray = (0.299 * Float(picture.pixels[s]) + 0.587 * Float(picture.pixels[s + 1]) + 0.114 * Float(picture.pixels[s + 2])) * 0.45
            let v = (map[i] - low) / range
            let (r, g, b) = heatColor(v)
            let a = 0.25 + 0.75 * v
            px[3 * i] = UInt8(min(255, (1 - a) * gray + a * Float(r)))
            px[3 * i + 1] = UInt8(min(255, (1 - a) * gray + a * Float(g)))
            px[3 * i + 2] = UInt8(min(255, (1 - a) * gray + a * Float(b)))
        }
        return RGBImage(width: picture.width, height: picture.height, pixels: px)
    }

    /// The attention sheet: the picture, then one tile per word with its map over the picture,
    /// each labelled (5×7 label font, as `lidit grid`); tiles upscaled by `scale` (nearest).
    public func sheet(picture: RGBImage, scale: Int = 4) -> RGBImage {
        let tiles = [picture] + words.indices.map { Self.overlay(wordMap($0), on: picture) }
        let shares = zip(branchNames, branchShares()).map { "\($0)=\(String(format: "%.2f", $1))" }.joined(separator: " ")
        let labels = ["picture"] + words.map(\.text)
        let grid = PictureGrid(columnLabels: labels, rowLabels: [shares + String(format: " template=%.2f", templateShare())],
                               cellWidth: picture.width, cellHeight: picture.height, scale: scale)
        return grid.render(tiles)
    }
}
