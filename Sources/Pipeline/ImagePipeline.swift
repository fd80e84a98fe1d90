import Diffusion
import Gallery
import Foundation
import ImageIO
import Kernels
import NeuralLayers
import ModelFiles
import PromptEncoder
import Sampling

/// Pads per-sample LLM features of one branch ([tokens_i, width] each) into a refiner input.
public func branchInput(_ samples: [[Float]], width: Int) -> RefinerBranchInput {
    let T = max(1, samples.map { $0.count / width }.max() ?? 1)
    var features = [Float](repeating: 0, count: samples.count * T * width)
    var mask = [UInt8](repeating: 0, count: samples.count * T)
    for (b, s) in samples.enumerated() {
        let n = s.count / width
        for i in 0..<(n * width) { features[b * T * width + i] = s[i] }
        for t in 0..<n { mask[b * T + t] = 1 }
    }
    return RefinerBranchInput(tokens: T, features: features, mask: mask)
}

/// What one generation asks for.
public struct GenerationRequest: Sendable {
    public var prompt: String
    public var negativePrompt: String = ""
    public var seed: UInt64 = 0
    public var sampler = SamplerSettings(sampler: .euler, steps: 24, shift: 1, guidanceScale: 4)
    /// Per encoder, in the model's branch order: 1 = as trained, 0 = off.
    public var fusionWeights: [Float]? = nil
    /// img2img: the start picture as planar RGB in [−1, 1] at the model's size
    /// (`ImagePipeline.startPicture`), noised to the σ of the step `strength` selects; only the
    /// steps from there run. Strength 1 (or no picture) is plain txt2img, 0 gives the picture back.
    public var initImage: [Float]? = nil
    public var strength: Double = 1
    /// A1111's variation seeds: one per seed (empty: none); each picture's noise is slerped from
    /// its seed's towards its variation seed's by `variationStrength`.
    public var variationSeeds: [UInt64] = []
    public var variationStrength: Double = 0
    public init(prompt: String) { self.prompt = prompt }

    /// Longer prompts would take minutes to tokenize and encode.
    public static let maximumPromptBytes = 20_000

    public static func checkPromptSize(_ prompt: String, negative: String = "") throws {
        guard prompt.utf8.count <= maximumPromptBytes, negative.utf8.count <= maximumPromptBytes else {
            throw PipelineError("the prompt is longer than \(maximumPromptBytes) bytes")
        }
    }
}

public struct PipelineError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A trained LI-DiT with its frozen LLM encoders: prompt in, picture out.
public final class ImagePipeline: @unchecked Sendable {
    public let model: LIDiTModel
    public let encoders: [LLMTextEncoder]
    public let layers: [Int]
    public let modelID: String

    public init(model: LIDiTModel, encoders: [LLMTextEncoder], layers: [Int], modelID: String) {
        self.model = model
        self.encoders = encoders
        self.layers = layers
        self.modelID = modelID
    }

    /// Loads a model file (`ModelFile`: its configuration and weights, checked before anything
    /// is allocated) and its LLMs, and checks that the LLMs fit the refiner branches the file
    /// was trained with. Each failure is one line naming the file and the field.
    public static func load(modelPath: String, store: ModelStore = ModelStore()) throws -> ImagePipeline {
        let file: ModelFile
        do { file = try ModelFile.read(path: modelPath) } catch let e as ModelFileError { throw PipelineError(e.description) }
        let recipe = file.recipe, key = "lidit.training_config"
        let model: LIDiTModel
        do { model = try file.makeModel() } catch let e as ModelFileError { throw PipelineError(e.description) }
        let encoders = try recipe.encoders.map { e in try LLMTextEncoder.load(e.id, store: store, template: e.template, layer: e.layer) }
        for (i, (enc, b)) in zip(encoders, recipe.model.refiner.branches).enumerated() {
            // The refiner reads features of the LLM's width, from a layer the LLM has.
            guard enc.model.config.width == b.width else {
                throw PipelineError("\(modelPath): \(key): model.refiner.branches.\(i).width is \(b.width), but \(enc.id) gives \(enc.model.config.width)")
            }
            guard b.instructionTokens <= enc.instructionTokenCount else {
                throw PipelineError("\(modelPath): \(key): model.refiner.branches.\(i).instructionTokens is \(b.instructionTokens), but \(enc.id)'s template has \(enc.instructionTokenCount)")
            }
            guard enc.model.resolveLayer(enc.layer) != nil else {
                throw PipelineError("\(modelPath): \(key): encoders.\(i).layer \(enc.layer) is out of range for \(enc.id) (0...\(enc.model.config.blockCount), or -1...-\(enc.model.config.blockCount + 1))")
            }
        }
        return ImagePipeline(model: model, encoders: encoders, layers: recipe.encoders.map(\.layer),
                             modelID: file.modelID ?? URL(fileURLWithPath: modelPath).lastPathComponent)
    }

