import Kernels
import NeuralLayers
import PromptEncoder
import Sampling

/// How the training loss is measured (rectified flow: x_σ = (1−σ)·x₀ + σ·ε).
public enum LossSpace: String, Codable, Sendable {
    /// MSE between predicted and true velocity. For a clean-image model this is JiT's "x-prediction,
    /// v-loss": v̂ = (x_σ − x̂₀)/max(σ, σ_min), v = (x_σ − x₀)/max(σ, σ_min), i.e. ‖x̂₀ − x₀‖²/max(σ, σ_min)².
    case velocity
    /// MSE between predicted and true clean image (plain x₀-loss; for clean-image models only).
    case cleanImage
}

/// Everything needed to rebuild an LI-DiT model (saved with checkpoints).
public struct LIDiTConfig: Codable, Equatable, Sendable {
    /// Square images of imageSize × imageSize pixels, `channels` planes (pixel space for the default model).
    public var imageSize: Int = 64
    public var channels: Int = 3
    public var patch: Int = 8
    public var width: Int = 192
    public var depth: Int = 6
    public var heads: Int = 4
    public var mlpRatio: Int = 4
    /// DiT MLP nonlinearity (DiT: GELU, tanh approximation).
    public var activation: Activation = .geluTanh
    /// QK RMSNorm (eps 1e-6, learnable per-head-dim weight) in self- and cross-attention.
    public var qkNorm: Bool = true
    /// Add an MLP of the masked mean of Y to the timestep embedding for the adaLN conditioning.
    public var pooledText: Bool = true
    /// At sampling, the pooled text vector is multiplied by this (nil: 1; training always sees 1).
    /// A model trained with pooled text dropout can draw from the text tokens alone; a softer bag
    /// of words lets each object's own words say its shape, which binds color–shape pairs that
    /// training never showed (docs/experiment-log.md, thirteenth session).
    public var pooledTextScale: Float?
    public var prediction: Prediction = .cleanImage
    public var loss: LossSpace = .velocity
    /// JiT's t_eps: the σ below which the velocity loss of a clean-image model stops growing as 1/σ².
    public var minimumSigma: Float = 0.05
    /// The prompt encoder's trainable part.
    public var refiner: RefinerConfig

    public init(imageSize: Int = 64, channels: Int = 3, patch: Int = 8, width: Int = 192, depth: Int = 6, heads: Int = 4,
                mlpRatio: Int = 4, activation: Activation = .geluTanh, qkNorm: Bool = true, pooledText: Bool = true,
                prediction: Prediction = .cleanImage, loss: LossSpace = .velocity, minimumSigma: Float = 0.05,
                refiner: RefinerConfig) {
        self.imageSize = imageSize; self.channels = channels; self.patch = patch; self.width = width; self.depth = depth
        self.heads = heads; self.mlpRatio = mlpRatio; self.activation = activation; self.qkNorm = qkNorm
        self.pooledText = pooledText; self.prediction = prediction; self.loss = loss; self.minimumSigma = minimumSigma
        self.refiner = refiner
    }

    /// The project's default model: 64×64 RGB, 8×8 patches (64 tokens), width 192, depth 6, 4 heads,
    /// clean-image prediction with JiT's v-loss; refiners of width 192 over SmolLM2-135M (576) and
    /// Gemma-3-270M (640). Instruction-token counts depend on the template; set them from the tokenizer.
    public static func standard(instructionTokens: [Int] = [0, 0]) -> LIDiTConfig {
        LIDiTConfig(refiner: RefinerConfig(branches: [
            LLMBranchConfig(name: "smollm2", width: 576, instructionTokens: instructionTokens[0]),
            LLMBranchConfig(name: "gemma3", width: 640, instructionTokens: instructionTokens[1]),
        ], width: 192, heads: 4))
    }

    public var geometry: PatchGeometry {
        PatchGeometry(channels: channels, height: imageSize, width: imageSize, patch: patch)
    }

    enum CodingKeys: String, CodingKey {
        case imageSize, channels, patch, width, depth, heads, mlpRatio, activation, qkNorm, pooledText, pooledTextScale
        case prediction, loss, minimumSigma, refiner
    }

