import Foundation
import ModelFiles
import NeuralLayers
import PromptEncoder

/// What a model file records about how to rebuild the model: the LI-DiT's configuration and the
/// LLMs of its prompt encoder. It is read from the training configuration a file carries (whose
/// other keys, the data and optimizer, do not matter for drawing pictures).
public struct ModelRecipe: Codable, Equatable, Sendable {
    public var model: LIDiTConfig
    public var encoders: [EncoderSpec]
    public init(model: LIDiTConfig, encoders: [EncoderSpec]) { self.model = model; self.encoders = encoders }

    /// What is wrong with the recipe, named by its JSON path, or nil.
    public var problem: String? {
        if let problem = model.validate() { return "model.\(problem)" }
        guard encoders.count == model.refiner.branches.count else {
            return "\(encoders.count) encoders but \(model.refiner.branches.count) refiner branches"
        }
        for (i, (e, b)) in zip(encoders, model.refiner.branches).enumerated() where e.id != b.name {
            return "encoders.\(i).id \(e.id) does not match refiner branch \(b.name)"
        }
        return nil
    }
}

public struct ModelFileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The LI-DiT file format, one safetensors file in two roles, like llm.c's checkpoint header:
/// - a **model** (`lidit train --export`): the EMA weights in fp16 as `weights`, what
///   `lidit generate --model` reads;
/// - a **checkpoint** (a run's `checkpoint.safetensors`): `weights`, the AdamW moments `adam_m`,
///   `adam_v` and the `ema`, all fp32, with the step and the time trained so far.
/// Both carry, as metadata, the training configuration (JSON), the parameter layout's fingerprint
/// (a flat buffer of another layout would otherwise load scrambled without complaint) and the
/// format version. Every reader and writer of either role goes through this type.
///
/// Versions: 1 had no `lidit.format_version` key (every file before the key existed); 2 adds it.
/// Nothing else changed, so a version-1 file loads as it always did.
public struct ModelFile {
    public static let formatVersion = 2

    enum Key {
        static let weights = "weights", adamM = "adam_m", adamV = "adam_v", ema = "ema"
        static let trainingConfig = "lidit.training_config", layout = "lidit.layout", modelID = "lidit.model_id"
        static let step = "lidit.step", elapsedSeconds = "lidit.elapsed_seconds", formatVersion = "lidit.format_version"
    }

    public let path: String
    public let version: Int
    public let recipe: ModelRecipe
    /// The whole training configuration the file records, as written (the trainer decodes it).
    public let trainingConfigJSON: String
    public let weights: [Float]
    public let layout: String?
    public let modelID: String?
    public let step: Int?

    /// Reads and checks a model file (or a checkpoint, whose `weights` are the raw ones). The
    /// file may come from anywhere: its configuration is decoded and range-checked, and its
    /// weights counted against it, before anything is allocated; each failure is one line naming
    /// the file and the field.
    public static func read(path: String) throws -> ModelFile {
        try ModelFile(file: try SafetensorsFile.read(path: path), path: path)
    }

    /// `read` on bytes already in memory (the fuzz target).
    public static func parse(_ data: Data, path: String) throws -> ModelFile {
        try ModelFile(file: try SafetensorsFile.parse(data, path: path), path: path)
    }

    init(file: SafetensorsFile, path: String) throws {
        self.path = path
        version = try Self.version(of: file, path: path)
        let key = Key.trainingConfig
        guard let json = file.metadata[key] else { throw ModelFileError("\(path): not an LI-DiT model (no \(key) metadata)") }
        do { recipe = try JSONDecoder().decode(ModelRecipe.self, from: Data(json.utf8)) } catch {
            throw ModelFileError("\(path): \(key) does not decode (\(describeDecodingError(error)))")
        }
        if let problem = recipe.problem { throw ModelFileError("\(path): \(key): \(problem)") }
        guard let w = file.tensor(Key.weights), w.values.count == LIDiTModel.parameterCount(config: recipe.model) else {
            throw ModelFileError("\(path): weights do not match the model's configuration (written by another version?)")
        }
        trainingConfigJSON = json
        weights = w.values
        layout = file.metadata[Key.layout]
        modelID = file.metadata[Key.modelID]
        step = file.metadata[Key.step].flatMap { Int($0) }
    }

