import Foundation
import Gallery
import ImageIO
import PromptEncoder
import Sampling
import Pipeline

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
        try spec.sampler.validate()
        // Encoder knobs: instruction template on/off, hidden-state layer.
        for enc in pipeline.encoders {
            let want = spec.templateEnabled[enc.id] ?? defaultTemplates[enc.id] ?? true
            if enc.template.enabled != want {
                try enc.setTemplate(InstructionTemplate(text: enc.template.text, enabled: want))
            }
        }
        let p = try pipeline.withLayers(zip(pipeline.encoders, pipeline.layers).map { enc, trained in spec.layers[enc.id] ?? trained })
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
            var g = p.recordedSettings(request, seed: pair.1, variationSeed: spec.variationSeeds.isEmpty ? nil : spec.variationSeeds[i],
                                       image: pair.0, appVersion: appVersion)
            if request.initImage != nil { g.initImage = spec.initImage }
            g.elapsedSeconds = elapsed
            return (pair.0, g)
        }
        return (pictures, warnings)
    }
}
