import Foundation
import ImageIO
import XCTest

/// `lidit generate` as a user runs it: the real binary on the tiny fixture model.
final class GenerateCommandTests: XCTestCase {
    struct Outcome {
        var status: Int32
        var stderr: String
        var stdout = ""
    }

    /// Runs the binary; stdout is kept when asked for (stderr always).
    func lidit(_ binary: String, _ arguments: [String], keepStdout: Bool = false) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["LIDIT_MODELS"] = StudioTmuxTests.llmDirectory()
        p.environment = env
        let err = Pipe(), out = Pipe()
        p.standardError = err
        p.standardOutput = keepStdout ? out : FileHandle.nullDevice
        try p.run()
        var stdout = Data()
        if keepStdout { stdout = out.fileHandleForReading.readDataToEndOfFile() }
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, stderr: String(decoding: data, as: UTF8.self),
                       stdout: String(decoding: stdout, as: UTF8.self))
    }

    /// Guidance limited to high noise changes the picture and is recorded in its metadata; the full
    /// interval is exactly the default.
    func testGuidanceIntervalChangesThePictureAndIsRecorded() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory()) (run `lidit models fetch`)")
        }
        // The committed default model: the untrained fixture's conditional and unconditional
        // predictions are too alike for guidance to move an 8-bit pixel.
        let model = packageRoot.appendingPathComponent("models/lidit-shapes.safetensors").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("generate-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func generate(_ name: String, _ extra: [String]) throws -> PNGFile {
            let path = "\(dir)/\(name).png"
            let r = try lidit(binary, ["generate", "-p", "a red circle above a blue square", "--seed", "7", "--steps", "6",
                                             "--cfg", "4", "--model", model, "--no-gallery", "-o", path] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try PNGFile.read(path: path)
        }
        let plain = try generate("plain", [])
        let full = try generate("full", ["--cfg-interval", "0-1"])
        let high = try generate("high", ["--cfg-interval", "0.5-1"])
        XCTAssertTrue(full.image.pixels == plain.image.pixels, "0-1 is guidance at every step, the default")
        XCTAssertFalse(high.image.pixels == plain.image.pixels, "no guidance below σ 0.5 must change the result")
        XCTAssertFalse(plain.text("parameters")!.contains("Guidance interval"))
        // σ 0.5…1 is the first half of the run.
        XCTAssertTrue(high.text("parameters")!.contains("Guidance interval: 0-0.5"), high.text("parameters")!)
        // Guidance rescale: 0 is plain guidance; 0.7 changes the picture and is recorded.
        let zero = try generate("rescale0", ["--cfg-rescale", "0"])
        let rescaled = try generate("rescaled", ["--cfg-rescale", "0.7"])
        XCTAssertTrue(zero.image.pixels == plain.image.pixels)
        XCTAssertFalse(rescaled.image.pixels == plain.image.pixels)
        XCTAssertTrue(rescaled.text("parameters")!.contains("CFG rescale: 0.7"), rescaled.text("parameters")!)
        XCTAssertFalse(plain.text("parameters")!.contains("CFG rescale"))
    }

    /// `lidit bench generate` runs a whole picture and ends with its summary line; the stages add up.
    func testBenchGenerateReportsTheWholePicture() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory()) (run `lidit models fetch`)")
        }
        let model = packageRoot.appendingPathComponent("models/lidit-shapes.safetensors").path
        let r = try lidit(binary, ["bench", "generate", "--model", model, "--steps", "2", "--repetitions", "1"], keepStdout: true)
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = r.stdout
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        let pattern = #"^generate ms=([0-9.]+) encode_ms=([0-9.]+) sample_ms=([0-9.]+) of_peak=[0-9]+%$"#
        let regex = try NSRegularExpression(pattern: pattern)
        let match = try XCTUnwrap(regex.firstMatch(in: last, range: NSRange(last.startIndex..., in: last)), last)
        let value = { (i: Int) in Double(last[Range(match.range(at: i), in: last)!])! }
        XCTAssertEqual(value(1), value(2) + value(3), accuracy: 0.15, last)
        XCTAssertGreaterThan(value(2), 0)
    }

    /// `lidit bench eval` times both ways of generating a case's seeds and finds the pictures
    /// identical (the check itself is `BatchedSeedsTests`; this one runs the command).
    func testBenchEvalComparesBatchedSeedsWithOneAtATime() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory()) (run `lidit models fetch`)")
        }
        let model = packageRoot.appendingPathComponent("models/lidit-shapes.safetensors").path
        let prompts = packageRoot.appendingPathComponent("benchmarks/shapes-geneval.jsonl").path
        let r = try lidit(binary, ["bench", "eval", "--model", model, "--prompts", prompts, "--limit", "1", "--seeds", "2"], keepStdout: true)
        XCTAssertEqual(r.status, 0, r.stderr)
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let pattern = #"^eval cases=1 seeds=2 batched_s=[0-9.]+ one_at_a_time_s=[0-9.]+ ratio=[0-9.]+ identical=yes$"#
        XCTAssertNotNil(try NSRegularExpression(pattern: pattern).firstMatch(in: last, range: NSRange(last.startIndex..., in: last)), last)
    }

    func testBadGuidanceIntervalIsOneLineError() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        for bad in ["0.8-0.2", "0-2", "half", "0.1", "-0.5-1"] {
            for command in ["generate", "eval"] {
                var args = [command, "--cfg-interval", bad, "--model", "/nonexistent.safetensors"]
                if command == "generate" { args += ["-p", "a circle", "--no-gallery"] }
                let r = try lidit(binary, args)
                XCTAssertNotEqual(r.status, 0, "\(command) \(bad)")
                let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage") && !$0.contains("--help") }
                XCTAssertEqual(lines.count, 1, r.stderr)
                XCTAssertTrue(r.stderr.contains("--cfg-interval"), "the error names the option, before any model is read: \(r.stderr)")
            }
        }
    }

    /// A configuration that does not decode is named by its key, in one line, before any run folder
    /// or LLM file is touched.
    func testBadTrainingConfigNamesTheKey() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trainconfig-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let standard = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: packageRoot
            .appendingPathComponent("scripts/experiments/relations-tiny-horizontal.json"))) as? [String: Any])
        var config = standard, data = try XCTUnwrap(standard["data"] as? [String: Any])
        data["relations"] = ["left of", "diagonal"]
        config["data"] = data
        let cases: [(String, Data, [String])] = [
            ("relation", try JSONSerialization.data(withJSONObject: config), ["data.relations.1", "diagonal"]),
            ("missing", try JSONSerialization.data(withJSONObject: standard.filter { $0.key != "batchSize" }), ["batchSize: missing"]),
            ("truncated", try Data(contentsOf: packageRoot.appendingPathComponent("scripts/experiments/relations-tiny.json")).prefix(200), ["not a training configuration"]),
        ]
        for (name, json, expected) in cases {
            let path = "\(dir)/\(name).json"
            try json.write(to: URL(fileURLWithPath: path))
            let r = try lidit(binary, ["train", "--run", "\(dir)/run-\(name)", "--config", path])
            XCTAssertNotEqual(r.status, 0, name)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            for e in expected { XCTAssertTrue(r.stderr.contains(e), "\(name): \(r.stderr)") }
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/run-\(name)"), "no run folder for a bad config")
        }
    }
}
