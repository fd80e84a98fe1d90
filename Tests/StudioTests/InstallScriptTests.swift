import Foundation
import XCTest

/// `scripts/install` puts `lidit` on the PATH with bash, zsh and fish completions (issue 28).
final class InstallScriptTests: XCTestCase {
    func testInstallLinksLiditAndWritesCompletions() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("install-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let p = Process()
        p.executableURL = packageRoot.appendingPathComponent("scripts/install")
        p.arguments = ["--prefix", prefix, "--binary", binary]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("not on your PATH"), text)
        let link = prefix + "/bin/lidit"
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), URL(fileURLWithPath: binary).standardizedFileURL.path)
        // The installed command runs from the PATH.
        let v = Process()
        v.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        v.arguments = ["lidit", "--version"]
        v.environment = ["PATH": prefix + "/bin:/usr/bin:/bin"]
        let vout = Pipe()
        v.standardOutput = vout
        try v.run()
        let version = String(decoding: vout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        v.waitUntilExit()
        XCTAssertEqual(v.terminationStatus, 0)
        XCTAssertFalse(version.isEmpty)
        for (file, marker) in [("share/bash-completion/completions/lidit", "complete"), ("share/zsh/site-functions/_lidit", "#compdef lidit"),
                               ("share/fish/vendor_completions.d/lidit.fish", "complete -c 'lidit'")] {
            let script = try String(contentsOfFile: "\(prefix)/\(file)", encoding: .utf8)
            XCTAssertTrue(script.contains(marker), file)
            for word in ["generate", "grid", "init-image", "variation-of"] { XCTAssertTrue(script.contains(word), "\(file) lacks \(word)") }
        }
        // A binary that is not there is one line, and nothing is installed.
        let bad = Process()
        bad.executableURL = packageRoot.appendingPathComponent("scripts/install")
        bad.arguments = ["--prefix", prefix + "/other", "--binary", prefix + "/none"]
        let err = Pipe()
        bad.standardError = err
        try bad.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bad.waitUntilExit()
        XCTAssertNotEqual(bad.terminationStatus, 0)
        XCTAssertTrue(message.contains("no lidit at"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: prefix + "/other"))
    }
}