    /// The same model with other hidden-state layers (a layer per encoder, in branch order).
    public func withLayers(_ layers: [Int]) throws -> ImagePipeline {
        guard layers.count == encoders.count else { throw PipelineError("expected \(encoders.count) layers, got \(layers.count)") }
        for (enc, layer) in zip(encoders, layers) where enc.model.resolveLayer(layer) == nil {
            throw PipelineError("layer \(layer) is out of range for \(enc.id) (0...\(enc.model.config.blockCount) or -1...-\(enc.model.config.blockCount + 1))")
        }
        return layers == self.layers ? self : ImagePipeline(model: model, encoders: encoders, layers: layers, modelID: modelID)
    }

    /// Encodes prompts with every LLM (the instruction prefix comes from each encoder's cache).
    public func textFeatures(_ prompts: [String]) throws -> [[[Float]]] {
        try zip(encoders, layers).map { enc, layer in try enc.encode(prompts, layer: layer).map(\.features) }
    }

    public func refinerInput(features: [[[Float]]], dropText: [Bool]?, fusion: [Float]?) -> RefinerInput {
        let branches = zip(encoders, features).map { enc, f in branchInput(f, width: enc.model.config.width) }
        return RefinerInput(batch: features[0].count, branches: branches, fusionWeights: fusion, dropText: dropText)
    }

    /// Generates one picture per seed. `onStep` sees each step's denoised estimate (as a
    /// picture) and may return false to cancel (the call then throws CancellationError).
    /// With `attention`, the cross-attention of the conditional rows is captured into it, a step
    /// at a time (already updated when `onStep` runs); without, nothing is captured or allocated.
    public func generate(_ request: GenerationRequest, seeds: [UInt64], attention: AttentionCapture? = nil,
                         onStep: ((Int, Int, [RGBImage]) -> Bool)? = nil) throws -> [RGBImage] {
        let B = seeds.count
        guard B > 0 else { return [] }
        try GenerationRequest.checkPromptSize(request.prompt, negative: request.negativePrompt)
        if let f = request.fusionWeights {
            guard f.count == encoders.count else { throw PipelineError("expected \(encoders.count) fusion weights, got \(f.count)") }
            guard f.allSatisfy({ $0 >= 0 && $0 <= 4 }) else { throw PipelineError("fusion weights must be between 0 and 4") }
        }
        // Each prompt is encoded once and its features shared by every seed: a batch of seeds gives
        // the same pictures as one seed at a time, at the price of one encode.
        let cond = try textFeatures([request.prompt]).map { Array(repeating: $0[0], count: B) }
        let condInput = refinerInput(features: cond, dropText: nil, fusion: request.fusionWeights)
        // Guided calls carry the conditional rows, then the unconditional ones (null text, or the
        // negative prompt).
        let negative = request.negativePrompt.isEmpty ? cond : try textFeatures([request.negativePrompt]).map { Array(repeating: $0[0], count: B) }
        let both = refinerInput(features: zip(cond, negative).map { $0 + $1 },
                                dropText: Array(repeating: false, count: B) + Array(repeating: request.negativePrompt.isEmpty, count: B),
                                fusion: request.fusionWeights)
        let model = self.model
                attention?.start(self, prompt: request.prompt, seeds: B)
        let denoiser = Denoiser(prediction: model.config.prediction) { input in
            let text = input.includesUnconditional ? both : condInput
            let out = model.predict(noisy: input.x, sigmas: Array(repeating: Float(input.sigma), count: input.rows), text: text)
            // Rows 0..<B are the conditional ones with or without guidance.
            if let attention {
                for r in 0..<input.batch { attention.record(model, row: r, branchTokens: text.branches.map(\.tokens)) }
            }
            return out
        }
        let sampler = try Sampler(settings: request.sampler)
        let n = model.geometry.pixelsPerImage
        let size = model.config.imageSize
        guard request.variationSeeds.isEmpty || request.variationSeeds.count == B else {
            throw PipelineError("expected \(B) variation seeds, got \(request.variationSeeds.count)")
        }
        guard (0...1).contains(request.variationStrength), (0...1).contains(request.strength) else {
            throw PipelineError("strengths must be between 0 and 1")
        }
        var start = request.variationSeeds.isEmpty ? Sampler.noise(seeds: seeds, elementsPerRow: n)
            : Sampler.variationNoise(seeds: seeds, variationSeeds: request.variationSeeds, strength: request.variationStrength, elementsPerRow: n)
        var startStep = 0
        if let clean = request.initImage, request.strength < 1 {
            guard clean.count == n else { throw PipelineError("the start picture has \(clean.count) values, the model takes \(n)") }
            startStep = sampler.startStep(strength: request.strength)
            let batch = Array((0..<B).map { _ in clean }.joined())
            // Strength 0: nothing to run, the picture itself.
            if startStep == request.sampler.steps { return (0..<B).map { _ in Self.picture(clean, size: size) } }
            start = Sampler.noised(batch, noise: start, sigma: sampler.schedule.sigmas[startStep])
        }
        let out = try sampler.sample(denoiser, from: start, seeds: seeds, elementsPerRow: n, startStep: startStep) { info in
            attention?.finishStep()
            guard let onStep else { return true }
            let previews = (0..<B).map { Self.picture(Array(info.denoised[($0 * n)..<(($0 + 1) * n)]), size: size) }
            return onStep(info.step, info.steps, previews)
        }
        return (0..<B).map { Self.picture(Array(out[($0 * n)..<(($0 + 1) * n)]), size: size) }
    }