    static func version(of file: SafetensorsFile, path: String) throws -> Int {
        guard let text = file.metadata[Key.formatVersion] else { return 1 }
        guard let v = Int(text), v >= 1 else { throw ModelFileError("\(path): \(Key.formatVersion) is not a version number ('\(text)')") }
        guard v <= formatVersion else {
            throw ModelFileError("\(path): written in model format \(v), this lidit reads up to \(formatVersion); update lidit")
        }
        return v
    }

    /// The network with the file's weights. Checks the layout fingerprint when the file has one.
    public func makeModel() throws -> LIDiTModel {
        let model = LIDiTModel(config: recipe.model, seed: 0)
        guard layout.map({ $0 == parameterLayoutFingerprint(model.parameters) }) ?? true else {
            throw ModelFileError("\(path): weights do not match the model's configuration (written by another version?)")
        }
        weights.withUnsafeBufferPointer { model.parameters.values.update(from: $0.baseAddress!, count: $0.count) }
        return model
    }

    /// Writes weights (the EMA ones, in practice) as a model file in fp16.
    public static func writeModel(to path: String, weights: [Float], layout: String, trainingConfigJSON: String,
                                  modelID: String, step: Int) throws {
        try SafetensorsFile(tensors: [.init(name: Key.weights, shape: [weights.count], values: weights, dtype: .f16)],
                            metadata: [Key.trainingConfig: trainingConfigJSON, Key.modelID: modelID, Key.layout: layout,
                                       Key.step: String(step), Key.formatVersion: String(formatVersion)]).write(to: path)
    }
}

/// A training run's whole state (the checkpoint role of `ModelFile`'s format).
public struct Checkpoint {
    public var weights: [Float], adamM: [Float], adamV: [Float], ema: [Float]
    public var step: Int
    public var elapsedSeconds: Double
    public var layout: String
    public var trainingConfigJSON: String

    public init(weights: [Float], adamM: [Float], adamV: [Float], ema: [Float], step: Int, elapsedSeconds: Double,
                layout: String, trainingConfigJSON: String) {
        self.weights = weights; self.adamM = adamM; self.adamV = adamV; self.ema = ema
        self.step = step; self.elapsedSeconds = elapsedSeconds; self.layout = layout; self.trainingConfigJSON = trainingConfigJSON
    }

    /// Reads a checkpoint for a model of `parameterCount` parameters and layout `layout`.
    public static func read(path: String, parameterCount n: Int, layout: String) throws -> Checkpoint {
        typealias Key = ModelFile.Key
        let file = try SafetensorsFile.read(path: path)
        _ = try ModelFile.version(of: file, path: path)
        guard let w = file.tensor(Key.weights), let m = file.tensor(Key.adamM), let v = file.tensor(Key.adamV), let e = file.tensor(Key.ema),
              [w, m, v, e].allSatisfy({ $0.values.count == n }), let step = Int(file.metadata[Key.step] ?? "") else {
            throw ModelFileError("\(path) does not match this run's model; move it away to start over")
        }
        if let written = file.metadata[Key.layout], written != layout {
            throw ModelFileError("\(path) was written for a different parameter layout; move it away to start over")
        }
        return Checkpoint(weights: w.values, adamM: m.values, adamV: v.values, ema: e.values, step: step,
                          elapsedSeconds: Double(file.metadata[Key.elapsedSeconds] ?? "") ?? 0, layout: layout,
                          trainingConfigJSON: file.metadata[Key.trainingConfig] ?? "")
    }

    /// Writes atomically (`SafetensorsFile.write`), so an interrupted save keeps the last one.
    public func write(to path: String) throws {
        typealias Key = ModelFile.Key
        let n = weights.count
        try SafetensorsFile(tensors: [
            .init(name: Key.weights, shape: [n], values: weights, dtype: .f32),
            .init(name: Key.adamM, shape: [n], values: adamM, dtype: .f32),
            .init(name: Key.adamV, shape: [n], values: adamV, dtype: .f32),
            .init(name: Key.ema, shape: [n], values: ema, dtype: .f32),
        ], metadata: [Key.step: String(step), Key.elapsedSeconds: String(elapsedSeconds), Key.layout: layout,
                      Key.trainingConfig: trainingConfigJSON, Key.formatVersion: String(ModelFile.formatVersion)]).write(to: path)
    }
}

/// SHA-256 over every parameter's name and shape in buffer order.
public func parameterLayoutFingerprint(_ store: ParameterStore) -> String {
    var h = SHA256()
    for e in store.entries { h.update(Array("\(e.name)\(e.shape)".utf8)) }
    return h.finalize()
}
