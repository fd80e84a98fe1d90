import Diffusion
import Foundation
import ImageIO
import Kernels
import ModelFiles
import NeuralLayers
import Pipeline
import PromptEncoder
import Sampling
import Shapes

/// A training run in a folder: `config.json`, `checkpoint.safetensors` (weights, AdamW moments,
/// EMA and step, written atomically every few minutes and on interruption), `loss.csv`,
/// `loss-by-noise.csv` (the same windows split by the sample's noise level σ, so one can see which
/// part of the schedule is still learning: layout and shape are decided at high σ, detail at low σ),
/// and `samples/step-NNNNNN.png` grids.
///
/// Resume is exact: everything a step draws (scene layouts, noise, timesteps, caption dropout)
/// is a pure function of (seed, step), and the checkpoint holds the whole optimizer state, so a
/// resumed run reproduces the uninterrupted run's loss curve.
public final class Trainer {
    public let folder: URL
    public let config: TrainingConfig
    public let model: LIDiTModel
    public let optimizer: AdamW
    public private(set) var step = 0
    public private(set) var elapsed: Double = 0
    public let dataset: any TrainingData
    let caches: [FeatureCache]
    let encoders: [LLMTextEncoder]
    /// The sample grid's prompts: these for the shapes domain, the first captions for a folder.
    let samplePrompts: [String]
    static let shapesSamplePrompts = [
        "a red circle", "two blue squares", "a green triangle to the left of a yellow star",
        "a large purple heart", "three orange crosses", "a white ring above a black diamond",
        "a small pink star", "a brown square below a blue circle",
    ]

    public var checkpointPath: String { folder.appendingPathComponent("checkpoint.safetensors").path }
    var logPath: String { folder.appendingPathComponent("loss.csv").path }
    var noiseLogPath: String { folder.appendingPathComponent("loss-by-noise.csv").path }
    /// σ bins of `loss-by-noise.csv`: [0, 0.1), [0.1, 0.2), … [0.9, 1].
    static let noiseBins = 10

