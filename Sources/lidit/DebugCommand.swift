import ArgumentParser
import Diffusion
import Foundation
import ModelFiles
import PromptEncoder
import Training

/// Fixed-input runs of the network, for checking another implementation against this one
/// (the PyTorch twin in `python/lidit_torch` does, in its test suite).
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug",
        abstract: "Run the network on fixed inputs and write what it computes (for parity checks).",
        discussion: """
        Inputs are a safetensors file of F32 (or F16) tensors: `sigmas` [B]; per LLM branch of the \
        model, `text.<name>.features` [B, L, width] and `text.<name>.mask` [B, L] (1 = token, 0 = \
        padding); optionally `drop` [B] (1 = null text) and `fusion` [branches]. `forward` also reads \
        `noisy` [B, C, H, W] (x_σ) and writes `output` (the raw prediction); `train-step` reads \
        `images` and `noise` [B, C, H, W], runs one step of `lidit train` (loss, backward, AdamW + \
        EMA at --step from the weights, with the model's recorded optimizer settings) and writes \
        `loss`, `per_sample`, `gradient_norm`, `gradients`, `weights` and `ema` (flat, in the \
        model file's layout).
        """,
        subcommands: [Forward.self, TrainStep.self])

    struct Options: ParsableArguments {
        @Option(help: "A model file (default: the committed default model).") var model = "models/lidit-shapes.safetensors"
        @Option(help: "The inputs (safetensors).") var inputs: String
        @Option(help: "Where to write the outputs (safetensors).") var out: String
    }

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The network's prediction for `noisy` at `sigmas`.")
        @OptionGroup var options: Options
        func run() throws {
            let (model, _) = try loadModelFile(options.model)
            let inputs = try DebugInputs(path: options.inputs, model: model)
            let noisy = try inputs.tensor("noisy", count: inputs.batch * model.geometry.pixelsPerImage)
            let out = model.predict(noisy: noisy, sigmas: inputs.sigmas, text: inputs.text)
            let g = model.geometry
            try SafetensorsFile(tensors: [.init(name: "output", shape: [inputs.batch, g.channels, g.height, g.width], values: out, dtype: .f32)])
                .write(to: options.out)
        }
    }

    struct TrainStep: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "train-step", abstract: "One training step on the given batch.")
        @OptionGroup var options: Options
        @Option(parsing: .unconditional, help: "The 0-based step (sets the learning rate and the bias corrections; 0...100000000).") var step = 0
        func validate() throws { try OptionBounds("--step", 0...100_000_000).check(step) }
        func run() throws {
            let (model, config) = try loadModelFile(options.model)
            let inputs = try DebugInputs(path: options.inputs, model: model)
            let n = inputs.batch * model.geometry.pixelsPerImage
            let batch = TrainingBatch(batch: inputs.batch, images: try inputs.tensor("images", count: n),
                                      noise: try inputs.tensor("noise", count: n), sigmas: inputs.sigmas, text: inputs.text)
            let optimizer = AdamW(parameters: model.parameters, config: config.optimizer)
            model.parameters.zeroGradients()
            let r = model.trainingStep(batch)
            let count = model.parameters.count
            let gradients = Array(UnsafeBufferPointer(start: model.parameters.gradients, count: count))
            let norm = optimizer.step(model.parameters, step: step)
            let weights = Array(UnsafeBufferPointer(start: model.parameters.values, count: count))
            try SafetensorsFile(tensors: [
                .init(name: "loss", shape: [1], values: [Float(r.loss)], dtype: .f32),
                .init(name: "per_sample", shape: [inputs.batch], values: r.perSample, dtype: .f32),
                .init(name: "gradient_norm", shape: [1], values: [Float(norm)], dtype: .f32),
                .init(name: "gradients", shape: [count], values: gradients, dtype: .f32),
                .init(name: "weights", shape: [count], values: weights, dtype: .f32),
                .init(name: "ema", shape: [count], values: optimizer.ema, dtype: .f32),
            ], metadata: ["lidit.loss": String(r.loss), "lidit.gradient_norm": String(norm),
                          "lidit.layout": parameterLayoutFingerprint(model.parameters)]).write(to: options.out)
        }
    }
}

/// A model file's network with its weights, without the LLMs, and the training configuration
/// it records.
func loadModelFile(_ path: String) throws -> (LIDiTModel, TrainingConfig) {
    do {
        let file = try ModelFile.read(path: path)
        let config = try JSONDecoder().decode(TrainingConfig.self, from: Data(file.trainingConfigJSON.utf8))
        return (try file.makeModel(), config)
    } catch let e as DecodingError {
        throw CLIError("\(path): lidit.training_config does not decode (\(describeDecodingError(e)))")
    } catch {
        throw CLIError("\(error)")
    }
}

/// The tensors of a `lidit debug` inputs file, checked against the model's shapes.
struct DebugInputs {
    let file: SafetensorsFile
    let path: String
    let batch: Int
    let sigmas: [Float]
    let text: RefinerInput

    init(path: String, model: LIDiTModel) throws {
        do { file = try SafetensorsFile.read(path: path) } catch { throw CLIError("\(error)") }
        self.path = path
        guard let s = file.tensor("sigmas"), s.shape.count == 1, s.shape[0] >= 1 else { throw CLIError("\(path): needs sigmas [B]") }
        batch = s.shape[0]
        sigmas = s.values
        guard sigmas.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else { throw CLIError("\(path): sigmas must lie in [0, 1]") }
        var branches: [RefinerBranchInput] = []
        for b in model.config.refiner.branches {
            guard let f = file.tensor("text.\(b.name).features"), f.shape.count == 3, f.shape[0] == batch, f.shape[2] == b.width,
                  f.shape[1] >= max(b.instructionTokens, 1) else {
                throw CLIError("\(path): needs text.\(b.name).features [\(batch), L ≥ \(max(b.instructionTokens, 1)), \(b.width)]")
            }
            guard let m = file.tensor("text.\(b.name).mask"), m.shape == [batch, f.shape[1]] else {
                throw CLIError("\(path): needs text.\(b.name).mask [\(batch), \(f.shape[1])]")
            }
            branches.append(RefinerBranchInput(tokens: f.shape[1], features: f.values, mask: m.values.map { $0 != 0 ? 1 : 0 }))
        }
        var fusion: [Float]?
        if let w = file.tensor("fusion") {
            guard w.values.count == branches.count else { throw CLIError("\(path): fusion needs one weight per branch") }
            fusion = w.values
        }
        var drop: [Bool]?
        if let d = file.tensor("drop") {
            guard d.values.count == batch else { throw CLIError("\(path): drop needs [\(batch)]") }
            drop = d.values.map { $0 != 0 }
        }
        text = RefinerInput(batch: batch, branches: branches, fusionWeights: fusion, dropText: drop)
    }

    func tensor(_ name: String, count: Int) throws -> [Float] {
        guard let t = file.tensor(name), t.values.count == count else { throw CLIError("\(path): needs \(name) with \(count) values") }
        return t.values
    }
}
