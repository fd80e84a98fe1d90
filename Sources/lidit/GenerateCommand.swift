import ArgumentParser
import Foundation
import Gallery
import ImageIO
import Kernels
import ModelFiles
import PromptEncoder
import Sampling
import TerminalGraphics
import Pipeline

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
    catch let e as PipelineError { throw CLIError(e.description) }
    catch let e as ModelStoreError { throw CLIError(e.description) }
    catch let e as GGUFError { throw CLIError(e.description) }
    catch let e as PromptEncoderError { throw CLIError(e.description) }
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

    @Option(name: [.short, .customLong("prompt")], help: "The prompt (at most \(Bounds.promptBytes) bytes).") var prompt: String
    @Option(name: [.short, .customLong("negative")], help: "Negative prompt.") var negative: String = ""
    @Option(parsing: .unconditional, help: "Seed, 0...\(UInt64.max) (random when omitted).") var seed: UInt64?
    @Option(parsing: .unconditional, help: "Sampling steps (\(Bounds.steps.text)).") var steps: Int = 24
    @Option(parsing: .unconditional, help: "Classifier-free guidance scale (\(Bounds.cfg.text)).") var cfg: Double = 4
    @Option(parsing: .unconditional, help: "Guidance rescale φ (Lin et al. 2024; \(Bounds.cfgRescale.text)): 0 is plain guidance.") var cfgRescale: Double = 0
    @Option(parsing: .unconditional, help: "Apply guidance only at noise levels σ in LOW-HIGH (default 0-1, every step; 1 is pure noise).")
    var cfgInterval: String?
    @Option(help: "Sampler: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")).") var sampler: String = "euler"
    @Option(parsing: .unconditional, help: "Schedule shift (SD3; \(Bounds.shift.text)).") var shift: Double = 1
    @Option(help: "Fusion weights, e.g. smollm2=1,gemma3=1 (weights 0...4; 0 switches an LLM off).") var fusion: String?
    @Option(parsing: .unconditional, help: "Pictures to make (\(Bounds.count.text); seeds S, S+1, ...), each saved as it finishes.") var count: Int = 1
    @Option(name: [.short, .customLong("output")], help: "Also write the PNG here (-N suffixes when --count > 1).") var output: String?
    @Option(help: "Model file (default: the trained default model).") var model: String?
    @Flag(help: "Do not save to the gallery.") var noGallery = false
    @Option(parsing: .unconditional, help: "Worker threads (\(Bounds.threads.text); results are identical for any count).") var threads: Int?
    @Option(help: "img2img: start from this PNG (centre square, resized to the model's size).") var initImage: String?
    @Option(parsing: .unconditional, help: "img2img: how much to change the start picture (\(Bounds.strength.text), default 0.75; 0 = the picture back, 1 = from pure noise, the txt2img picture of the seed).")
    var strength: Double?
    @Option(parsing: .unconditional, help: "Variations of this seed: every picture blends its noise with that of its own seed (--seed S, S+1, ...; A1111's variation seed).")
    var variationOf: UInt64?
    @Option(parsing: .unconditional, help: "How far variations move from --variation-of (\(Bounds.variationStrength.text), default 0.2; 0 = that seed's picture).")
    var variationStrength: Double?
    @Option(help: ArgumentHelp("Write per-word attention maps, branch shares and the template share as JSON here (-N suffixes when --count > 1).", valueName: "FILE.json"))
    var attention: String?
    @Option(help: ArgumentHelp("Draw the per-word attention maps over the picture, one labelled tile per word, into this PNG (-N suffixes when --count > 1).", valueName: "FILE.png"))
    var attentionSheet: String?

    func validate() throws {
        try Bounds.steps.check(steps)
        try Bounds.cfg.check(cfg)
        try Bounds.cfgRescale.check(cfgRescale)
        try Bounds.shift.check(shift)
        try Bounds.count.check(count)
        try Bounds.threads.check(threads)
        try Bounds.strength.check(strength)
        try Bounds.variationStrength.check(variationStrength)
        if strength != nil && initImage == nil { throw ValidationError("--strength needs --init-image") }
        if variationStrength != nil && variationOf == nil { throw ValidationError("--variation-strength needs --variation-of") }
        do { try GenerationRequest.checkPromptSize(prompt, negative: negative) } catch { throw ValidationError("\(error)") }
    }

    /// Where `-o` puts picture `i` of the batch.
    func outputPath(_ i: Int) -> String? {
        guard let output else { return nil }
        return count == 1 ? output : output.replacingOccurrences(of: ".png", with: "") + "-\(i + 1).png"
    }

    /// Picture `i`'s file for a per-picture option: FILE itself for one picture, else FILE-N.ext
    /// (N from 1) with the extension kept.
    func numberedPath(_ path: String?, _ i: Int) -> String? {
        guard let path else { return nil }
        guard count > 1 else { return path }
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let stem = ext.isEmpty ? path : String(path.dropLast(ext.count + 1))
        return stem + "-\(i + 1)" + (ext.isEmpty ? "" : "." + ext)
    }

    func run() throws {
        try applyThreads(threads)
        let kind: SamplerKind
        do { kind = try SamplerKind(parsing: sampler) } catch { throw CLIError("\(error)") }
        var request = GenerationRequest(prompt: prompt)
        request.negativePrompt = negative
        request.sampler = SamplerSettings(sampler: kind, steps: steps, shift: shift, guidanceScale: cfg, guidanceRescale: cfgRescale,
                                          guidanceInterval: try parseGuidanceInterval(cfgInterval))
        do { try request.sampler.validate() } catch { throw CLIError("\(error)") }
        // Everything that can fail without generating fails before the model is even read.
        for i in 0..<count { if let path = outputPath(i) { do { try OutputFile.check(path) } catch { throw CLIError("-o: \(error)") } } }
        for i in 0..<count {
            if let path = numberedPath(attention, i) { do { try OutputFile.check(path) } catch { throw CLIError("--attention: \(error)") } }
            if let path = numberedPath(attentionSheet, i) { do { try OutputFile.check(path) } catch { throw CLIError("--attention-sheet: \(error)") } }
        }
        var startPicture: (path: String, image: RGBImage)?
        if let initImage {
            let path = URL(fileURLWithPath: initImage).standardizedFileURL.path
            do { startPicture = (path, try PNGFile.read(path: path).image) } catch { throw CLIError("--init-image \(initImage): \(error)") }
        }
        var store: GalleryStore?
        if !noGallery {
            let root = GalleryStore.defaultRoot()
            do { store = try GalleryStore(root: root) } catch { throw CLIError("cannot open the gallery at \(root): \(error)") }
        }
        let pipeline = try loadPipeline(model)
        request.fusionWeights = try parseFusion(fusion, encoders: pipeline.encoders.map(\.id))
        let base = seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
        // With --variation-of every picture has that seed, and its own seed is the variation seed.
        let ownSeeds = (0..<count).map { base &+ UInt64($0) }
        let seeds = variationOf.map { v in ownSeeds.map { _ in v } } ?? ownSeeds
        if let startPicture { request.initImage = ImagePipeline.startPicture(startPicture.image, size: pipeline.model.config.imageSize) }
        let strength = self.strength ?? 0.75, variationStrength = self.variationStrength ?? 0.2
        request.strength = strength
        for w in pipeline.encoders.flatMap({ $0.promptTokens(prompt).warning.map { [$0] } ?? [] }) {
            FileHandle.standardError.write(Data("lidit: warning: \(TerminalText.safe(w))\n".utf8))
        }
        // One picture at a time, each saved as soon as it is made: a kill loses at most the one
        // being drawn, never one already printed as saved.
        for (i, s) in seeds.enumerated() {
            let start = Date()
            let image: RGBImage
            // Attention capture only when asked: without it the sampling loop is unchanged.
            let capture = attention != nil || attentionSheet != nil ? AttentionCapture() : nil
            do {
                var one = request
                if variationOf != nil { (one.variationSeeds, one.variationStrength) = ([ownSeeds[i]], variationStrength) }
                image = try pipeline.generate(one, seeds: [s], attention: capture) { step, total, _ in
                    let which = count == 1 ? "" : "picture \(i + 1)/\(count) "
                    FileHandle.standardError.write(Data("\rlidit: \(which)step \(step + 1)/\(total)".utf8))
                    return true
                }[0]
            } catch let e as PipelineError { throw CLIError(e.description) }
            FileHandle.standardError.write(Data("\n".utf8))
            var settings = pipeline.recordedSettings(request, seed: s, variationSeed: variationOf != nil ? ownSeeds[i] : nil,
                                                     image: image, appVersion: LIDiT.version)
            if variationOf != nil { settings.variationStrength = variationStrength }
            settings.initImage = startPicture?.path
            settings.elapsedSeconds = Date().timeIntervalSince(start)
            if let store {
                do { print(try store.save(image: image, settings: settings).path) } catch { throw CLIError("\(error)") }
            }
            if let path = outputPath(i) {
                let texts = [PNGText(keyword: "parameters", text: A1111Parameters.format(settings)),
                             PNGText(keyword: "lidit", text: settings.jsonString())]
                do { try OutputFile.replace(path) { try PNGFile(image: image, texts: texts).write(path: $0) } } catch { throw CLIError("\(error)") }
                print(path)
            }
            if let maps = capture?.maps.first {
                if let path = numberedPath(attention, i) {
                    do { try OutputFile.write(maps.json(), to: path) } catch { throw CLIError("--attention: \(error)") }
                    print(path)
                }
                if let path = numberedPath(attentionSheet, i) {
                    let sheet = maps.sheet(picture: image)
                    do { try OutputFile.replace(path) { try PNGFile(image: sheet, texts: []).write(path: $0) } } catch { throw CLIError("--attention-sheet: \(error)") }
                    print(path)
                }
            }
            fflush(stdout)
        }
    }
}