    /// Missing keys take the defaults, so older configs keep loading.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        refiner = try c.decode(RefinerConfig.self, forKey: .refiner)
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? 64
        channels = try c.decodeIfPresent(Int.self, forKey: .channels) ?? 3
        patch = try c.decodeIfPresent(Int.self, forKey: .patch) ?? 8
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? 192
        depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? 6
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? 4
        mlpRatio = try c.decodeIfPresent(Int.self, forKey: .mlpRatio) ?? 4
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? .geluTanh
        qkNorm = try c.decodeIfPresent(Bool.self, forKey: .qkNorm) ?? true
        pooledText = try c.decodeIfPresent(Bool.self, forKey: .pooledText) ?? true
        pooledTextScale = try c.decodeIfPresent(Float.self, forKey: .pooledTextScale)
        prediction = try c.decodeIfPresent(Prediction.self, forKey: .prediction) ?? .cleanImage
        loss = try c.decodeIfPresent(LossSpace.self, forKey: .loss) ?? .velocity
        minimumSigma = try c.decodeIfPresent(Float.self, forKey: .minimumSigma) ?? 0.05
    }

    /// The range of every size field, by its key in the JSON. A model file can come from anywhere:
    /// a zero would be divided by, a negative or huge one would be allocated, so every field is
    /// checked against these before anything else looks at it.
    public static let fieldRanges: [(key: String, range: ClosedRange<Int>, value: (LIDiTConfig) -> Int)] = [
        ("imageSize", 1...1024, \.imageSize), ("channels", 1...4, \.channels), ("patch", 1...64, \.patch),
        ("width", 4...4096, \.width), ("depth", 1...64, \.depth), ("heads", 1...64, \.heads),
        ("mlpRatio", 1...16, \.mlpRatio),
        ("refiner.width", 1...4096, \.refiner.width), ("refiner.heads", 1...64, \.refiner.heads),
        ("refiner.blocks", 0...16, \.refiner.blocks), ("refiner.collaborativeBlocks", 0...16, \.refiner.collaborativeBlocks),
        ("refiner.mlpRatio", 1...16, \.refiner.mlpRatio), ("refiner.branches", 1...8, \.refiner.branches.count),
    ]
    /// Per LLM branch: its feature width and instruction-token count.
    public static let branchWidthRange = 1...8192
    public static let instructionTokenRange = 0...4096
    /// Image tokens ((imageSize / patch)²): attention is quadratic in them.
    public static let maximumTokens = 4096

    /// Checks every field's range, then that the shapes fit together; returns a message naming
    /// the field (by its JSON key) for the first problem.
    public func validate() -> String? {
        for f in Self.fieldRanges where !f.range.contains(f.value(self)) {
            return "\(f.key) must be \(f.range.lowerBound)...\(f.range.upperBound) (got \(f.value(self)))"
        }
        for (i, b) in refiner.branches.enumerated() {
            if !Self.branchWidthRange.contains(b.width) {
                return "refiner.branches.\(i).width must be \(Self.branchWidthRange) (got \(b.width))"
            }
            if !Self.instructionTokenRange.contains(b.instructionTokens) {
                return "refiner.branches.\(i).instructionTokens must be \(Self.instructionTokenRange) (got \(b.instructionTokens))"
            }
        }
        if !(minimumSigma.isFinite && minimumSigma >= 0 && minimumSigma < 1) { return "minimumSigma must be in [0, 1) (got \(minimumSigma))" }
        if let s = pooledTextScale {
            if !(s.isFinite && s >= 0 && s <= 1) { return "pooledTextScale must be in [0, 1] (got \(s))" }
            if !pooledText { return "pooledTextScale needs a model with pooled text (pooledText)" }
        }
        if patch > imageSize { return "patch \(patch) is larger than imageSize \(imageSize)" }
        if imageSize % patch != 0 { return "image size \(imageSize) is not a multiple of patch \(patch)" }
        let tokens = (imageSize / patch) * (imageSize / patch)
        if tokens > Self.maximumTokens { return "imageSize / patch gives \(tokens) image tokens, more than \(Self.maximumTokens)" }
        if width % heads != 0 { return "width \(width) is not a multiple of \(heads) heads" }
        if width % 4 != 0 { return "width \(width) must be a multiple of 4 (2-D sin-cos position embedding)" }
        if refiner.width % refiner.heads != 0 { return "refiner width \(refiner.width) is not a multiple of \(refiner.heads) heads" }
        if refiner.branches.isEmpty { return "no LLM branches" }
        if Set(refiner.branches.map(\.name)).count != refiner.branches.count { return "branch names must be unique" }
        if prediction == .velocity && loss == .cleanImage { return "a velocity model cannot take a clean-image loss" }
        return nil
    }
}