    /// Opens a run folder: resumes from its checkpoint when there is one, else starts `config`.
    public init(folder: URL, config newConfig: TrainingConfig?, store: ModelStore = ModelStore(),
                featureRoot: URL = FeatureCache.defaultRoot, initialWeights: String? = nil, totalSteps: Int? = nil,
                shouldStop: () -> Bool = { false }, log: (String) -> Void) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("samples"), withIntermediateDirectories: true)
        let configPath = folder.appendingPathComponent("config.json").path
        var config: TrainingConfig
        if FileManager.default.fileExists(atPath: configPath) {
            config = try JSONDecoder().decode(TrainingConfig.self, from: Data(contentsOf: URL(fileURLWithPath: configPath)))
            if let newConfig, newConfig != config { log("note: \(configPath) exists; resuming with the saved configuration") }
        } else {
            guard let newConfig else { throw TrainingError("\(folder.path) has no config.json; pass a configuration to start a run") }
            config = newConfig
        }
        if let totalSteps, totalSteps != config.optimizer.totalSteps {
            // Extending (or shortening) a run changes the cosine schedule from here on.
            config.optimizer.totalSteps = totalSteps
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if FileManager.default.fileExists(atPath: configPath) { try writeAtomically(try encoder.encode(config), to: configPath) }
        }
        try config.validate()

        // Encoders and the instruction-token counts the refiners crop.
        var encoders: [LLMTextEncoder] = []
        for e in config.encoders {
            log("loading \(e.id)…")
            encoders.append(try LLMTextEncoder.load(e.id, store: store, template: e.template, layer: e.layer))
        }
        for (i, enc) in encoders.enumerated() { config.model.refiner.branches[i].instructionTokens = enc.instructionTokenCount }
        self.config = config
        self.encoders = encoders

        if let folder = config.data.folder {
            let d = try ImageFolderDataset(folder: folder, imageSize: config.model.imageSize, seed: config.data.seed) { log("warning: \($0)") }
            log("\(folder): \(d.files.count) pictures with captions")
            dataset = d
            samplePrompts = Array(d.captions.prefix(8))
        } else {
            dataset = shapesData(config.data, imageSize: config.model.imageSize)
            samplePrompts = Self.shapesSamplePrompts
        }
        // A mixture's pools are cached one by one, so each finds the features an earlier run of
        // that pool alone computed.
        let captionGroups = dataset.captionGroups
        var caches: [FeatureCache] = []
        for (e, enc) in zip(config.encoders, encoders) {
            let known = KnownModel.named(e.id)!
            var parts: [FeatureCache] = []
            for (g, captions) in captionGroups.enumerated() {
                var lastReport = Date.distantPast
                let label = captionGroups.count > 1 ? "\(e.id) features (pool \(g + 1) of \(captionGroups.count))" : "\(e.id) features"
                parts.append(try FeatureCache.load(encoder: enc, modelSHA256: known.sha256, layer: e.layer, captions: captions,
                                                   root: featureRoot, shouldStop: shouldStop) { done, total in
                    if Date().timeIntervalSince(lastReport) > 2 || done == total {
                        lastReport = Date()
                        log("\(label): \(done)/\(total) captions")
                    }
                })
            }
            caches.append(FeatureCache.concatenated(parts))
        }
        self.caches = caches
        // Written only once the data has loaded, so a failed start leaves no configuration behind
        // that a corrected command would then silently resume.
        if !FileManager.default.fileExists(atPath: configPath) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeAtomically(try encoder.encode(config), to: configPath)
        }
        // What the model is trained on, one caption a line, for reading and for scripts that
        // check a benchmark's wording against it (scripts/phrasing-split).
        let captionsPath = folder.appendingPathComponent("captions.txt").path
        if !FileManager.default.fileExists(atPath: captionsPath) {
            let lines = dataset.captions.map { $0.replacingOccurrences(of: "\n", with: " ") + "\n" }.joined()
            try writeAtomically(Data(lines.utf8), to: captionsPath)
        }

        model = LIDiTModel(config: config.model, seed: config.seed)
        optimizer = AdamW(parameters: model.parameters, config: config.optimizer)
        if FileManager.default.fileExists(atPath: checkpointPath) {
            try loadCheckpoint()
            log("resumed at step \(step) (\(String(format: "%.0f", elapsed)) s trained)")
        } else {
            if let initialWeights {
                // Warm start (e.g. from the committed default model): weights and EMA from the file,
                // fresh optimizer moments.
                let copied = try warmStart(model.parameters, geometry: model.geometry, from: initialWeights)
                optimizer.ema = Array(UnsafeBufferPointer(start: model.parameters.values, count: model.parameters.count))
                log("initialised \(copied.matched) of \(model.parameters.entries.count) tensors from \(initialWeights)"
                    + (copied.fresh.isEmpty ? "" : "; newly initialised: \(copied.fresh.joined(separator: ", "))"))
            }
            log("new run: \(model.parameters.count) parameters, \(dataset.captions.count) captions")
        }
    }

    // MARK: - data

    /// The batch for `step`: images, noise, σ and text, all derived from (seed, step).
    public func batch(step: Int) -> TrainingBatch {
        let B = config.batchSize
        let n = model.geometry.pixelsPerImage
        var images = [Float](repeating: 0, count: B * n)
        let indices = (0..<B).map { dataset.index(step: step, slot: $0) }
        images.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            Parallel.forEach(B) { slot in
                let img = dataset.image(index: indices[slot], step: step, slot: slot)
                img.withUnsafeBufferPointer { base.advanced(by: slot * n).update(from: $0.baseAddress!, count: n) }
            }
        }
        var rng = RandomGenerator(seed: config.seed &+ 0x7A11, counter: UInt64(step) << 32)
        var noise = [Float](repeating: 0, count: B * n)
        noise.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        var z = [Float](repeating: 0, count: B), u = z
        z.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        u.withUnsafeMutableBufferPointer { rng.fillUniform($0) }
        let sigmas = z.map { 1 / (1 + expf(-(config.timestepMean + config.timestepStd * $0))) }
        let drop = u.map { $0 < config.captionDropout }
        // Drawn after everything else, so runs without it keep their batches bit for bit.
        var pooledDropped: [Bool] = []
        if let rate = config.pooledTextDropout, rate > 0 {
            var v = [Float](repeating: 0, count: B)
            v.withUnsafeMutableBufferPointer { rng.fillUniform($0) }
            pooledDropped = v.map { $0 < rate }
        }
        var branches: [RefinerBranchInput] = []
        for cache in caches {
            let samples: [[Float]] = indices.map { i in
                var f = [Float](repeating: 0, count: cache.tokenCount(i) * cache.width)
                _ = f.withUnsafeMutableBufferPointer { cache.features(i, into: $0.baseAddress!) }
                return f
            }
            branches.append(branchInput(samples, width: cache.width))
        }
        return TrainingBatch(batch: B, images: images, noise: noise, sigmas: sigmas,
                             text: RefinerInput(batch: B, branches: branches, dropText: drop), pooledDropped: pooledDropped)
    }

    // MARK: - loop

    public struct Progress {
        public var step: Int, totalSteps: Int, loss: Double, learningRate: Float, gradientNorm: Double
        public var samplesPerSecond: Double, elapsed: Double
        /// Share of the step time spent building the batch (rendering, features).
        public var dataFraction: Double
    }

    /// Trains until `totalSteps`, `until` (wall-clock deadline) or `shouldStop` returns true;
    /// always leaves a checkpoint behind.
    public func train(until deadline: Date? = nil, shouldStop: () -> Bool, report: (Progress) -> Void, log: (String) -> Void) throws {
        let total = config.optimizer.totalSteps
        var lastCheckpoint = Date()
        var window: [Double] = []
        var dataSeconds = 0.0, stepSeconds = 0.0
        if step == 0 { try appendLog("step,loss,lr,grad_norm,samples_per_s,elapsed_s\n", to: logPath) }
        if !FileManager.default.fileExists(atPath: noiseLogPath) {
            let bins = (0..<Self.noiseBins).map { String(format: "sigma_%.1f", Double($0) / Double(Self.noiseBins)) }
            try appendLog((["step"] + bins).joined(separator: ",") + "\n", to: noiseLogPath)
        }
        var binSums = [Double](repeating: 0, count: Self.noiseBins), binCounts = [Int](repeating: 0, count: Self.noiseBins)
        while step < total {
            if shouldStop() || (deadline.map { Date() >= $0 } ?? false) { break }
            let t0 = Date()
            let b = batch(step: step)
            dataSeconds += Date().timeIntervalSince(t0)
            model.parameters.zeroGradients()
            let r = model.trainingStep(b)
            guard r.loss.isFinite else {
                try saveCheckpoint()
                throw TrainingError("loss became \(r.loss) at step \(step); checkpoint kept at the last finite state")
            }
            let norm = optimizer.step(model.parameters, step: step)
            let dt = Date().timeIntervalSince(t0)
            elapsed += dt
            stepSeconds += dt
            step += 1
            window.append(r.loss)
            for (sigma, loss) in zip(b.sigmas, r.perSample) {
                let k = min(Int(sigma * Float(Self.noiseBins)), Self.noiseBins - 1)
                binSums[k] += Double(loss); binCounts[k] += 1
            }
            if step % config.logEvery == 0 || step == total {
                let loss = window.reduce(0, +) / Double(window.count)
                window.removeAll()
                let sps = Double(config.batchSize) / dt
                try appendLog(String(format: "%d,%.6f,%.6g,%.4f,%.1f,%.1f\n", step, loss, optimizer.learningRate(step: step - 1), norm, sps, elapsed), to: logPath)
                // An empty field where no sample of the window fell in the bin.
                let bins = zip(binSums, binCounts).map { $1 > 0 ? String(format: "%.6f", $0 / Double($1)) : "" }
                try appendLog(([String(step)] + bins).joined(separator: ",") + "\n", to: noiseLogPath)
                binSums = binSums.map { _ in 0 }; binCounts = binCounts.map { _ in 0 }
                report(Progress(step: step, totalSteps: total, loss: loss, learningRate: optimizer.learningRate(step: step - 1),
                                gradientNorm: norm, samplesPerSecond: sps, elapsed: elapsed,
                                dataFraction: dataSeconds / max(stepSeconds, 1e-9)))
                dataSeconds = 0; stepSeconds = 0
            }
            if step % config.sampleEvery == 0 {
                let path = try writeSampleGrid()
                log("samples: \(path)")
            }
            if Date().timeIntervalSince(lastCheckpoint) >= config.checkpointSeconds {
                try saveCheckpoint()
                lastCheckpoint = Date()
            }
        }
        try saveCheckpoint()
        log("checkpoint at step \(step): \(checkpointPath)")
    }

    // MARK: - files

    func appendLog(_ line: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw TrainingError("cannot write \(path)") }
        defer { try? h.close() }
        h.seekToEndOfFile()
        h.write(Data(line.utf8))
    }

    /// Drops log lines from steps after the checkpoint, so a resumed run continues one curve.
    func trimLogs(to step: Int) {
        for path in [logPath, noiseLogPath] { trimLog(path, to: step) }
    }

    func trimLog(_ path: String, to step: Int) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n", omittingEmptySubsequences: true).filter { line in
            guard let s = Int(line.split(separator: ",").first ?? "") else { return true }
            return s <= step
        }
        try? (kept.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Names and shapes of every parameter, in buffer order: a checkpoint only loads into a model
    /// with the same layout (a flat buffer would otherwise load scrambled without complaint).
    var layoutFingerprint: String { parameterLayoutFingerprint(model.parameters) }

    func encodedConfig() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(config), as: UTF8.self)
    }

    public func saveCheckpoint() throws {
        let n = model.parameters.count
        try Checkpoint(weights: Array(UnsafeBufferPointer(start: model.parameters.values, count: n)),
                       adamM: optimizer.m, adamV: optimizer.v, ema: optimizer.ema, step: step, elapsedSeconds: elapsed,
                       layout: layoutFingerprint, trainingConfigJSON: try encodedConfig()).write(to: checkpointPath)
    }

    func loadCheckpoint() throws {
        let n = model.parameters.count
        let c: Checkpoint
        do { c = try Checkpoint.read(path: checkpointPath, parameterCount: n, layout: layoutFingerprint) } catch let e as ModelFileError {
            throw TrainingError(e.description)
        }
        c.weights.withUnsafeBufferPointer { model.parameters.values.update(from: $0.baseAddress!, count: n) }
        optimizer.m = c.adamM
        optimizer.v = c.adamV
        optimizer.ema = c.ema
        step = c.step
        elapsed = c.elapsedSeconds
        trimLogs(to: step)
    }

    /// The first 8 hex digits of the SHA-256 of the EMA weights: part of an exported model's id,
    /// so two runs that stop at the same step (a grown pool restarts the count) never share one.
    public var weightsDigest: String {
        var hasher = SHA256()
        optimizer.ema.withUnsafeBytes { hasher.update($0) }
        return String(hasher.finalize().prefix(8))
    }

    /// The EMA weights in fp16 with the configuration: the file `lidit generate --model` reads.
    public func exportModel(to path: String, modelID: String) throws {
        try ModelFile.writeModel(to: path, weights: optimizer.ema, layout: layoutFingerprint, trainingConfigJSON: try encodedConfig(),
                                 modelID: modelID, step: step)
    }

    /// A grid of the fixed sample prompts drawn with the EMA weights (Euler, 20 steps, guidance 4).
    public func writeSampleGrid() throws -> String {
        let emaModel = LIDiTModel(config: config.model, seed: 0)
        optimizer.ema.withUnsafeBufferPointer { emaModel.parameters.values.update(from: $0.baseAddress!, count: $0.count) }
        let pipeline = ImagePipeline(model: emaModel, encoders: encoders, layers: config.encoders.map(\.layer), modelID: "training")
        var tiles: [RGBImage] = []
        for (i, p) in samplePrompts.enumerated() {
            var request = GenerationRequest(prompt: p)
            request.sampler = SamplerSettings(sampler: .euler, steps: 20, shift: 1, guidanceScale: 4)
            tiles += try pipeline.generate(request, seeds: [UInt64(i)])
        }
        let grid = Self.grid(tiles, columns: 4)
        let path = folder.appendingPathComponent(String(format: "samples/step-%06d.png", step)).path
        try PNGFile(image: grid, texts: [PNGText(keyword: "prompts", text: samplePrompts.joined(separator: "\n"))]).write(path: path)
        return path
    }

    public static func grid(_ tiles: [RGBImage], columns: Int, gap: Int = 2) -> RGBImage {
        guard let first = tiles.first else { return RGBImage(width: 1, height: 1) }
        let (w, h) = (first.width, first.height)
        let rows = (tiles.count + columns - 1) / columns
        let W = columns * w + (columns + 1) * gap, H = rows * h + (rows + 1) * gap
        var out = RGBImage(width: W, height: H, channels: 3, fill: 40)
        for (k, t) in tiles.enumerated() {
            let ox = gap + (k % columns) * (w + gap), oy = gap + (k / columns) * (h + gap)
            for y in 0..<h { for x in 0..<w { for c in 0..<3 {
                out.pixels[((oy + y) * W + ox + x) * 3 + c] = t.pixels[(y * w + x) * t.channels + c]
            } } }
        }
        return out
    }
}

