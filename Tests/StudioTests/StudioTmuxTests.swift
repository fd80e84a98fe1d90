import Foundation
import XCTest

/// End-to-end tests: the real `lidit` binary in a tmux pane, driven with send-keys and read with
/// capture-pane. They need tmux, a built `lidit` (`swift build`), and the LLM files (`lidit models
/// fetch`); without them they skip and say why. Each test starts from an empty gallery and config.
final class StudioTmuxTests: XCTestCase {
    static let llmFiles = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]

    static func llmDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        if let m = env["LIDIT_MODELS"], !m.isEmpty { return m }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/lidit/models" }
        return NSHomeDirectory() + "/.cache/lidit/models"
    }

    static func tmuxPath() -> String? {
        for p in ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"] where FileManager.default.isExecutableFile(atPath: p) { return p }
        return nil
    }

    /// The `lidit` built beside these tests (the same scratch path and configuration), else one
    /// under `.build`.
    static func binaryPath() -> String? {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let beside = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("lidit").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        #if DEBUG
        let order = ["debug", "release"]
        #else
        let order = ["release", "debug"]
        #endif
        for c in order {
            let p = packageRoot.appendingPathComponent(".build/\(c)/lidit").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    static let fixtureLock = NSLock()
    nonisolated(unsafe) static var fixtureResult: Result<String, Error>?

    /// A tiny untrained model (two DiT blocks of width 64), made once per test run with
    /// `lidit train … --export`; generation with it takes a fraction of a second per step.
    static func tinyModel(binary: String) throws -> String {
        fixtureLock.lock(); defer { fixtureLock.unlock() }
        if let r = fixtureResult { return try r.get() }
        let r = Result<String, Error> {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("studio-tiny-\(getpid())")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            // The standard recipe as `lidit train --print-config` gives it, made tiny.
            let printer = Process()
            printer.executableURL = URL(fileURLWithPath: binary)
            printer.arguments = ["train", "--print-config", "--steps", "1", "--batch", "2", "--captions", "4"]
            let out = Pipe()
            printer.standardOutput = out
            try printer.run()
            let standard = out.fileHandleForReading.readDataToEndOfFile()
            printer.waitUntilExit()
            guard var cfg = try JSONSerialization.jsonObject(with: standard) as? [String: Any],
                  var net = cfg["model"] as? [String: Any], var refiner = net["refiner"] as? [String: Any] else {
                throw StudioTestError("lidit train --print-config did not print a configuration")
            }
            (net["width"], net["depth"], net["heads"]) = (128, 4, 2)
            (refiner["width"], refiner["heads"], refiner["blocks"]) = (64, 2, 1)
            net["refiner"] = refiner
            cfg["model"] = net
            let cfgPath = dir.appendingPathComponent("config.json").path
            try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: cfgPath))
            let model = dir.appendingPathComponent("tiny.safetensors").path
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["train", "--run", dir.appendingPathComponent("run").path, "--config", cfgPath, "--export", model]
            var env = ProcessInfo.processInfo.environment
            env["LIDIT_MODELS"] = llmDirectory()
            p.environment = env
            let log = dir.appendingPathComponent("train.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let fh = try FileHandle(forWritingTo: log)
            p.standardOutput = fh
            p.standardError = fh
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0, FileManager.default.fileExists(atPath: model) else {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw StudioTestError("could not make the tiny model: \(text.suffix(500))")
            }
            return model
        }
        fixtureResult = r
        return try r.get()
    }

    struct Setup {
        var tmux: String
        var binary: String
        var model: String?
    }

    /// Skips (with the reason) when something the test needs is missing.
    func requirements(model: Bool) throws -> Setup {
        guard let tmux = Self.tmuxPath() else { throw XCTSkip("tmux is not installed (apt-get install tmux)") }
        guard let bin = Self.binaryPath() else { throw XCTSkip("no built lidit under .build/debug or .build/release (run `swift build`)") }
        guard FileManager.default.fileExists(atPath: "/usr/share/terminfo/t/tmux-256color")
                || FileManager.default.fileExists(atPath: "/lib/terminfo/t/tmux-256color") else {
            throw XCTSkip("the tmux-256color terminfo entry is missing (ncurses-term)")
        }
        guard model else { return Setup(tmux: tmux, binary: bin, model: nil) }
        let dir = Self.llmDirectory()
        for f in Self.llmFiles where !FileManager.default.fileExists(atPath: dir + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(dir) (run `lidit models fetch`)")
        }
        return Setup(tmux: tmux, binary: bin, model: try Self.tinyModel(binary: bin))
    }

    // MARK: Tests

    func testGenerateFromAnEmptyGalleryAndFindThePicture() throws {
        let setup = try requirements(model: true)
        let s = try StudioSession(setup, settings: ["steps": 200, "seedMode": "fixed", "seed": 4242, "previewEvery": 1, "previewMinInterval": 0])
        defer { s.close() }
        try s.waitFor("the studio", timeout: 20) { $0.contains("LI-DiT Studio") && $0.contains("0 pictures") }
        XCTAssertTrue(s.galleryFiles().isEmpty)
        try s.waitFor("the model", timeout: 60) { $0.contains("smollm2+gemma3") }
        s.type("a red circle above a blue square")
        s.keys("Enter")
        // The most steps the studio allows, so that the running state lasts many 50 ms polls even on
        // a fast machine (6 steps once finished in 0.2 s between two captures; 40 steps in 0.1 s on CI).
        try s.waitFor("progress", timeout: 30) { $0.range(of: #"running [0-9]+/200"#, options: .regularExpression) != nil }
        try s.waitFor("the job to finish", timeout: 60) { $0.contains("#1 done") }
        let screen = s.capture()
        XCTAssertTrue(screen.contains("1 picture"), screen)
        XCTAssertTrue(screen.contains("▀"), "the preview is drawn with half blocks:\n\(screen)")
        let files = s.galleryFiles()
        XCTAssertEqual(files.count, 1)
        XCTAssertTrue(files[0].contains("-4242-"), "the file name carries the seed: \(files)")
        // The gallery pane lists it; the browser shows its details.
        let shortID = String(files[0].dropLast(4).split(separator: "-").last!)
        XCTAssertTrue(screen.contains(shortID), screen)
        s.keys("Tab", "Tab") // negative prompt, settings: outside text fields
        s.keys("g")
        try s.waitFor("the gallery browser", timeout: 10) { $0.contains("LI-DiT Studio — Gallery") && $0.contains("Details") }
        let gallery = s.capture()
        XCTAssertTrue(gallery.contains("4242"), gallery)
        XCTAssertTrue(gallery.contains("a red circle above a blue"), gallery)
        XCTAssertTrue(gallery.contains(shortID), gallery)
        s.keys("Escape")
        try s.waitFor("the main screen", timeout: 10) { !$0.contains("— Gallery") && $0.contains("Negative prompt") }
        s.keys("C-q")
        try s.waitForExit()
        // The prompt and settings are kept for next time.
        let saved = try String(contentsOfFile: s.dir + "/cfg/lidit/studio.json", encoding: .utf8)
        XCTAssertTrue(saved.contains("a red circle above a blue square"))
        let history = try String(contentsOfFile: s.dir + "/cfg/lidit/prompt-history.jsonl", encoding: .utf8)
        XCTAssertTrue(history.contains("a red circle above a blue square"))
    }

    func testCancelTheRunningJobWhileTheScreenAnswersKeys() throws {
        let setup = try requirements(model: true)
        let s = try StudioSession(setup, settings: ["steps": 200, "previewEvery": 1, "previewMinInterval": 50])
        defer { s.close() }
        try s.waitFor("the model", timeout: 60) { $0.contains("smollm2+gemma3") }
        s.type("a green triangle")
        s.keys("Enter")
        try s.waitFor("sampling to start", timeout: 40) { $0.range(of: #"running [0-9]+/200"#, options: .regularExpression) != nil }
        // Keys are answered while the job runs: the typed key shows before the 200 steps end.
        s.type("Z")
        try s.waitFor("the typed key while the job runs", timeout: 20) {
            $0.contains("a green triangleZ") && $0.range(of: #"running [0-9]+/200"#, options: .regularExpression) != nil
        }
        s.keys("Escape")
        try s.waitFor("the job to be cancelled", timeout: 20) { $0.contains("#1 cancelled") }
        XCTAssertTrue(s.galleryFiles().isEmpty, "a cancelled job saves nothing")
        // Queue another and clear it with Ctrl+X while it runs, then cancel the running one.
        s.keys("Enter", "Enter")
        try s.waitFor("the second job", timeout: 40) { $0.contains("#2 running") && $0.contains("#3 pending") }
        s.keys("C-x")
        try s.waitFor("the cleared queue", timeout: 10) { !$0.contains("#3") && !$0.contains("#1 cancelled") }
        s.keys("Escape")
        try s.waitFor("the second job to be cancelled", timeout: 20) { $0.contains("#2 cancelled") }
        s.keys("C-q")
        try s.waitForExit()
    }

    func testLiveModeDrawsThePromptWithoutQueueingIt() throws {
        let setup = try requirements(model: true)
        let s = try StudioSession(setup, settings: ["steps": 12, "seedMode": "fixed", "seed": 77])
        defer { s.close() }
        try s.waitFor("the model", timeout: 60) { $0.contains("smollm2+gemma3") }
        XCTAssertFalse(s.capture().contains("Preview · live"), "live mode is off by default")
        s.keys("F6")
        try s.waitFor("the live marker", timeout: 10) { $0.contains("Preview · live") }
        s.type("a red circle above a blue square")
        try s.waitFor("the live picture", timeout: 60) { $0.contains("live · 8 steps · seed 77") }
        let screen = s.capture()
        XCTAssertTrue(screen.contains("Empty. Enter"), "the queue stays empty:\n\(screen)")
        XCTAssertTrue(screen.contains("▀"), "the live picture is drawn with half blocks:\n\(screen)")
        XCTAssertTrue(s.galleryFiles().isEmpty, "live pictures are not saved")
        // A real job of the same prompt replaces it, and only that one is saved.
        s.keys("Enter")
        try s.waitFor("the job to finish", timeout: 60) { $0.contains("#1 done") }
        XCTAssertEqual(s.galleryFiles().count, 1)
        XCTAssertFalse(s.capture().contains("live · 8 steps"), "the job's picture is shown, not the live one")
        s.keys("C-q")
        try s.waitForExit()
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.dir + "/cfg/lidit/studio.json"))) as? [String: Any]
        XCTAssertEqual(saved?["livePreview"] as? Bool, true, "the setting is kept for next time")
    }

    func testHelpResizeAndSignals() throws {
        let setup = try requirements(model: false)
        let s = try StudioSession(setup, modelPath: "/nonexistent/model.safetensors")
        defer { s.close() }
        try s.waitFor("the studio", timeout: 20) { $0.contains("LI-DiT Studio") && $0.contains("Prompt") }
        // The missing model is explained, not fatal.
        try s.waitFor("the missing-model message", timeout: 20) { $0.contains("No model") }
        s.keys("F1")
        try s.waitFor("help", timeout: 10) { $0.contains("Help: keys") && $0.contains("Ctrl+Q") && $0.contains("Alt+Enter, Ctrl+J") }
        s.keys("Escape")
        try s.waitFor("help to close", timeout: 10) { !$0.contains("Help: keys") }
        // In the prompt, ? is a character; outside text fields it opens help.
        s.type("?")
        try s.waitFor("the typed ?", timeout: 5) { $0.contains("1 chars") }
        XCTAssertFalse(s.capture().contains("Help: keys"))
        s.keys("Tab", "Tab", "?")
        try s.waitFor("help from the settings pane", timeout: 10) { $0.contains("Help: keys") }
        s.keys("q")
        try s.waitFor("help to close", timeout: 10) { !$0.contains("Help: keys") }
        // Resize at any moment.
        s.resize(70, 20)
        try s.waitFor("the small layout", timeout: 10) { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return screen.contains("Settings") && lines.allSatisfy { $0.count <= 70 } && lines.first?.contains("LI-DiT Studio") == true
        }
        s.resize(40, 10)
        try s.waitFor("the too-small message", timeout: 10) { $0.contains("Terminal too small") }
        s.resize(120, 36)
        try s.waitFor("the full layout", timeout: 10) { $0.contains("Encoders") && $0.contains("Queue") && $0.contains("Gallery") }
        // The gallery still opens without a model.
        s.keys("g")
        try s.waitFor("the gallery browser", timeout: 10) { $0.contains("The gallery is empty") }
        s.keys("Escape")
        // SIGTERM restores the terminal, and the exit status says a signal ended it (128 + 15).
        try s.signal(SIGTERM)
        try s.waitForExit(status: 128 + SIGTERM)
    }

    func testSIGINTRestoresTheTerminal() throws {
        let setup = try requirements(model: false)
        let s = try StudioSession(setup, modelPath: "/nonexistent/model.safetensors")
        defer { s.close() }
        try s.waitFor("the studio", timeout: 20) { $0.contains("LI-DiT Studio") && $0.contains("Prompt") }
        s.type("kept for next time")
        try s.waitFor("the prompt", timeout: 5) { $0.contains("kept for next time") }
        try s.signal(SIGINT)
        try s.waitForExit(status: 128 + SIGINT)
        let saved = try String(contentsOfFile: s.dir + "/cfg/lidit/studio.json", encoding: .utf8)
        XCTAssertTrue(saved.contains("kept for next time"), "the prompt is saved on SIGINT too")
    }
}

struct StudioTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// One tmux server (own socket) running `lidit studio` in a shell script that records the
/// terminal state before and after.
final class StudioSession {
    let tmux: String
    let socket: String
    let dir: String

    init(_ setup: StudioTmuxTests.Setup, modelPath: String? = nil, settings: [String: Any] = [:],
         columns: Int = 120, rows: Int = 36, environment: [String: String] = [:]) throws {
        tmux = setup.tmux
        socket = "lidit-studio-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(socket).path
        let fm = FileManager.default
        for sub in ["cfg/lidit", "gallery", "home", "data"] {
            try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        if !settings.isEmpty {
            try JSONSerialization.data(withJSONObject: settings).write(to: URL(fileURLWithPath: dir + "/cfg/lidit/studio.json"))
        }
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let script = """
            #!/bin/sh
            cd \(q(dir))
            export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=tmux-256color HOME=\(q(dir + "/home"))
            export XDG_CONFIG_HOME=\(q(dir + "/cfg")) XDG_DATA_HOME=\(q(dir + "/data")) LIDIT_GALLERY=\(q(dir + "/gallery"))
            export LIDIT_MODELS=\(q(StudioTmuxTests.llmDirectory())) LIDIT_MODEL=\(q(modelPath ?? setup.model ?? ""))
            unset LIDIT_THEME LIDIT_GRAPHICS
            \(environment.sorted { $0.key < $1.key }.map { "export \($0.key)=\(q($0.value))" }.joined(separator: "\n"))
            echo $$ > shell.pid
            stty -g > stty.before
            \(q(setup.binary)) studio
            echo "EXIT=$?"
            stty -g > stty.after
            if cmp -s stty.before stty.after; then echo "STTY=same"; else echo "STTY=changed"; fi
            exec sleep 600
            """
        try script.write(toFile: dir + "/run.sh", atomically: true, encoding: .utf8)
        try run(["-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "\(columns)", "-y", "\(rows)", "sh " + dir + "/run.sh"])
    }

    /// Runs a tmux command and returns its output. Uses posix_spawn and waitpid rather than
    /// Foundation's Process: the tmux server that `new-session` starts is a descendant that
    /// keeps inherited descriptors open, which makes Process wait for it forever.
    @discardableResult
    func run(_ args: [String]) throws -> String {
        let outPath = dir + "/.tmux-out-\(UUID().uuidString.prefix(8))"
        defer { unlink(outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = [tmux, "-L", socket] + args
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, tmux, &actions, nil, &cargs, environ)
        guard rc == 0 else { throw StudioTestError("cannot run tmux: \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    func capture() -> String { (try? run(["capture-pane", "-p", "-t", "main"])) ?? "" }

    /// Keys reach the studio's terminal in order, so nothing waits between them: a test waits
    /// for the screen state it expects (`waitFor`, with a deadline). The one exception is a bare
    /// Escape, which the terminal only reports after its escape delay (25 ms, `set_escdelay`)
    /// has passed without another byte; a key sent sooner would make it Alt+key.
    func keys(_ names: String...) {
        for n in names {
            _ = try? run(["send-keys", "-t", "main", n])
            if n == "Escape" { usleep(Self.escapeDelayMicroseconds) }
        }
    }

    /// Twice the studio's escape delay.
    static let escapeDelayMicroseconds: useconds_t = 50_000

    func type(_ text: String) {
        _ = try? run(["send-keys", "-t", "main", "-l", text])
    }

    func resize(_ columns: Int, _ rows: Int) {
        _ = try? run(["resize-window", "-t", "main", "-x", "\(columns)", "-y", "\(rows)"])
    }

    func waitFor(_ what: String, timeout: Double, _ ok: (String) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = capture()
            if ok(screen) { return }
            usleep(50_000)
        }
        throw StudioTestError("timed out after \(timeout) s waiting for \(what); the screen:\n\(screen)")
    }

    /// Waits for the studio to exit and checks that it exited with `status` (0 when the user
    /// quit, 128 + the signal when one ended it) and restored the terminal.
    func waitForExit(status: Int32 = 0, timeout: Double = 15) throws {
        try waitFor("the studio to exit", timeout: timeout) { $0.contains("STTY=") }
        let screen = capture()
        XCTAssertTrue(screen.contains("EXIT=\(status)\n") || screen.hasSuffix("EXIT=\(status)"), screen)
        XCTAssertTrue(screen.contains("STTY=same"), "terminal modes not restored:\n\(screen)")
        XCTAssertFalse(screen.contains("LI-DiT Studio"), "the studio screen is still showing (alternate screen not left):\n\(screen)")
    }

    /// Sends a signal to the studio process (the child of the script's shell).
    func signal(_ sig: Int32) throws {
        let shell = Int32((try String(contentsOfFile: dir + "/shell.pid", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        for entry in (try FileManager.default.contentsOfDirectory(atPath: "/proc")) {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, Int32(fields[1]) == shell, stat.contains("(lidit)") {
                kill(pid, sig)
                return
            }
        }
        throw StudioTestError("the studio process was not found")
    }

    func galleryFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/gallery")) ?? []).filter { $0.hasSuffix(".png") }.sorted()
    }

    func close() {
        _ = try? run(["kill-server"])
        try? FileManager.default.removeItem(atPath: dir)
    }
}
