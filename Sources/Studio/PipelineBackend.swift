import Foundation
import Gallery
import ImageIO
import PromptEncoder
import Sampling
import Training

public struct StudioModelError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// The real backend: a trained LI-DiT with its two LLM encoders (`ImagePipeline`).
public final class PipelineBackend: GenerationBackend {
    let pipeline: ImagePipeline
    let path: String
    let appVersion: String
    let defaultTemplates: [String: Bool]
    public let info: ModelInfo

    /// Loads the model (seconds: the LLM files are read and their instruction prefixes cached).
    public init(path: String?, appVersion: String) throws {
        guard let path else {
            throw StudioModelError("no trained model found: set LIDIT_MODEL or pass --model (default models/lidit-shapes.safetensors; `lidit train` makes one)")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw StudioModelError("model file not found: \(path)")
        }
        let p: ImagePipeline
        do { p = try ImagePipeline.load(modelPath: path) } catch {
            throw StudioModelError("cannot load \(path): \(error)")
        }
        pipeline = p
        self.path = path
        self.appVersion = appVersion
        defaultTemplates = Dictionary(uniqueKeysWithValues: p.encoders.map { ($0.id, $0.template.enabled) })
        info = ModelInfo(modelID: p.modelID, path: path,
                         encoders: zip(p.encoders, p.layers).map { enc, layer in
                             EncoderInfo(id: enc.id, blockCount: enc.model.config.blockCount, defaultLayer: layer,
                                         templateText: enc.template.text, templateEnabledByDefault: enc.template.enabled)
                         },
                         imageSize: p.model.config.imageSize)
    }

    public func generate(_ spec: JobSpec, onStep: @escaping (Int, Int, [RGBImage]) -> Bool) throws
        -> (pictures: [(RGBImage, GenerationSettings)], warnings: [String]) {
        try generate(spec, onStep: onStep, attention: nil)
    }

    public func generate(_ spec: JobSpec, onStep: @escaping (Int, Int, [RGBImage]) -> Bool,
                         onAttention: @escaping ([WordAttention]) -> Void) throws
        -> (pictures: [(RGBImage, GenerationSettings)], warnings: [String]) {
        try generate(spec, onStep: onStep, attention: onAttention)
    }

    func generate(_ spec: JobSpec, onStep: @escaping (Int, Int, [RGBImage]) -> Bool,
                  attention onAttention: (([WordAttention]) -> Void)?) throws
        -> (pictures: [(RGBImage, GenerationSettings)], warnings: [String]) {
        guard spec.prompt.utf8.count <= 20_000, spec.negativePrompt.utf8.count <= 20_000 else {
            throw StudioModelError("the prompt is longer than 20000 bytes")
        }
        try spec.sampler.validate()
        // Encoder knobs: instruction template on/off, hidden-state layer.
        for enc in pipeline.encoders {
            let want = spec.templateEnabled[enc.id] ?? defaultTemplates[enc.id] ?? true
            if enc.template.enabled != want {
                try enc.setTemplate(InstructionTemplate(text: enc.template.text, enabled: want))
            }
        }
        let layers = zip(pipeline.encoders, pipeline.layers).map { enc, trained in spec.layers[enc.id] ?? trained }
        for (enc, layer) in zip(pipeline.encoders, layers) where enc.model.resolveLayer(layer) == nil {
            throw StudioModelError("layer \(layer) is out of range for \(enc.id) (0...\(enc.model.config.blockCount) or -1...-\(enc.model.config.blockCount + 1))")
        }
        let p = layers == pipeline.layers ? pipeline
            : ImagePipeline(model: pipeline.model, encoders: pipeline.encoders, layers: layers, modelID: pipeline.modelID)
        let fusion = pipeline.encoders.map { Float(spec.fusionWeights[$0.id] ?? 1) }

        var request = GenerationRequest(prompt: spec.prompt)
        request.negativePrompt = spec.negativePrompt
        request.seed = spec.seeds.first ?? 0
        request.sampler = spec.sampler
        request.fusionWeights = fusion.allSatisfy { $0 == 1 } ? nil : fusion
        if let path = spec.initImage, spec.strength < 1 {
            let picture: RGBImage
            do { picture = try PNGFile.read(path: path).image } catch { throw StudioModelError("start picture \(path): \(error)") }
            request.initImage = ImagePipeline.startPicture(picture, size: pipeline.model.config.imageSize)
            request.strength = spec.strength
        }
        if !spec.variationSeeds.isEmpty {
            guard spec.variationSeeds.count == spec.seeds.count else { throw StudioModelError("one variation seed per seed") }
            request.variationSeeds = spec.variationSeeds
            request.variationStrength = spec.variationStrength
        }
        let warnings = pipeline.encoders.compactMap { $0.promptTokens(spec.prompt).warning }

        let start = Date()
        // The studio's heat-map view shows the maps live, so they are captured whenever someone
        // listens (the cost is measured in BENCHMARKS.md, "Attention maps").
        let capture = onAttention == nil ? nil : AttentionCapture()
        let images = try p.generate(request, seeds: spec.seeds, attention: capture) { step, total, previews in
            if let capture, let onAttention { onAttention(capture.maps.map { WordAttention($0, step: step + 1, totalSteps: total) }) }
            return onStep(step + 1, total, previews)
        }
        let elapsed = Date().timeIntervalSince(start) / Double(max(1, spec.seeds.count))
        let pictures = zip(images, spec.seeds).enumerated().map { i, pair in
            var g = settings(spec, request: request, seed: pair.1, image: pair.0, layers: layers, elapsed: elapsed)
            if request.initImage != nil { (g.initImage, g.denoisingStrength) = (spec.initImage, spec.strength) }
            if !spec.variationSeeds.isEmpty { (g.variationSeed, g.variationStrength) = (spec.variationSeeds[i], spec.variationStrength) }
            return (pair.0, g)
        }
        return (pictures, warnings)
    }

    /// The same fields `lidit generate` records, plus the guidance options the studio exposes.
    func settings(_ spec: JobSpec, request: GenerationRequest, seed: UInt64, image: RGBImage, layers: [Int], elapsed: Double) -> GenerationSettings {
        let s = spec.sampler
        var g = GenerationSettings(prompt: spec.prompt, negativePrompt: spec.negativePrompt, seed: seed, steps: s.steps,
                                   guidanceScale: s.guidanceScale, sampler: s.sampler.rawValue,
                                   width: image.width, height: image.height)
        g.fusionWeights = Dictionary(uniqueKeysWithValues: pipeline.encoders.enumerated().map {
            ($1.id, Double(request.fusionWeights?[$0] ?? 1))
        })
        g.templates = Dictionary(uniqueKeysWithValues: pipeline.encoders.map {
            ($0.id, PromptTemplateSetting(instruction: $0.template.enabled, text: $0.template.text))
        })
        g.layer = layers.first
        g.modelID = pipeline.modelID
        g.shift = s.shift
        if s.guidanceRescale != 0 { g.guidanceRescale = s.guidanceRescale }
        if s.guidanceInterval != .always {
            g.guidanceInterval = Gallery.GuidanceInterval(sigmaLow: s.guidanceInterval.low, sigmaHigh: s.guidanceInterval.high)
        }
        if s.sampler.usesEta, let eta = s.eta { g.extra["Eta"] = String(eta) }
        let distinctLayers = Set(zip(pipeline.encoders, layers).map { "\($0.id)=\($1)" })
        if Set(layers).count > 1 { g.extra["Layers"] = distinctLayers.sorted().joined(separator: ",") }
        g.elapsedSeconds = elapsed
        g.appVersion = appVersion
        return g
    }
}