/// Copies a model file's weights into `store`. A file of the same layout is copied whole; one
/// written for another configuration (say, without the pooled-text embedder) gives every tensor
/// whose name and shape match, so an experiment can start from a trained model instead of noise.
/// A file for images `k` times larger with `k` times larger patches (the same token grid, say
/// 64×64 in 8×8 patches for a 32×32 model in 4×4 ones) also gives its patch embedding and output
/// projection, folded so that the new model computes exactly what the old one computed on the
/// image upsampled by `k`, box-downsampled (`PatchFold`).
/// Returns how many tensors were copied and the names left at their fresh initialisation.
func warmStart(_ store: ParameterStore, geometry: PatchGeometry? = nil,
               from path: String) throws -> (matched: Int, fresh: [String]) {
    let file: ModelFile
    do { file = try ModelFile.read(path: path) } catch let e as ModelFileError { throw TrainingError(e.description) }
    if file.weights.count == store.count, file.layout.map({ $0 == parameterLayoutFingerprint(store) }) ?? true {
        file.weights.withUnsafeBufferPointer { store.values.update(from: $0.baseAddress!, count: $0.count) }
        return (store.entries.count, [])
    }
    let config = file.recipe
    let source = LIDiTModel(config: config.model, seed: 0).parameters
    let fold = geometry.flatMap { PatchFold(from: config.model.geometry, to: $0) }
    var matched = 0, fresh: [String] = []
    file.weights.withUnsafeBufferPointer { values in
        for e in store.entries {
            guard let s = source.entry(named: e.name) else { fresh.append(e.name); continue }
            let from = values.baseAddress! + s.offset, to = store.values + e.offset
            if s.shape == e.shape {
                to.update(from: from, count: e.count)
            } else if !(fold?.apply(name: e.name, from: from, sourceShape: s.shape, to: to, shape: e.shape) ?? false) {
                fresh.append(e.name); continue
            }
            matched += 1
        }
    }
    guard matched > 0 else { throw TrainingError("\(path) shares no weights with this run's model configuration") }
    return (matched, fresh)
}

