import ArgumentParser
import Foundation
import ModelFiles
import Kernels
import Training

/// Set by SIGINT/SIGTERM; the training loop checks it between steps, saves and exits.
nonisolated(unsafe) var stopRequested: sig_atomic_t = 0

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train or resume an LI-DiT model on the shapes domain or on your own pictures.",
        discussion: """
        A run lives in a folder (config.json, checkpoint.safetensors, loss.csv, samples/). Running the \
        same command again resumes exactly where the checkpoint left off. Ctrl+C saves a checkpoint and \
        exits. --export writes the EMA weights in fp16, the file `lidit generate --model` reads. \
        --data trains on a folder of PNG pictures, each with its caption in a .txt file of the same \
        name (cat.png + cat.txt); pictures are centre-cropped and scaled to the model's size.
        """)

    @Option(name: .customLong("run"), help: "Run folder.") var runFolder: String = "runs/default"
    @Option(help: "A training configuration (JSON) for a new run; default: the standard recipe.") var config: String?
    @Option(parsing: .unconditional, help: "Stop after this many minutes (\(Bounds.minutes.text); the run resumes later).") var minutes: Double?
    @Option(parsing: .unconditional, help: "Total steps (\(Bounds.trainSteps.text); also extends or shortens a resumed run).") var steps: Int?
    @Option(parsing: .unconditional, help: "Override the caption pool size of a new run (\(Bounds.captions.text)).") var captions: Int?
    @Option(help: "Train a new run on this folder of PNG pictures with same-named .txt captions.") var data: String?
    @Option(parsing: .unconditional, help: "Override the batch size of a new run (\(Bounds.batch.text)).") var batch: Int?
    @Option(help: "Write the EMA weights (fp16) to this path when done.") var export: String?
    @Option(help: "Start a new run from these weights (a model file such as the default model; tensors of another configuration are copied where their names and shapes match, and patches folded for a smaller image on the same token grid).") var initFrom: String?
    @Option(parsing: .unconditional, help: "Worker threads (\(Bounds.threads.text)).") var threads: Int?
    @Flag(help: "Print the configuration (JSON) this command would start a new run with, and exit.") var printConfig = false

    func validate() throws {
        try Bounds.minutes.check(minutes)
        try Bounds.trainSteps.check(steps)
        try Bounds.captions.check(captions)
        try Bounds.batch.check(batch)
        try Bounds.threads.check(threads)
    }

    func run() throws {
        try applyThreads(threads)
        var cfg: TrainingConfig = .standard()
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else { throw CLIError("cannot read \(config)") }
            do { cfg = try JSONDecoder().decode(TrainingConfig.self, from: data) } catch {
                throw CLIError("\(config): not a training configuration (\(describeDecodingError(error)))")
            }
        }
        if let steps { cfg.optimizer.totalSteps = steps }
        if let captions { cfg.data.captions = captions }
        if let batch { cfg.batchSize = batch }
        if let data { cfg.data.folder = URL(fileURLWithPath: data).standardizedFileURL.path }
        if printConfig {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(cfg), as: UTF8.self))
            return
        }
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGTERM) { _ in stopRequested = 1 }
        let log: (String) -> Void = { FileHandle.standardError.write(Data("lidit: \($0)\n".utf8)) }
        do {
            let trainer = try Trainer(folder: URL(fileURLWithPath: runFolder), config: cfg, initialWeights: initFrom, totalSteps: steps,
                                      shouldStop: { stopRequested != 0 }, log: log)
            let deadline = minutes.map { Date().addingTimeInterval($0 * 60) }
            try trainer.train(until: deadline, shouldStop: { stopRequested != 0 }, report: { p in
                let remaining = Double(p.totalSteps - p.step) * Double(trainer.config.batchSize) / max(p.samplesPerSecond, 1e-9)
                let bar = progressBar(Double(p.step) / Double(p.totalSteps), width: 24)
                let line = String(format: "\r%@ step %d/%d  loss %.4f  lr %.2e  |g| %.2f  %.0f samples/s (data %.0f%%)  ETA %@   ",
                                  bar, p.step, p.totalSteps, p.loss, p.learningRate, p.gradientNorm, p.samplesPerSecond, 100 * p.dataFraction, formatDuration(remaining))
                FileHandle.standardError.write(Data(line.utf8))
            }, log: { FileHandle.standardError.write(Data("\n".utf8)); log($0) })
            FileHandle.standardError.write(Data("\n".utf8))
            if let export {
                let domain = trainer.config.data.folder.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "shapes"
                try trainer.exportModel(to: export, modelID: "lidit-\(domain)-\(trainer.step)-\(trainer.weightsDigest)")
                log("exported \(export)")
            }
        } catch let e as TrainingError {
            throw CLIError(e.description)
        }
    }
}

func progressBar(_ fraction: Double, width: Int) -> String {
    let filled = Int((max(0, min(1, fraction)) * Double(width)).rounded())
    return "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + "]"
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds)
    return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%dm%02ds", s / 60, s % 60)
}
