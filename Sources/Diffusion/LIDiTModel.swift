import Foundation
import Kernels
import NeuralLayers
import PromptEncoder

/// One training batch. Rectified flow in the σ convention: x_σ = (1−σ)·x₀ + σ·ε, v = ε − x₀.
public struct TrainingBatch: Sendable {
    public var batch: Int
    /// Clean images x₀ [batch, C, H, W].
    public var images: [Float]
    /// ε [batch, C, H, W].
    public var noise: [Float]
    /// σ ∈ [0, 1] per sample.
    public var sigmas: [Float]
    public var text: RefinerInput
    /// Rows whose pooled text vector the DiT does not see (empty: none); see `LIDiTNetwork.forward`.
    public var pooledDropped: [Bool]

    public init(batch: Int, images: [Float], noise: [Float], sigmas: [Float], text: RefinerInput, pooledDropped: [Bool] = []) {
        self.batch = batch; self.images = images; self.noise = noise; self.sigmas = sigmas; self.text = text
        self.pooledDropped = pooledDropped
    }
}

public struct StepResult: Sendable {
    /// Mean over every pixel of the batch (summed in Double).
    public var loss: Double
    /// Mean over each sample's pixels (log loss per σ bin from these).
    public var perSample: [Float]
}

/// The whole trainable LI-DiT: prompt-encoder refiners + DiT, one `ParameterStore` (names prefixed
/// "encoder." and "dit."), and the rectified-flow loss.
///
/// Training:
///
///     let model = LIDiTModel(config: .standard(), seed: 0)
///     model.parameters.zeroGradients()
///     let r = model.trainingStep(batch)          // forward + backward; gradients accumulate
///     // optimizer over model.parameters.values / .gradients (count floats; entries[i].decays for decay groups)
///
/// Sampling: `predict(...)`, the raw output; `Sampling.Prediction` turns it into x̂₀.
///
/// Not thread-safe: one model runs one batch at a time (it owns one workspace). Separate models (e.g.
/// an EMA copy for samples) may run on separate threads.
public final class LIDiTModel {
    public let config: LIDiTConfig
    public let parameters: ParameterStore
    public let encoder: LIPromptEncoderNetwork
    public let network: LIDiTNetwork

    public init(config: LIDiTConfig, seed: UInt64 = 0) {
        if let problem = config.validate() { preconditionFailure("invalid LIDiTConfig: \(problem)") }
        self.config = config
        parameters = ParameterStore()
        encoder = LIPromptEncoderNetwork(config: config.refiner, store: parameters, prefix: "encoder")
        network = LIDiTNetwork(config: config, textWidth: config.refiner.width, store: parameters, prefix: "dit")
        parameters.finalize(seed: seed)
    }

    public var geometry: PatchGeometry { network.geometry }

    /// The parameters a (valid) config declares, counted without allocating them: a model file's
    /// weights are checked against this before the model is built, so a config that asks for
    /// more than the file holds is refused instead of allocated.
    public static func parameterCount(config: LIDiTConfig) -> Int {
        let store = ParameterStore()
        _ = LIPromptEncoderNetwork(config: config.refiner, store: store, prefix: "encoder")
        _ = LIDiTNetwork(config: config, textWidth: config.refiner.width, store: store, prefix: "dit")
        return store.count
    }

    // MARK: workspace

    /// Buffers for one batch shape (capacity); reused for any smaller batch / shorter text.
    public final class Workspace {
        public let encoder: LIPromptEncoderNetwork.Workspace
        public let network: LIDiTNetwork.Workspace
        let arena = Arena()
        let noisy, dOutput, dY, sigmas: UnsafeMutablePointer<Float>
        init(_ m: LIDiTModel, batch: Int, textTokens: [Int]) {
            encoder = m.encoder.makeWorkspace(batch: batch, tokens: textTokens)
            let ly = m.encoder.outputTokens(textTokens)
            network = m.network.makeWorkspace(batch: batch, textTokens: ly)
            let pix = batch * m.geometry.pixelsPerImage
            noisy = arena.floats(pix); dOutput = arena.floats(pix)
            dY = arena.floats(batch * max(ly, 1) * m.config.refiner.width)
            sigmas = arena.floats(batch)
        }
        public func fits(batch: Int, textTokens: [Int]) -> Bool { encoder.fits(batch: batch, tokens: textTokens) }
    }

