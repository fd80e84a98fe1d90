import Foundation
import Diffusion
import ModelFiles
import PromptEncoder
import XCTest
@testable import Pipeline

/// Issue 30, finding 2: a crafted model file is refused with one line naming the file and the
/// field, before its config is divided by or allocated. Needs no LLM files (every case fails
/// before they are read).
final class ModelFileValidationTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("modelfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A model file whose config is the standard one with `edit` applied to its JSON.
    func modelFile(_ name: String, config: String, weights: Int = 16) throws -> String {
        let path = "\(dir)/\(name).safetensors"
        let file = SafetensorsFile(tensors: [.init(name: "weights", shape: [weights], values: [Float](repeating: 0, count: weights), dtype: .f16)],
                                   metadata: ["lidit.training_config": config])
        try file.write(to: path)
        return path
    }

    func standardJSON(_ edit: (inout [String: Any]) -> Void) throws -> String {
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(ModelRecipe(model: .standard(), encoders: [EncoderSpec(id: "smollm2"), EncoderSpec(id: "gemma3")]))) as? [String: Any])
        edit(&root)
        return String(decoding: try JSONSerialization.data(withJSONObject: root), as: UTF8.self)
    }

    func setModel(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
        { root in
            var model = root["model"] as! [String: Any]
            let parts = key.split(separator: ".").map(String.init)
            if parts.count == 2 {
                var refiner = model["refiner"] as! [String: Any]
                refiner[parts[1]] = value
                model["refiner"] = refiner
            } else {
                model[key] = value
            }
            root["model"] = model
        }
    }

    func loadError(_ path: String) -> String? {
        let noLLMs = ModelStore(folder: URL(fileURLWithPath: dir + "/no-llms"))
        do { _ = try ImagePipeline.load(modelPath: path, store: noLLMs); return nil } catch { return "\(error)" }
    }

    func testEveryCraftedSizeIsRefusedNamingTheField() throws {
        let cases: [(String, Any, String)] = [
            ("heads", 0, "model.heads must be 1...64 (got 0)"),
            ("patch", 0, "model.patch must be 1...64 (got 0)"),
            ("refiner.heads", 0, "model.refiner.heads must be 1...64 (got 0)"),
            ("width", -192, "model.width must be 4...4096 (got -192)"),
            ("imageSize", 1_000_000, "model.imageSize must be 1...1024 (got 1000000)"),
            ("depth", 100_000, "model.depth must be 1...64 (got 100000)"),
            ("channels", -3, "model.channels must be 1...4"),
            ("mlpRatio", 0, "model.mlpRatio must be 1...16"),
            ("refiner.width", 0, "model.refiner.width must be 1...4096"),
            ("refiner.blocks", -1, "model.refiner.blocks must be 0...16"),
        ]
        for (key, value, expected) in cases {
            let path = try modelFile(key, config: try standardJSON(setModel(key, value)))
            let message = try XCTUnwrap(loadError(path), "\(key) = \(value) must be refused")
            XCTAssertTrue(message.hasPrefix(path + ": "), message)
            XCTAssertTrue(message.contains(expected), "\(key) = \(value): \(message)")
            XCTAssertFalse(message.contains("\n"), message)
        }
    }

    func testTokensAndBranchesAreBounded() throws {
        let tokens = try modelFile("tokens", config: try standardJSON { root in
            self.setModel("imageSize", 1024)(&root); self.setModel("patch", 1)(&root)
        })
        XCTAssertTrue(loadError(tokens)?.contains("image tokens") == true, loadError(tokens) ?? "")
        let branchWidth = try modelFile("branch", config: try standardJSON { root in
            var model = root["model"] as! [String: Any], refiner = model["refiner"] as! [String: Any]
            var branches = refiner["branches"] as! [[String: Any]]
            branches[1]["width"] = -640
            refiner["branches"] = branches; model["refiner"] = refiner; root["model"] = model
        })
        XCTAssertTrue(loadError(branchWidth)?.contains("model.refiner.branches.1.width must be 1...8192") == true, loadError(branchWidth) ?? "")
    }

    func testAConfigThatDoesNotDecodeIsNotCalledMissing() throws {
        let garbage = try modelFile("garbage", config: "{{{")
        let message = try XCTUnwrap(loadError(garbage))
        XCTAssertTrue(message.contains("lidit.training_config does not decode"), message)
        let noModel = try modelFile("nomodel", config: #"{"encoders": []}"#)
        XCTAssertTrue(loadError(noModel)?.contains("model: missing") == true, loadError(noModel) ?? "")
        let absent = "\(dir)/absent.safetensors"
        try SafetensorsFile(tensors: [.init(name: "weights", shape: [1], values: [0], dtype: .f16)], metadata: [:]).write(to: absent)
        XCTAssertTrue(loadError(absent)?.contains("no lidit.training_config metadata") == true)
    }

    /// A valid config whose size the file's weights do not have is refused before the model is allocated.
    func testWeightCountIsCheckedBeforeAllocating() throws {
        let path = try modelFile("count", config: try standardJSON(setModel("depth", 64)))
        XCTAssertTrue(loadError(path)?.contains("weights do not match") == true, loadError(path) ?? "")
    }

    /// The format's version: files from before the key existed (version 1) load as they always
    /// did, the default model among them; a newer file is refused with a line that says so.
    func testOldFilesLoadAndNewerOnesAreRefused() throws {
        let recipe = ModelRecipe(model: LIDiTConfig(imageSize: 8, channels: 3, patch: 4, width: 16, depth: 1, heads: 2, mlpRatio: 2,
                                                    refiner: RefinerConfig(branches: [LLMBranchConfig(name: "smollm2", width: 8, instructionTokens: 0)],
                                                                           width: 8, heads: 2, blocks: 1)),
                                 encoders: [EncoderSpec(id: "smollm2")])
        let json = String(decoding: try JSONEncoder().encode(recipe), as: UTF8.self)
        let count = LIDiTModel.parameterCount(config: recipe.model)
        let weights = (0..<count).map { Float($0 % 7) / 8 }
        func write(_ name: String, version: String?) throws -> String {
            var metadata = ["lidit.training_config": json]
            metadata["lidit.format_version"] = version
            let path = "\(dir)/\(name).safetensors"
            try SafetensorsFile(tensors: [.init(name: "weights", shape: [count], values: weights, dtype: .f16)], metadata: metadata).write(to: path)
            return path
        }
        let old = try ModelFile.read(path: try write("v1", version: nil))
        XCTAssertEqual(old.version, 1)
        XCTAssertEqual(old.recipe, recipe)
        let model = try old.makeModel()
        withExtendedLifetime(model) {
            XCTAssertTrue(Array(UnsafeBufferPointer(start: model.parameters.values, count: count)) == weights, "the weights load as written")
        }
        XCTAssertEqual(try ModelFile.read(path: try write("v2", version: "2")).version, 2)
        let newer = try write("v9", version: "9")
        XCTAssertThrowsError(try ModelFile.read(path: newer)) { error in
            XCTAssertEqual("\(error)", "\(newer): written in model format 9, this lidit reads up to 2; update lidit")
        }
        // What the trainer exports is the current version and reads back to the same weights.
        let exported = "\(dir)/exported.safetensors"
        try ModelFile.writeModel(to: exported, weights: weights, layout: parameterLayoutFingerprint(model.parameters),
                                 trainingConfigJSON: json, modelID: "m-1", step: 3)
        let back = try ModelFile.read(path: exported)
        XCTAssertEqual([back.version, back.step], [ModelFile.formatVersion, 3])
        XCTAssertEqual(back.modelID, "m-1")
        XCTAssertTrue(back.weights == weights, "the exported weights read back as written")

        // The committed default model (written before the version key) still loads.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try ModelFile.read(path: repo.appendingPathComponent("models/lidit-shapes.safetensors").path)
        XCTAssertEqual(shipped.recipe.encoders.map(\.id), ["smollm2", "gemma3"])
        XCTAssertNoThrow(try shipped.makeModel())
    }
}