/// Carries a patch embedding and output projection to patches `k` times smaller on the same token
/// grid. The images the new model sees are the old one's box-downsampled by `k`, so
/// - an input weight column for a new pixel is the sum of the `k`×`k` old columns it replaces (an
///   image upsampled by repetition embeds exactly as before), and
/// - an output row (and bias) for a new pixel is the mean of the `k`×`k` old rows (the old output,
///   box-downsampled).
/// FlexiViT resizes patch embeddings the same way; here it lets a 32×32 model start from the
/// trunk of a trained 64×64 one.
struct PatchFold {
    let k: Int, sourcePatch: Int, targetPatch: Int, channels: Int

    init?(from source: PatchGeometry, to target: PatchGeometry) {
        guard source.channels == target.channels, source.gridHeight == target.gridHeight,
              source.gridWidth == target.gridWidth, source.patch > target.patch,
              source.patch % target.patch == 0 else { return nil }
        k = source.patch / target.patch
        sourcePatch = source.patch; targetPatch = target.patch; channels = source.channels
    }

    /// The old patch-vector indices that new index `j` ((y·p + x)·C + c) replaces.
    func sourceIndices(of j: Int) -> [Int] {
        let c = j % channels, x = (j / channels) % targetPatch, y = j / channels / targetPatch
        return (0..<k).flatMap { dy in (0..<k).map { dx in ((k * y + dy) * sourcePatch + k * x + dx) * channels + c } }
    }