    private var cached: Workspace?

    /// The model's workspace, (re)allocated when a batch does not fit the current one.
    public func workspace(batch: Int, textTokens: [Int]) -> Workspace {
        if let w = cached, w.fits(batch: batch, textTokens: textTokens) { return w }
        let caps = cached.map { zip($0.encoder.tokenCapacity, textTokens).map { max($0, $1) } } ?? textTokens
        let w = Workspace(self, batch: max(batch, cached?.encoder.batchCapacity ?? 0), textTokens: caps)
        cached = w
        return w
    }

    // MARK: training

    /// Forward pass and loss only (no gradients).
    public func loss(_ batch: TrainingBatch) -> StepResult {
        let ws = workspace(batch: batch.batch, textTokens: batch.text.branches.map(\.tokens))
        return forwardLoss(batch, ws)
    }

    /// Forward + backward: accumulates ∂loss/∂θ into `parameters.gradients` (zero them between steps)
    /// and returns the loss.
    @discardableResult
    public func trainingStep(_ batch: TrainingBatch) -> StepResult {
        let ws = workspace(batch: batch.batch, textTokens: batch.text.branches.map(\.tokens))
        let r = forwardLoss(batch, ws)
        backward(ws)
        return r
    }

    /// Runs encoder and DiT on the batch's noisy images; leaves ∂loss/∂output in ws.dOutput.
    func forwardLoss(_ batch: TrainingBatch, _ ws: Workspace) -> StepResult {
        let B = batch.batch, n = geometry.pixelsPerImage
        precondition(batch.images.count == B * n && batch.noise.count == B * n && batch.sigmas.count == B, "batch shapes")
        batch.sigmas.withUnsafeBufferPointer { ws.sigmas.update(from: $0.baseAddress!, count: B) }
        batch.images.withUnsafeBufferPointer { x0 in
            batch.noise.withUnsafeBufferPointer { eps in
                for b in 0..<B {
                    let s = ws.sigmas[b]
                    for i in (b * n)..<((b + 1) * n) { ws.noisy[i] = (1 - s) * x0[i] + s * eps[i] }
                }
            }
        }
        runNetworks(text: batch.text, batch: B, pooledDropped: batch.pooledDropped, ws)
        let out = ws.network.output
        let total = Float(B * n)
        var perSample = [Float](repeating: 0, count: B)
        var sum = 0.0
        batch.images.withUnsafeBufferPointer { x0 in
            batch.noise.withUnsafeBufferPointer { eps in
                for b in 0..<B {
                    var acc = 0.0
                    let s = max(ws.sigmas[b], config.minimumSigma)
                    for i in (b * n)..<((b + 1) * n) {
                        let e: Float, g: Float
                        switch (config.prediction, config.loss) {
                        case (.velocity, _):
                            e = out[i] - (eps[i] - x0[i]); g = 2 * e / total
                        case (.cleanImage, .velocity):
                            // v̂ − v = ((x_σ − x̂₀) − (x_σ − x₀)) / s = (x₀ − x̂₀) / s
                            e = (x0[i] - out[i]) / s; g = -2 * e / (s * total)
                        case (.cleanImage, .cleanImage):
                            e = out[i] - x0[i]; g = 2 * e / total
                        }
                        acc += Double(e * e)
                        ws.dOutput[i] = g
                    }
                    perSample[b] = Float(acc / Double(n))
                    sum += acc
                }
            }
        }
        return StepResult(loss: sum / Double(total), perSample: perSample)
    }

    func runNetworks(text: RefinerInput, batch B: Int, pooledDropped: [Bool] = [], pooledTextScale: Float = 1, _ ws: Workspace) {
        precondition(text.batch == B, "text batch \(text.batch) ≠ image batch \(B)")
        encoder.forward(parameters, text, sigmas: ws.sigmas, ws.encoder)
        network.forward(parameters, x: ws.noisy, sigmas: ws.sigmas, text: ws.encoder.y, textValid: ws.encoder.yMask,
                        batch: B, textTokens: ws.encoder.yTokens, pooledDropped: pooledDropped, pooledTextScale: pooledTextScale,
                        ws.network)
    }

