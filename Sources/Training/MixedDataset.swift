import Kernels
import Shapes

/// Several shapes pools trained on in the same steps. A phase on one pool teaches its skill and
/// a later phase on another takes part of it back (the binding and wide pools of issue 25), so a
/// mixture draws from every pool at once: each draw first picks a pool by its share, then an
/// entry within it exactly as that pool alone would.
///
/// The captions are the pools' captions one after the other; every pool keeps its own feature
/// cache (so a pool cached by an earlier run is not recomputed) and its own layout randomness.
public struct MixedDataset: TrainingData {
    public let pools: [ShapesDataset]
    /// Each pool's probability of being drawn (summing to 1).
    public let shares: [Double]
    public let captions: [String]
    public var seed: UInt64 { pools[0].seed }
    /// Index of each pool's first caption in `captions`.
    let offsets: [Int]

    /// `shares` default to the pools' sizes (uniform over all captions).
    public init(pools: [ShapesDataset], shares: [Double]? = nil) {
        precondition(!pools.isEmpty, "a mixture needs a pool")
        let weights = shares ?? pools.map { Double($0.captions.count) }
        precondition(weights.count == pools.count && weights.allSatisfy { $0 >= 0 } && weights.reduce(0, +) > 0)
        let total = weights.reduce(0, +)
        self.pools = pools
        self.shares = weights.map { $0 / total }
        var offsets: [Int] = [], running = 0
        for p in pools { offsets.append(running); running += p.captions.count }
        self.offsets = offsets
        self.captions = pools.flatMap(\.captions)
    }

    /// The mixture a training config describes: `data` and its `alongside` pools.
    public init(_ data: TrainingConfig.Data, imageSize: Int) {
        let all = [data] + (data.alongside ?? [])
        let pools = all.map { ShapesDataset($0, imageSize: imageSize) }
        let explicit = all.allSatisfy { $0.share != nil }
        self.init(pools: pools, shares: explicit ? all.map { $0.share! } : nil)
    }

    /// Which pool a draw comes from, from a hash of its own so that the entry within the pool is
    /// the one the pool alone would draw at (step, slot).
    func pool(step: Int, slot: Int) -> Int {
        var rng = SplitMix64(seed: drawHash(step: step, slot: slot) ^ 0x6D69_7874_7572_6521)
        let u = rng.unit()
        var cumulative = 0.0
        for (p, share) in shares.enumerated() {
            cumulative += share
            if u < cumulative { return p }
        }
        return shares.lastIndex { $0 > 0 }!
    }

    public func index(step: Int, slot: Int) -> Int {
        let p = pool(step: step, slot: slot)
        return offsets[p] + pools[p].index(step: step, slot: slot)
    }

    public var captionGroups: [[String]] { pools.map(\.captions) }

    public func image(index: Int, step: Int, slot: Int) -> [Float] {
        let p = offsets.lastIndex { $0 <= index }!
        return pools[p].image(index: index - offsets[p], step: step, slot: slot)
    }
}

/// The shapes data a config describes: one pool, or a mixture when it lists pools alongside.
public func shapesData(_ data: TrainingConfig.Data, imageSize: Int) -> any TrainingData {
    if data.alongside?.isEmpty == false { return MixedDataset(data, imageSize: imageSize) }
    return ShapesDataset(data, imageSize: imageSize)
}
