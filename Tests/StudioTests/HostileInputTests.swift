import Foundation
import Gallery
import ImageIO
import ModelFiles
import Diffusion
import Pipeline
import PromptEncoder
import TerminalGraphics
import XCTest
@testable import Studio

/// Issue 30: the `lidit` binary against hostile files and values, as a user would meet them.
final class HostileInputTests: XCTestCase {
    struct Outcome {
        var status: Int32
        var stdout: Data
        var stderr: String
        var all: Data { stdout + Data(stderr.utf8) }
    }

    func lidit(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["LIDIT_MODELS"] = StudioTmuxTests.llmDirectory()
        for (k, v) in environment { env[k] = v }
        p.environment = env
        // stderr goes to a file, so that a full stderr pipe cannot block the child while stdout is read.
        let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-stderr-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { unlink(errPath) }
        let out = Pipe(), err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try? err.close()
        let errData = FileManager.default.contents(atPath: errPath) ?? Data()
        return Outcome(status: p.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
    }

    func tempDir(_ tag: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-hostile-\(tag)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// One line of error: what the user sees besides ArgumentParser's usage hint.
    func errorLines(_ r: Outcome) -> [Substring] {
        r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage") && !$0.contains("--help") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    // MARK: 1. Escape sequences in stored text

    static let hostile = "\u{1B}[2J\u{1B}]0;pwned\u{07} red circle \u{202E}elcric\u{202C} \u{9B}31m"

    /// Bytes that would make a terminal act: ESC, BEL, CSI in its 8-bit form (UTF-8 C2 9B), and
    /// the right-to-left override (E2 80 AE).
    func assertInert(_ data: Data, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = [UInt8](data)
        XCTAssertFalse(bytes.contains(0x1B), "\(what) printed an ESC: \(String(decoding: data, as: UTF8.self).debugDescription)", file: file, line: line)
        XCTAssertFalse(bytes.contains(0x07), "\(what) printed a BEL", file: file, line: line)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertFalse(text.unicodeScalars.contains { $0.value == 0x9B || $0.value == 0x202E }, "\(what) printed a C1 CSI or a bidi override", file: file, line: line)
    }

    func testEveryCommandThatPrintsStoredTextMakesItSafe() throws {
        let gallery = try tempDir("gallery")
        var settings = GenerationSettings(prompt: Self.hostile, negativePrompt: "\u{1B}[31mred", seed: 3, steps: 4,
                                          guidanceScale: 4, sampler: "euler\u{1B}[5m", width: 8, height: 8)
        settings.extra["Note\u{1B}[1m"] = "\u{1B}]52;c;cGF5bG9hZA==\u{07}"
        let entry = try GalleryStore(root: gallery).save(image: RGBImage(width: 8, height: 8, fill: 90), settings: settings)
        // A foreign file whose very name is an escape sequence (its warning names it).
        FileManager.default.createFile(atPath: gallery + "/\u{1B}]0;title\u{07}.txt", contents: Data("x".utf8))
        // A PNG from elsewhere with only A1111 text, which `show --info` prints whole.
        let outside = try tempDir("outside") + "/a1111.png"
        try PNGFile(image: RGBImage(width: 8, height: 8, fill: 30),
                    texts: [PNGText(keyword: "parameters", text: Self.hostile + "\nSteps: 4, Sampler: Euler\u{1B}[8m, Seed: 1")]).write(path: outside)

        let runs: [(String, [String])] = [
            ("gallery list", ["gallery", "list", "--dir", gallery]),
            ("gallery search", ["gallery", "search", "--dir", gallery, "circle"]),
            ("gallery show --no-image", ["gallery", "show", "--dir", gallery, entry.shortID, "--no-image"]),
            ("gallery show FILE --no-image", ["gallery", "show", "--dir", gallery, outside, "--no-image"]),
            ("show --info", ["show", "--info", outside]),
            ("gallery show (unknown ref)", ["gallery", "show", "--dir", gallery, "\u{1B}[2Jnothing"]),
        ]
        for (what, args) in runs {
            let r = try lidit(args)
            assertInert(r.all, what)
            XCTAssertTrue(String(decoding: r.all, as: UTF8.self).contains("\\e["), "\(what) shows the escape, escaped: \(r.stderr)")
        }
    }

    /// The studio draws the same unsafe scalars (C1 controls and bidi controls included) as `·`.
    func testTheStudioDrawsNoUnsafeScalar() {
        var s = makeState()
        _ = s.type("a \u{202E}red\u{9B} circle\u{2066}")
        let screen = StudioView.render(s).text
        XCTAssertTrue(screen.contains("a ·red· circle·"), screen)
        XCTAssertFalse(screen.unicodeScalars.contains { $0 != "\n" && TerminalText.isUnsafe($0) }, "only newlines, between rows")
    }

    func testPipedExportStaysExact() throws {
        let gallery = try tempDir("export")
        let entry = try GalleryStore(root: gallery).save(image: RGBImage(width: 8, height: 8, fill: 90),
                                                         settings: GenerationSettings(prompt: "a\u{1B}b", seed: 1, width: 8, height: 8))
        let r = try lidit(["gallery", "export", "--dir", gallery, entry.shortID, "--format", "a1111"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue([UInt8](r.stdout).contains(0x1B), "a pipe gets the text as stored (made safe only on a terminal)")
    }

    // MARK: 2. A crafted model file

    func testACraftedModelFileIsOneLineNotACrash() throws {
        let dir = try tempDir("model")
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(ModelRecipe(model: .standard(), encoders: [EncoderSpec(id: "smollm2"), EncoderSpec(id: "gemma3")]))) as? [String: Any])
        var model = root["model"] as! [String: Any]
        model["heads"] = 0
        root["model"] = model
        let config = String(decoding: try JSONSerialization.data(withJSONObject: root), as: UTF8.self)
        let path = dir + "/heads0.safetensors"
        try SafetensorsFile(tensors: [.init(name: "weights", shape: [4], values: [0, 0, 0, 0], dtype: .f16)],
                            metadata: ["lidit.training_config": config]).write(to: path)
        let r = try lidit(["generate", "-p", "a red circle", "--model", path, "--no-gallery", "--steps", "2"])
        XCTAssertEqual(r.status, 1, "an error exit, not a signal: \(r.stderr)")
        XCTAssertEqual(errorLines(r).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(path) && r.stderr.contains("model.heads must be 1...64"), r.stderr)
    }

    // MARK: 3, 4, 9. Bounds on values and input sizes; negative numbers

    func testNumericOptionsAreBoundedAndNegativeNumbersAreValues() throws {
        let cases: [([String], String)] = [
            (["generate", "-p", "x", "--steps", "-1", "--no-gallery"], "--steps must be 1...1000 (got -1)"),
            (["generate", "-p", "x", "--cfg", "-3", "--no-gallery"], "--cfg must be"),
            (["generate", "-p", "x", "--count", "-2", "--no-gallery"], "--count must be 1...64 (got -2)"),
            (["generate", "-p", "x", "--shift", "nan", "--no-gallery"], "--shift must be"),
            (["eval", "--ground-truth", "--resolution", "100000"], "--resolution must be 16...1024 (got 100000)"),
            (["eval", "--ground-truth", "--seeds", "-4"], "--seeds must be 1...1000 (got -4)"),
            (["gallery", "list", "--limit", "-5", "--dir", try tempDir("limit")], "--limit must be 1...1000000 (got -5)"),
            (["train", "--batch", "-8", "--print-config"], "--batch must be 1...4096 (got -8)"),
            (["show", "x.png", "--width", "-1"], "--width must be 1...10000 (got -1)"),
            (["encode", "--encoder", "smollm2", "--prompt", "x", "--layer", "-5000"], "--layer must be -1000...1000 (got -5000)"),
        ]
        for (args, expected) in cases {
            let r = try lidit(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(expected), "\(args.joined(separator: " ")): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Missing value"), r.stderr)
            XCTAssertEqual(errorLines(r).count, 1, r.stderr)
        }
        // A negative value is a value: the default layer spelled out parses.
        let help = try lidit(["train", "--steps", "-1", "--print-config"])
        XCTAssertTrue(help.stderr.contains("--steps must be"), help.stderr)
        let layer = try lidit(["encode", "--encoder", "smollm2", "--layer", "-3", "--prompt", "a red circle"],
                              environment: ["LIDIT_MODELS": "/nonexistent-models"])
        XCTAssertFalse(layer.stderr.contains("Missing value") || layer.stderr.contains("Unknown option"), layer.stderr)
        XCTAssertTrue(layer.stderr.contains("lidit models fetch"), "parsed, then stopped for the missing LLM: \(layer.stderr)")
        // The bounds are in --help.
        let generateHelp = String(decoding: try lidit(["generate", "--help"]).stdout, as: UTF8.self)
        XCTAssertTrue(generateHelp.contains("1...1000") && generateHelp.contains("1...64"), generateHelp)
    }

    func testEvalRefusesHugePromptsQuickly() throws {
        let dir = try tempDir("eval")
        let line = #"{"prompt": "a red circle", "task": "single_object", "objects": [{"shape": "circle", "color": "red"}]}"#
        let huge = #"{"prompt": ""# + String(repeating: "red circle ", count: 1_000_000) + #"", "task": "single_object", "objects": [{"shape": "circle"}]}"#
        try (line + "\n" + huge + "\n").write(toFile: dir + "/huge.jsonl", atomically: true, encoding: .utf8)
        let start = Date()
        let r = try lidit(["eval", "--ground-truth", "--prompts", dir + "/huge.jsonl", "--seeds", "1", "--no-save-failures"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "refused before parsing")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("huge.jsonl:2: the line is longer than"), r.stderr)
        let long = #"{"prompt": ""# + String(repeating: "red ", count: 6000) + #"circle", "task": "single_object", "objects": [{"shape": "circle"}]}"#
        try ("\n" + line + "\n" + long + "\n").write(toFile: dir + "/long.jsonl", atomically: true, encoding: .utf8)
        let r2 = try lidit(["eval", "--ground-truth", "--prompts", dir + "/long.jsonl", "--seeds", "1", "--no-save-failures"])
        XCTAssertNotEqual(r2.status, 0)
        XCTAssertTrue(r2.stderr.contains("long.jsonl:3: the prompt is longer than 20000 bytes"), r2.stderr)
    }

    // MARK: 7. Output paths checked first, every write checked

    /// /dev/full as the kernel provides it. Before the fix, an atomic write replaced it with a
    /// regular file (as root), so these tests check it is still a device after each run.
    static func devFullIsDevice() -> Bool {
        var st = stat()
        return stat("/dev/full", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
    }

    func testWritesToAFullDeviceFail() throws {
        guard Self.devFullIsDevice() else { throw XCTSkip("no /dev/full device") }
        defer { XCTAssertTrue(Self.devFullIsDevice(), "/dev/full was replaced by a file") }
        let dir = try tempDir("full")
        try #"{"prompt": "a red circle", "task": "single_object", "objects": [{"shape": "circle", "color": "red"}]}"#
            .write(toFile: dir + "/one.jsonl", atomically: true, encoding: .utf8)
        let r = try lidit(["eval", "--ground-truth", "--prompts", dir + "/one.jsonl", "--seeds", "1", "--no-save-failures", "--json", "/dev/full"])
        XCTAssertNotEqual(r.status, 0, "a report that could not be written is a failure")
        XCTAssertTrue(r.stderr.contains("cannot write /dev/full: No space left on device"), r.stderr)
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"), r.stderr)
        // A report path whose folder does not exist fails before any case runs.
        let r2 = try lidit(["eval", "--ground-truth", "--prompts", dir + "/one.jsonl", "--seeds", "1", "--no-save-failures", "--json", dir + "/no/such/report.json"])
        XCTAssertNotEqual(r2.status, 0)
        XCTAssertTrue(r2.stderr.contains("no folder"), r2.stderr)
        XCTAssertFalse(String(decoding: r2.stdout, as: UTF8.self).contains("overall"), "nothing was scored")
    }

    func testGenerateChecksItsOutputPathBeforeTheModel() throws {
        let r = try lidit(["generate", "-p", "a red circle", "--model", "/nonexistent/model.safetensors", "--no-gallery",
                           "-o", "/nonexistent-folder/out.png"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("-o: cannot write /nonexistent-folder/out.png"), "the output path fails first: \(r.stderr)")
        XCTAssertEqual(errorLines(r).count, 1, r.stderr)
        let g = try lidit(["generate", "-p", "a red circle", "--model", "/nonexistent/model.safetensors"],
                          environment: ["LIDIT_GALLERY": "/dev/null/gallery"])
        XCTAssertNotEqual(g.status, 0)
        XCTAssertTrue(g.stderr.contains("cannot open the gallery at /dev/null/gallery"), "the gallery fails before the model: \(g.stderr)")
        XCTAssertEqual(errorLines(g).count, 1, g.stderr)
    }

    func testEncodeToAFullDeviceFails() throws {
        guard Self.devFullIsDevice() else { throw XCTSkip("no /dev/full device") }
        defer { XCTAssertTrue(Self.devFullIsDevice(), "/dev/full was replaced by a file") }
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory()) (run `lidit models fetch`)")
        }
        let r = try lidit(["encode", "--encoder", "smollm2", "--prompt", "a red circle", "--npy", "/dev/full"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("cannot write /dev/full: No space left on device"), r.stderr)
    }

    // MARK: 9. A batch saves each picture as it finishes

    func testAKilledBatchKeepsThePicturesAlreadySaved() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory()) (run `lidit models fetch`)")
        }
        let model = try StudioTmuxTests.tinyModel(binary: binary)
        let gallery = try tempDir("batch")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["generate", "-p", "a red circle", "--model", model, "--count", "4", "--steps", "60", "--seed", "5"]
        var env = ProcessInfo.processInfo.environment
        env["LIDIT_MODELS"] = StudioTmuxTests.llmDirectory()
        env["LIDIT_GALLERY"] = gallery
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // Standard output read as it comes: the picture's file appears a moment before its line is
        // printed, and on a loaded machine that moment can outlast a poll.
        let stdout = OutputCollector(out.fileHandleForReading)
        func pngs() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: gallery)) ?? []).filter { $0.hasSuffix(".png") && !$0.hasPrefix(".") }
        }
        let deadline = Date().addingTimeInterval(120)
        while pngs().isEmpty && p.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertEqual(pngs().count, 1, "the first picture is saved on its own")
        while !stdout.text.contains("\n") && p.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(p.isRunning, "…while the rest of the batch is still being drawn")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let printed = stdout.waitForEnd().split(separator: "\n").map(String.init)
        XCTAssertGreaterThanOrEqual(printed.count, 1, "the saved picture was reported as saved before the kill")
        for path in printed {
            XCTAssertNoThrow(try PNGFile.read(path: path), "\(path) is complete")
        }
        XCTAssertLessThan(pngs().count, 4)
    }

    // MARK: 8. Warnings that stay, and a damaged settings file kept

    func testStartupWarningsStayUntilDismissed() {
        var s = makeState()
        s.notice("theme 'nope' not found; using dark")
        for event in [WorkerEvent.modelLoading(path: "/m"), .modelReady(testModel, seconds: 0.5)] {
            _ = s.apply(event)
            XCTAssertTrue(StudioView.render(s).text.contains("theme 'nope' not found"), "the warning outlives \(event)")
        }
        XCTAssertTrue(StudioView.render(s).text.contains("F2 dismisses"))
        _ = s.type("abc")
        XCTAssertTrue(StudioView.render(s).text.contains("theme 'nope' not found"), "typing does not dismiss it")
        _ = s.handle(.function(2))
        XCTAssertFalse(StudioView.render(s).text.contains("theme 'nope' not found"))
        XCTAssertTrue(StudioView.render(s).text.contains("ready"), "then the messages show again")
    }

    func testDamagedSettingsAreKeptAsBakAndTheWarningIsSticky() throws {
        let cfg = try tempDir("cfg")
        try FileManager.default.createDirectory(atPath: cfg + "/lidit", withIntermediateDirectories: true)
        let garbage = Data("{\"steps\": 30, garbage".utf8)
        try garbage.write(to: URL(fileURLWithPath: cfg + "/lidit/studio.json"))
        let app = StudioApp(options: StudioOptions(modelPath: nil, appVersion: "test",
                                                   environment: ["XDG_CONFIG_HOME": cfg, "HOME": cfg]))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: cfg + "/lidit/studio.json.bak")), garbage)
        XCTAssertTrue(app.startupNotes.contains { $0.contains("studio.json") && $0.contains("studio.json.bak") }, "\(app.startupNotes)")
        app.saveSettings()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: cfg + "/lidit/studio.json.bak")), garbage, "the defaults replace studio.json only")
    }
}

/// Collects a pipe's output on a background thread until the writer closes it.
private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        DispatchQueue.global().async { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); data.append(chunk); lock.unlock()
            }
            done.signal()
        }
    }

    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }

    /// Everything written, once the writer has exited and the pipe is closed.
    func waitForEnd() -> String {
        done.wait()
        return text
    }
}
