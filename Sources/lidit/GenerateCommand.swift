import ArgumentParser
import Foundation
import Gallery
import ImageIO
import Kernels
import ModelFiles
import Sampling
import Training

/// The trained default model: `$LIDIT_MODEL`, else `models/lidit-shapes.safetensors` in the
/// checkout the executable was built in (found by walking up from the executable).
func defaultModelPath() -> String? {
    if let m = ProcessInfo.processInfo.environment["LIDIT_MODEL"], !m.isEmpty { return m }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    if let exe = Bundle.main.executableURL { dir = exe.resolvingSymlinksInPath().deletingLastPathComponent() }
    for _ in 0..<6 {
        let candidate = dir.appendingPathComponent("models/lidit-shapes.safetensors").path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

func loadPipeline(_ path: String?) throws -> ImagePipeline {
    guard let p = path ?? defaultModelPath() else {
        throw CLIError("no trained model found: pass --model PATH or set LIDIT_MODEL (the default is models/lidit-shapes.safetensors)")
    }
    do { return try ImagePipeline.load(modelPath: p) }
    catch let e as TrainingError { throw CLIError(e.description) }
    catch let e as ModelStoreError { throw CLIError(e.description) }
    catch let e as GGUFError { throw CLIError(e.description) }
}

/// "smollm2=1,gemma3=0.5" → weights in the pipeline's branch order (missing names stay 1).
func parseFusion(_ text: String?, encoders: [String]) throws -> [Float]? {
    guard let text, !text.isEmpty else { return nil }
    var weights = [Float](repeating: 1, count: encoders.count)
    for part in text.split(separator: ",") {
        let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard kv.count == 2, let i = encoders.firstIndex(of: kv[0]), let w = Float(kv[1]), w.isFinite, w >= 0, w <= 4 else {
            throw CLIError("--fusion takes NAME=WEIGHT pairs with names \(encoders.joined(separator: ", ")) and weights 0...4, got '\(part)'")
        }
        weights[i] = w
    }
    return weights
}

/// "LOW-HIGH" → the σ range in which guidance is applied (σ = 1 is pure noise, 0 the clean image).
func parseGuidanceInterval(_ text: String?) throws -> Sampling.GuidanceInterval {
    guard let text else { return .always }
    let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 2, let low = parts[0], let high = parts[1], 0 <= low, low <= high, high <= 1 else {
        throw CLIError("--cfg-interval takes LOW-HIGH with 0 <= LOW <= HIGH <= 1 (noise levels σ; 1 is pure noise), got '\(text)'")
    }
    return Sampling.GuidanceInterval(low: low, high: high)
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate pictures from a prompt; each is saved to the gallery (and to -o if given).")

    @Option(name: [.short, .customLong("prompt")], help: "The prompt.") var prompt: String
    @Option(name: [.short, .customLong("negative")], help: "Negative prompt.") var negative: String = ""
    @Option(help: "Seed (random when omitted).") var seed: UInt64?
    @Option(help: "Sampling steps (1...1000).") var steps: Int = 24
    @Option(help: "Classifier-free guidance scale.") var cfg: Double = 4
    @Option(help: "Apply guidance only at noise levels σ in LOW-HIGH (default 0-1, every step; 1 is pure noise).")
    var cfgInterval: String?
    @Option(help: "Sampler: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")).") var sampler: String = "euler"
    @Option(help: "Schedule shift (SD3).") var shift: Double = 1
    @Option(help: "Fusion weights, e.g. smollm2=1,gemma3=1 (0 switches an LLM off).") var fusion: String?
    @Option(help: "Pictures to make (seeds S, S+1, ...).") var count: Int = 1
    @Option(name: [.short, .customLong("output")], help: "Also write the PNG here (-N suffixes when --count > 1).") var output: String?
    @Option(help: "Model file (default: the trained default model).") var model: String?
    @Flag(help: "Do not save to the gallery.") var noGallery = false
    @Option(help: "Worker threads (results are identical for any count).") var threads: Int?

    func run() throws {
        guard (1...64).contains(count) else { throw CLIError("--count must be 1...64") }
        try applyThreads(threads)
        guard prompt.utf8.count <= 20_000 else { throw CLIError("the prompt is longer than 20000 bytes") }
        let kind: SamplerKind
        do { kind = try SamplerKind(parsing: sampler) } catch { throw CLIError("\(error)") }
        var request = GenerationRequest(prompt: prompt)
        request.negativePrompt = negative
        request.sampler = SamplerSettings(sampler: kind, steps: steps, shift: shift, guidanceScale: cfg,
                                          guidanceInterval: try parseGuidanceInterval(cfgInterval))
        do { try request.sampler.validate() } catch { throw CLIError("\(error)") }
        let pipeline = try loadPipeline(model)
        request.fusionWeights = try parseFusion(fusion, encoders: pipeline.encoders.map(\.id))
        let base = seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
        let seeds = (0..<count).map { base &+ UInt64($0) }
        for w in pipeline.encoders.flatMap({ $0.promptTokens(prompt).warning.map { [$0] } ?? [] }) {
            FileHandle.standardError.write(Data("lidit: warning: \(w)\n".utf8))
        }
        let start = Date()
        let images: [RGBImage]
        do {
            images = try pipeline.generate(request, seeds: seeds) { step, total, _ in
                FileHandle.standardError.write(Data("\rlidit: step \(step + 1)/\(total)".utf8))
                return true
            }
        } catch let e as TrainingError { throw CLIError(e.description) }
        FileHandle.standardError.write(Data("\n".utf8))
        let elapsed = Date().timeIntervalSince(start) / Double(count)
        let store = noGallery ? nil : try GalleryStore(root: GalleryStore.defaultRoot())
        for (i, (image, s)) in zip(images, seeds).enumerated() {
            var settings = GenerationSettings(prompt: prompt, negativePrompt: negative, seed: s, steps: steps,
                                              guidanceScale: cfg, sampler: kind.rawValue, width: image.width, height: image.height)
            settings.fusionWeights = Dictionary(uniqueKeysWithValues: pipeline.encoders.enumerated().map { ($1.id, Double(request.fusionWeights?[$0] ?? 1)) })
            settings.templates = Dictionary(uniqueKeysWithValues: pipeline.encoders.map { ($0.id, PromptTemplateSetting(instruction: $0.template.enabled, text: $0.template.text)) })
            settings.layer = pipeline.layers.first
            settings.modelID = pipeline.modelID
            settings.shift = shift
            let interval = request.sampler.guidanceInterval
            if interval != .always {
                settings.guidanceInterval = Gallery.GuidanceInterval(sigmaLow: interval.low, sigmaHigh: interval.high)
            }
            settings.elapsedSeconds = elapsed
            settings.appVersion = LIDiT.version
            if let store {
                let entry = try store.save(image: image, settings: settings)
                print(entry.path)
            }
            if let output {
                let path = count == 1 ? output : output.replacingOccurrences(of: ".png", with: "") + "-\(i + 1).png"
                let texts = [PNGText(keyword: "parameters", text: A1111Parameters.format(settings)),
                             PNGText(keyword: "lidit", text: settings.jsonString())]
                do { try PNGFile(image: image, texts: texts).write(path: path) } catch { throw CLIError("\(error)") }
                print(path)
            }
        }
    }
}
