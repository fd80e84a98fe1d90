import ArgumentParser
import Foundation
import Kernels
import ModelFiles
import PromptEncoder
import Training

/// `lidit dataset export`: the training data of a configuration as shards another trainer (the
/// PyTorch twin in `python/lidit_torch`) can stream, so that there is one renderer, one caption
/// grammar and one LLM implementation. The format is documented in `python/lidit_torch/README.md`.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Export training data (pictures, captions, LLM hidden states) as shards.",
        subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write shards of pictures, captions and each LLM's fp16 hidden states.",
            discussion: """
            Sample k is what `lidit train` draws for step k / batch, slot k % batch with the same \
            configuration: the caption from the pool, its picture rendered for that draw, and each \
            LLM's hidden states from the feature cache (computed first where missing). DIR gets \
            dataset.json and shard-NNNNN.safetensors files; see python/lidit_torch/README.md.
            """)

        @Option(help: "Output folder (created; must not hold a dataset.json).") var out: String
        @Option(parsing: .unconditional, help: "Samples to write (1...10000000).") var samples: Int
        @Option(help: "A training configuration (JSON) or a model file whose recorded configuration to use; default: the standard recipe.") var config: String?
        @Option(help: "Export a folder of PNG pictures with same-named .txt captions instead of the shapes domain.") var data: String?
        @Option(parsing: .unconditional, help: "Override the caption pool size (\(Bounds.captions.text)); a smaller shapes pool is the first captions of the larger one.") var captions: Int?
        @Option(name: .customLong("shard-size"), parsing: .unconditional, help: "Samples per shard (1...100000).") var shardSize = 1024

        func validate() throws {
            try OptionBounds("--samples", 1...10_000_000).check(samples)
            try OptionBounds("--shard-size", 1...100_000).check(shardSize)
            try Bounds.captions.check(captions)
        }

        func run() throws {
            var cfg: TrainingConfig = .standard()
            if let config {
                guard let bytes = FileManager.default.contents(atPath: config) else { throw CLIError("cannot read \(config)") }
                var json = bytes
                if config.hasSuffix(".safetensors") {
                    let (_, c) = try loadModelFile(config)
                    json = try JSONEncoder().encode(c)
                }
                do { cfg = try JSONDecoder().decode(TrainingConfig.self, from: json) } catch {
                    throw CLIError("\(config): not a training configuration (\(describeDecodingError(error)))")
                }
            }
            if let captions { cfg.data.captions = captions }
            if let data { cfg.data.folder = URL(fileURLWithPath: data).standardizedFileURL.path }
            do { try cfg.validate() } catch let e as TrainingError { throw CLIError(e.description) }
            let outURL = URL(fileURLWithPath: out)
            let indexPath = outURL.appendingPathComponent("dataset.json").path
            if FileManager.default.fileExists(atPath: indexPath) { throw CLIError("\(indexPath) exists; choose an empty folder") }
            try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
            let log: (String) -> Void = { FileHandle.standardError.write(Data("lidit: \($0)\n".utf8)) }

            let encoders = try cfg.encoders.map { e in
                log("loading \(e.id)…")
                return try LLMTextEncoder.load(e.id, template: e.template, layer: e.layer)
            }
            for (i, enc) in encoders.enumerated() { cfg.model.refiner.branches[i].instructionTokens = enc.instructionTokenCount }
            let dataset: any TrainingData
            if let folder = cfg.data.folder {
                dataset = try ImageFolderDataset(folder: folder, imageSize: cfg.model.imageSize, seed: cfg.data.seed) { log("warning: \($0)") }
            } else {
                dataset = shapesData(cfg.data, imageSize: cfg.model.imageSize)
            }
            guard !dataset.captions.isEmpty else { throw CLIError("no captions to export") }
            var caches: [FeatureCache] = []
            for (e, enc) in zip(cfg.encoders, encoders) {
                guard let known = KnownModel.named(e.id) else { throw CLIError("unknown encoder \(e.id)") }
                do {
                    caches.append(FeatureCache.concatenated(try dataset.captionGroups.map { captions in
                        try FeatureCache.load(encoder: enc, modelSHA256: known.sha256, layer: e.layer, captions: captions) { done, total in
                            if done == total || done % 1024 == 0 { log("\(e.id) features: \(done)/\(total) captions") }
                        }
                    }))
                } catch let e as TrainingError { throw CLIError(e.description) }
            }

            let configJSON: String = try {
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                return String(decoding: try e.encode(cfg), as: UTF8.self)
            }()
            let (C, S) = (cfg.model.channels, cfg.model.imageSize)
            let pixels = C * S * S
            let B = cfg.batchSize
            var shards: [[String: Any]] = []
            var first = 0
            while first < samples {
                let n = min(shardSize, samples - first)
                let draws = (first..<(first + n)).map { k in (step: k / B, slot: k % B) }
                let indices = draws.map { dataset.index(step: $0.step, slot: $0.slot) }
                var images = [Float](repeating: 0, count: n * pixels)
                images.withUnsafeMutableBufferPointer { p in
                    let base = p.baseAddress!
                    Parallel.forEach(n) { i in
                        let img = dataset.image(index: indices[i], step: draws[i].step, slot: draws[i].slot)
                        img.withUnsafeBufferPointer { base.advanced(by: i * pixels).update(from: $0.baseAddress!, count: pixels) }
                    }
                }
                var tensors: [SafetensorsFile.Tensor] = [
                    .init(name: "images", shape: [n, C, S, S], values: images, dtype: .f16),
                    .init(name: "caption_index", shape: [n], values: indices.map(Float.init), dtype: .f32),
                ]
                for (e, cache) in zip(cfg.encoders, caches) {
                    let w = cache.width
                    let lengths = indices.map { cache.counts[$0] }
                    var rows = [Float](repeating: 0, count: lengths.reduce(0, +) * w)
                    rows.withUnsafeMutableBufferPointer { out in
                        cache.rows.withUnsafeBufferPointer { r in
                            var o = 0
                            for (i, len) in zip(indices, lengths) {
                                convertHalfToFloat(r.baseAddress! + cache.starts[i] * w, out.baseAddress! + o, count: len * w)
                                o += len * w
                            }
                        }
                    }
                    tensors += [
                        .init(name: "\(e.id).prefix", shape: [cache.prefixTokens, w], values: cache.prefix, dtype: .f32),
                        .init(name: "\(e.id).lengths", shape: [n], values: lengths.map(Float.init), dtype: .f32),
                        .init(name: "\(e.id).features", shape: [rows.count / w, w], values: rows, dtype: .f16),
                    ]
                }
                let captionsJSON = String(decoding: try JSONSerialization.data(withJSONObject: indices.map { dataset.captions[$0] }), as: UTF8.self)
                let name = String(format: "shard-%05d.safetensors", shards.count)
                do {
                    try SafetensorsFile(tensors: tensors, metadata: [
                        "lidit.dataset_format": "1", "lidit.first_sample": String(first), "lidit.captions": captionsJSON,
                        "lidit.training_config": configJSON,
                    ]).write(to: outURL.appendingPathComponent(name).path)
                } catch { throw CLIError("\(error)") }
                shards.append(["file": name, "samples": n, "first_sample": first])
                log("\(name): samples \(first)..<\(first + n)")
                first += n
            }
            let index: [String: Any] = [
                "format": 1, "samples": samples, "shards": shards, "channels": C, "image_size": S,
                "encoders": zip(cfg.encoders, caches).map { ["id": $0.id, "width": $1.width, "prefix_tokens": $1.prefixTokens] },
                "training_config": configJSON,
            ]
            let json = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
            do { try json.write(to: URL(fileURLWithPath: indexPath), options: .atomic) } catch {
                throw CLIError("writing \(indexPath) failed: \(error.localizedDescription)")
            }
            log("wrote \(samples) samples in \(shards.count) shards to \(out)")
        }
    }
}
