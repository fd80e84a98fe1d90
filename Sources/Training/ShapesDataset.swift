import Foundation
import Kernels
import Shapes

/// The default model's data: a fixed pool of scene descriptions with one caption each, rendered
/// afresh every time they are drawn (new colors for unnamed ones, new places within what the
/// caption says), so images never repeat while the LLM features are computed once per caption.
/// Held-out color/shape combinations never appear.
///
/// Every draw is a pure function of (seed, step, slot): a resumed run sees exactly the data the
/// uninterrupted run would have seen.
public struct ShapesDataset: Sendable {
    public let descriptions: [SceneDescription]
    public let captions: [String]
    public let imageSize: Int
    public let seed: UInt64
    /// The share of draws taken from captions that state a relation ("left of", "above", ...);
    /// nil draws uniformly from the pool (where about a quarter state one).
    public let relationShare: Double?
    /// The relations a relation draw may take (nil: all four).
    public let relations: Set<Relation>?
    let relationEntries: [Int], otherEntries: [Int]
    let layout: SceneLayout
    let rasterizer = Rasterizer()

    public init(captions count: Int, seed: UInt64, imageSize: Int, maxObjects: Int = 4, relationShare: Double? = nil,
                relations: Set<Relation>? = nil, grammar style: CaptionGrammar.Style = .original, colorRate: Double? = nil,
                compositions: Compositions? = nil, readingOrder: Bool = false, readingOrderSpread: Double? = nil,
                countGrid: Bool = false) {
        var layout = SceneLayout()
        layout.readingOrder = readingOrder
        layout.readingOrderSpread = readingOrderSpread
        layout.countGrid = countGrid
        self.layout = layout
        var sampler = SceneSampler(policy: .training)
        sampler.maxObjects = maxObjects
        if let colorRate { sampler.colorRate = colorRate }
        if let compositions { sampler.compositions = compositions }
        let grammar = CaptionGrammar(style: style)
        var rng = SplitMix64(seed: seed)
        var descriptions: [SceneDescription] = []
        var captions: [String] = []
        var seen = Set<String>()
        var attempts = 0
        while descriptions.count < count && attempts < count * 20 {
            attempts += 1
            let d = sampler.description(using: &rng)
            let c = grammar.caption(for: d, using: &rng)
            guard !seen.contains(c) else { continue }
            seen.insert(c)
            descriptions.append(d)
            captions.append(c)
        }
        self.descriptions = descriptions
        self.captions = captions
        self.imageSize = imageSize
        self.seed = seed
        self.relationShare = relationShare
        self.relations = relations
        relationEntries = descriptions.indices.filter {
            guard let relation = descriptions[$0].relation?.relation else { return false }
            return relations?.contains(relation) ?? true
        }
        otherEntries = descriptions.indices.filter { descriptions[$0].relation == nil }
    }

    /// The pool a training config describes.
    public init(_ data: TrainingConfig.Data, imageSize: Int) {
        self.init(captions: data.captions, seed: data.seed, imageSize: imageSize, maxObjects: data.maxObjects,
                  relationShare: data.relationShare, relations: data.relations.map(Set.init),
                  grammar: data.grammar ?? .original, colorRate: data.colorRate, compositions: data.compositions,
                  readingOrder: data.readingOrder ?? false, readingOrderSpread: data.readingOrderSpread,
                  countGrid: data.countGrid ?? false)
    }

    /// Uniform over the pool, or, with a relation share, first a coin with that bias chooses
    /// between the relation captions and the rest, then a uniform pick within the chosen part.
    public func index(step: Int, slot: Int) -> Int {
        let hash = drawHash(step: step, slot: slot)
        guard let relationShare, !relationEntries.isEmpty, !otherEntries.isEmpty else {
            return Int(hash % UInt64(captions.count))
        }
        var rng = SplitMix64(seed: hash)
        return rng.pick(rng.chance(relationShare) ? relationEntries : otherEntries)
    }

    /// The picture for pool entry `index`, laid out with randomness from (step, slot), as planar
    /// RGB in [−1, 1] ([3, size, size]).
    public func image(index: Int, step: Int, slot: Int) -> [Float] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed &+ 0x5EED) ^ (UInt64(step) << 20) ^ UInt64(slot))
        let picture: FloatImage
        if let scene = try? layout.scene(for: descriptions[index], policy: .training, using: &rng) {
            picture = rasterizer.render(scene, width: imageSize, height: imageSize)
        } else {
            // A layout that cannot fit is vanishingly rare; an empty canvas keeps the step going.
            picture = FloatImage(width: imageSize, height: imageSize, fill: Palette.background)
        }
        return Self.planar(picture)
    }

    /// HWC [0, 1] → CHW [−1, 1].
    public static func planar(_ image: FloatImage) -> [Float] {
        let n = image.width * image.height
        var out = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n { for c in 0..<3 { out[c * n + i] = image.pixels[i * 3 + c] * 2 - 1 } }
        return out
    }
}