    /// A picture as an img2img start for a model of `size`×`size`: the largest centred square,
    /// area-averaged (as training pictures are), planar RGB in [−1, 1].
    public static func startPicture(_ image: RGBImage, size: Int) -> [Float] {
        SquareResample.planar(SquareResample.resample(image, to: size))
    }

    /// Every setting that made a picture with `request`, as the gallery and the PNG metadata
    /// record it (`lidit generate`, `grid` and the studio alike). The caller adds what only it
    /// knows: the start picture's path, the time taken.
    public func recordedSettings(_ request: GenerationRequest, seed: UInt64, variationSeed: UInt64? = nil,
                                 image: RGBImage, appVersion: String?) -> GenerationSettings {
        let s = request.sampler
        var g = GenerationSettings(prompt: request.prompt, negativePrompt: request.negativePrompt, seed: seed, steps: s.steps,
                                   guidanceScale: s.guidanceScale, sampler: s.sampler.rawValue, width: image.width, height: image.height)
        g.fusionWeights = Dictionary(uniqueKeysWithValues: encoders.enumerated().map { ($1.id, Double(request.fusionWeights?[$0] ?? 1)) })
        g.templates = Dictionary(uniqueKeysWithValues: encoders.map {
            ($0.id, PromptTemplateSetting(instruction: $0.template.enabled, text: $0.template.text))
        })
        g.layer = layers.first
        if Set(layers).count > 1 {
            g.extra["Layers"] = zip(encoders, layers).map { "\($0.id)=\($1)" }.sorted().joined(separator: ",")
        }
        g.modelID = modelID
        g.shift = s.shift
        if s.guidanceRescale != 0 { g.guidanceRescale = s.guidanceRescale }
        if s.guidanceInterval != .always { g.guidanceInterval = s.guidanceInterval }
        if s.sampler.usesEta, let eta = s.eta { g.extra["Eta"] = String(eta) }
        if request.initImage != nil { g.denoisingStrength = request.strength }
        if let variationSeed { (g.variationSeed, g.variationStrength) = (variationSeed, request.variationStrength) }
        g.appVersion = appVersion
        return g
    }

    /// Planar RGB in [−1, 1] → 8-bit RGB.
    public static func picture(_ planar: [Float], size: Int) -> RGBImage {
        let n = size * size
        var px = [UInt8](repeating: 0, count: 3 * n)
        for i in 0..<n {
            for c in 0..<3 {
                let v = (planar[c * n + i] + 1) * 127.5
                px[i * 3 + c] = UInt8(max(0, min(255, v.rounded())))
            }
        }
        return RGBImage(width: size, height: size, channels: 3, pixels: px)
    }
}