    /// Backward from ws.dOutput through the DiT and the refiners.
    func backward(_ ws: Workspace) {
        let count = ws.encoder.batch * ws.encoder.yTokens * config.refiner.width
        ws.dY.update(repeating: 0, count: max(count, 1))
        network.backward(parameters, dOutput: ws.dOutput, ws.network, dText: ws.dY)
        encoder.backward(parameters, dY: ws.dY, ws.encoder)
    }

    // MARK: inference

    /// One workspace per row for `predict` (batch 1 each; grown on demand).
    private var rowWorkspaces: [Workspace] = []

    /// The raw network output (velocity or clean image, per `config.prediction`) at (x_σ, σ), for
    /// every row of a batch.
    ///
    /// Each row is computed as a batch of one in buffers of its own, the rows side by side on the
    /// cores (each row's kernels then run on the workers its share leaves). So a row's result never
    /// depends on the other rows — OpenBLAS's result for a row can depend on how many rows share a
    /// product — and a batch of seeds gives each seed's picture bit for bit; and a guided step's
    /// conditional and unconditional rows run in parallel as wholes instead of every small kernel
    /// being split across threads and joined again.
    public func predict(noisy: [Float], sigmas: [Float], text: RefinerInput) -> [Float] {
        let B = sigmas.count, n = geometry.pixelsPerImage
        precondition(noisy.count == B * n, "noisy images must be [batch, C, H, W]")
        precondition(text.batch == B, "text batch \(text.batch) ≠ image batch \(B)")
        let tokens = text.branches.map(\.tokens)
        for r in 0..<B {
            if r == rowWorkspaces.count {
                rowWorkspaces.append(Workspace(self, batch: 1, textTokens: tokens))
            } else if !rowWorkspaces[r].fits(batch: 1, textTokens: tokens) {
                let capacity = zip(rowWorkspaces[r].encoder.tokenCapacity, tokens).map { max($0, $1) }
                rowWorkspaces[r] = Workspace(self, batch: 1, textTokens: capacity)
            }
        }
        let workspaces = rowWorkspaces
        var out = [Float](repeating: 0, count: B * n)
        out.withUnsafeMutableBufferPointer { o in
            let o = o.baseAddress!
            noisy.withUnsafeBufferPointer { x in
                let x = x.baseAddress!
                Parallel.forEach(B) { r in
                    let ws = workspaces[r]
                    ws.sigmas[0] = sigmas[r]
                    ws.noisy.update(from: x + r * n, count: n)
                    runNetworks(text: text.row(r), batch: 1, pooledTextScale: config.pooledTextScale ?? 1, ws)
                    (o + r * n).update(from: ws.network.output, count: n)
                }
            }
        }
        return out
    }

    /// The buffers of row `row`'s last `predict` call (a batch of one): its activations, text
    /// tokens Y and mask, until the next call.
    public func lastWorkspace(row: Int) -> Workspace {
        precondition(row >= 0 && row < rowWorkspaces.count, "no forward pass of row \(row) yet")
        return rowWorkspaces[row]
    }

    /// The cross-attention of batch row `row` of the last `predict` call, summed over heads and
    /// blocks: [image tokens, text tokens Y] (row-major) and the number of text tokens. Only valid
    /// until the next call (see `LIDiTNetwork.accumulateCrossAttention`).
    public func lastCrossAttention(row: Int) -> (values: [Float], textTokens: Int) {
        let ws = lastWorkspace(row: row)
        let S = network.lastTextTokens(ws.network)
        var out = [Float](repeating: 0, count: network.tokens * S)
        out.withUnsafeMutableBufferPointer { network.accumulateCrossAttention(ws.network, row: 0, into: $0.baseAddress!) }
        return (out, S)
    }

    /// Forward FLOPs per sample (2 × multiply-adds of every GEMM and attention product).
    public func forwardFlopsPerSample(textTokens: [Int]) -> Int {
        encoder.forwardFlopsPerSample(tokens: textTokens) + network.forwardFlopsPerSample(textTokens: encoder.outputTokens(textTokens))
    }
}
