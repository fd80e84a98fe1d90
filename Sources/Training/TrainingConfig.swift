import Diffusion
import Foundation
import PromptEncoder
import Shapes

/// Everything a training run needs, saved as `config.json` in the run folder.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public struct Data: Codable, Equatable, Sendable {
        /// Distinct captions (and scene descriptions) in the pool; LLM features are cached per caption.
        public var captions: Int = 3000
        public var seed: UInt64 = 1
        public var maxObjects: Int = 4
        /// The share of draws from captions that state a relation; absent: uniform over the pool
        /// (about a quarter). For testing whether relations fail for want of samples.
        public var relationShare: Double?
        /// With `relationShare`, its draws take only captions whose scene states one of these
        /// relations (e.g. ["left of", "right of"]); scenes with the other relations are not drawn.
        /// For testing whether one axis lags for want of samples.
        public var relations: [Relation]?
        /// The caption phrasing (absent: `original`, the grammar every earlier model was trained on).
        public var grammar: CaptionGrammar.Style?
        /// The chance that a caption names a group's color (absent: 0.85). Lower rates make the model
        /// bind shapes, not only colors, to places and counts.
        public var colorRate: Double?
        /// How often each kind of scene (single, counting, pair, relation, list) is in the pool
        /// (absent: 0.25, 0.15, 0.2, 0.25, 0.15). A pool that leans on the kinds a model fails at
        /// changes the captions, so their features are computed afresh.
        public var compositions: Compositions?
        /// Lay out captions without a stated relation left to right in the order they name the
        /// groups (`SceneLayout.readingOrder`; absent: false, places drawn at random).
        public var readingOrder: Bool?
        /// With reading order, the least distance across the canvas between the first and the last
        /// group's centroids (`SceneLayout.readingOrderSpread`; absent: neighbours 0.05 apart).
        public var readingOrderSpread: Double?
        /// Lay out scenes of one kind only (counting) one object per cell: two side by side, three
        /// in a row (a triangle when large), four as a 2×2 grid (`SceneLayout.countGrid`; absent: false).
        public var countGrid: Bool?
        /// A folder of PNG pictures with same-named .txt captions to train on instead of the
        /// shapes domain (then `captions` and `maxObjects` are unused).
        public var folder: String?
        /// Further shapes pools drawn in the same steps as this one (`MixedDataset`), each with its
        /// own captions, seed, grammar and feature cache. Nested pools and folders are not allowed.
        public var alongside: [Data]?
        /// In a mixture, this pool's share of the draws; absent on every pool: shares follow the
        /// pools' sizes (uniform over all captions).
        public var share: Double?
        public init() {}

        func validate() throws {
            if let share = relationShare, !(0...1).contains(share) {
                throw TrainingError("relation share must be in [0, 1]")
            }
            if let relations = relations {
                guard !relations.isEmpty else { throw TrainingError("relations must name at least one relation") }
                guard relationShare != nil else { throw TrainingError("relations needs a relation share") }
            }
            if let rate = colorRate, !(0...1).contains(rate) {
                throw TrainingError("color rate must be in [0, 1]")
            }
            if let spread = readingOrderSpread {
                guard readingOrder == true else { throw TrainingError("readingOrderSpread needs readingOrder") }
                guard (0...0.4).contains(spread) else { throw TrainingError("readingOrderSpread must be in [0, 0.4] (got \(spread))") }
            }
            if let problem = compositions?.problem { throw TrainingError(problem) }
            guard (1...1_000_000).contains(captions) else { throw TrainingError("caption pool must be 1...1000000") }
            // Counting scenes draw 2...maxObjects of one shape and lists that many distinct shapes,
            // of which there are eight.
            guard folder != nil || (2...ShapeKind.allCases.count).contains(maxObjects) else {
                throw TrainingError("maxObjects must be 2...\(ShapeKind.allCases.count) (got \(maxObjects))")
            }
        }
    }

    public struct Optimizer: Codable, Equatable, Sendable {
        public var learningRate: Float = 3e-4
        public var beta1: Float = 0.9
        public var beta2: Float = 0.99
        public var weightDecay: Float = 0.01
        public var warmupSteps: Int = 500
        public var totalSteps: Int = 40_000
        /// Cosine decay down to this fraction of the peak rate.
        public var finalLearningRateFraction: Float = 0.1
        public var gradientClip: Float = 1.0
        public var emaDecay: Float = 0.999
        public init() {}
    }

    public var model: LIDiTConfig
    public var encoders: [EncoderSpec]
    public var data = Data()
    public var optimizer = Optimizer()
    public var batchSize: Int = 32
    public var captionDropout: Float = 0.1
    /// Chance that a sample's pooled text vector is hidden from the DiT while its text tokens stay
    /// (nil: never). The pooled vector is a bag of the prompt's words; without it the objects must
    /// come through cross-attention, which can bind each to its own words.
    public var pooledTextDropout: Float?
    /// Logit-normal timestep sampling (SD3): σ = sigmoid(mean + std·n).
    public var timestepMean: Float = 0
    public var timestepStd: Float = 1
    public var seed: UInt64 = 0
    public var checkpointSeconds: Double = 300
    public var sampleEvery: Int = 1000
    public var logEvery: Int = 10

    public init(model: LIDiTConfig, encoders: [EncoderSpec]) {
        self.model = model
        self.encoders = encoders
    }

    /// The project's default model recipe.
    public static func standard() -> TrainingConfig {
        TrainingConfig(model: .standard(), encoders: [EncoderSpec(id: "smollm2"), EncoderSpec(id: "gemma3")])
    }

    public func validate() throws {
        if let problem = ModelRecipe(model: model, encoders: encoders).problem { throw TrainingError(problem) }
        guard (1...4096).contains(batchSize) else { throw TrainingError("batch size must be 1...4096") }
        if let folder = data.folder {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw TrainingError("\(folder): no such folder")
            }
        }
        try data.validate()
        for pool in data.alongside ?? [] {
            guard pool.folder == nil, data.folder == nil else { throw TrainingError("a mixture takes shapes pools only, not folders") }
            guard pool.alongside == nil else { throw TrainingError("a pool alongside another cannot have pools of its own") }
            try pool.validate()
        }
        if let pools = data.alongside, !pools.isEmpty {
            let shares = ([data] + pools).map(\.share)
            guard shares.allSatisfy({ $0 == nil }) || shares.allSatisfy({ $0 != nil }) else {
                throw TrainingError("give every pool of a mixture a share, or none")
            }
            if shares.allSatisfy({ $0 != nil }), !(shares.allSatisfy { $0! >= 0 } && shares.reduce(0) { $0 + $1! } > 0) {
                throw TrainingError("pool shares must be non-negative and not all zero")
            }
        }
        guard optimizer.totalSteps > 0, optimizer.warmupSteps >= 0 else { throw TrainingError("steps must be positive") }
        guard optimizer.learningRate > 0, optimizer.learningRate < 1 else { throw TrainingError("learning rate must be in (0, 1)") }
        guard (0...1).contains(captionDropout) else { throw TrainingError("caption dropout must be in [0, 1]") }
        guard (0...1).contains(pooledTextDropout ?? 0) else { throw TrainingError("pooled text dropout must be in [0, 1]") }
        guard pooledTextDropout == nil || model.pooledText else {
            throw TrainingError("pooled text dropout needs a model with pooled text (model.pooledText)")
        }
        guard (0..<1).contains(optimizer.emaDecay) else { throw TrainingError("EMA decay must be in [0, 1)") }
    }
}

public struct TrainingError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