    func apply(name: String, from: UnsafePointer<Float>, sourceShape: [Int],
               to: UnsafeMutablePointer<Float>, shape: [Int]) -> Bool {
        let (P, Q) = (sourcePatch * sourcePatch * channels, targetPatch * targetPatch * channels)
        if name.hasSuffix(".x_embedder.weight"), sourceShape.count == 2, sourceShape[1] == P, shape == [sourceShape[0], Q] {
            for row in 0..<shape[0] {
                for j in 0..<Q { to[row * Q + j] = sourceIndices(of: j).reduce(0) { $0 + from[row * P + $1] } }
            }
            return true
        }
        if name.hasSuffix(".final.linear.weight"), sourceShape.count == 2, sourceShape[0] == P, shape == [Q, sourceShape[1]] {
            let d = shape[1], scale = 1 / Float(k * k)
            for j in 0..<Q {
                let rows = sourceIndices(of: j)
                for i in 0..<d { to[j * d + i] = rows.reduce(0) { $0 + from[$1 * d + i] } * scale }
            }
            return true
        }
        if name.hasSuffix(".final.linear.bias"), sourceShape == [P], shape == [Q] {
            for j in 0..<Q { to[j] = sourceIndices(of: j).reduce(0) { $0 + from[$1] } / Float(k * k) }
            return true
        }
        return false
    }
}
