import Foundation
import ModelFiles
import XCTest
@testable import Training

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
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingConfig.standard())) as? [String: Any])
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
}
