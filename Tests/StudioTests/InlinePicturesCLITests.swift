import Foundation
import Gallery
import ImageIO
import XCTest

/// `lidit show --kitty/--iterm` decode back to the picture at a whole scale, and the studio in
/// kitty mode through tmux passthrough leaves no picture behind on resize or quit (issue 28).
final class InlinePicturesCLITests: XCTestCase {
    func upscale(_ img: RGBImage, _ k: Int) -> RGBImage {
        var px = [UInt8](repeating: 0, count: img.width * k * img.height * k * 3)
        for y in 0..<(img.height * k) { for x in 0..<(img.width * k) { for c in 0..<3 {
            px[(y * img.width * k + x) * 3 + c] = img.pixels[((y / k) * img.width + x / k) * img.channels + c]
        } } }
        return RGBImage(width: img.width * k, height: img.height * k, pixels: px)
    }

    func testShowKittyAndITerm() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("show-inline-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var px = [UInt8](repeating: 0, count: 24 * 16 * 3)
        for i in 0..<px.count { px[i] = UInt8((i * 53) % 253) }
        let picture = RGBImage(width: 24, height: 16, pixels: px)
        try PNGFile(image: picture).write(path: dir + "/p.png")
        for flag in ["--kitty", "--iterm"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["show", dir + "/p.png", flag, "--width", "40", "--height", "10"]
            p.environment = ["TERM": "xterm-256color", "PATH": "/usr/bin:/bin"]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            let d = InlineImageDecoder(text)
            // 40×10 cells of 10×20 pixels: 400×200, so ×8 (at most 8).
            let png: Data
            if flag == "--kitty" {
                let id = try XCTUnwrap(d.kitty.first?.keys["i"].flatMap(Int.init))
                png = try XCTUnwrap(d.kittyImage(id: id))
                XCTAssertTrue(d.kitty.contains { $0.keys["a"] == "p" && $0.keys["i"] == String(id) }, "placed")
            } else {
                png = try XCTUnwrap(d.iterm.first?.data)
            }
            XCTAssertEqual(try PNGFile.read(data: png).image, upscale(picture, 8), flag)
        }
    }

    func testStudioInKittyModeThroughTmuxLeavesNothingBehind() throws {
        guard let tmux = StudioTmuxTests.tmuxPath() else { throw XCTSkip("tmux is not installed (apt-get install tmux)") }
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        guard FileManager.default.fileExists(atPath: "/usr/share/terminfo/t/tmux-256color")
                || FileManager.default.fileExists(atPath: "/lib/terminfo/t/tmux-256color") else {
            throw XCTSkip("the tmux-256color terminfo entry is missing (ncurses-term)")
        }
        let setup = StudioTmuxTests.Setup(tmux: tmux, binary: binary, model: nil)
        let s = try StudioSession(setup, modelPath: "/nonexistent/model.safetensors",
                                  environment: ["LIDIT_GRAPHICS": "kitty", "LIDIT_CELL_SIZE": "10x20"])
        defer { s.close() }
        let log = s.dir + "/pane.out"
        try s.run(["pipe-pane", "-t", "main", "-O", "cat >> '\(log)'"])
        try s.waitFor("the studio", timeout: 20) { $0.contains("LI-DiT Studio") && $0.contains("Prompt") }
        let store = try GalleryStore(root: s.dir + "/gallery")
        var px = [UInt8](repeating: 90, count: 16 * 16 * 3)
        for i in stride(from: 0, to: px.count, by: 7) { px[i] = 250 }
        _ = try store.save(image: RGBImage(width: 16, height: 16, pixels: px), settings: GenerationSettings(prompt: "a red circle", width: 16, height: 16))
        s.keys("Tab", "Tab", "g")
        try s.waitFor("the gallery browser", timeout: 10) { $0.contains("Details") }
        func commands() -> [InlineImageDecoder.KittyCommand] {
            InlineImageDecoder((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").kitty
        }
        func placed(_ cs: [InlineImageDecoder.KittyCommand]) -> Set<String> { Set(cs.filter { $0.keys["a"] == "p" }.compactMap { $0.keys["i"] }) }
        func deleted(_ cs: [InlineImageDecoder.KittyCommand]) -> Set<String> {
            Set(cs.filter { $0.keys["a"] == "d" && $0.keys["d"] == "I" }.compactMap { $0.keys["i"] })
        }
        try waitUntil("pictures placed") { !placed(commands()).isEmpty }
        let before = commands()
        let shown = placed(before).subtracting(deleted(before))
        XCTAssertFalse(shown.isEmpty)
        for id in shown {
            XCTAssertNotNil(InlineImageDecoder((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").kittyImage(id: Int(id)!), "image \(id) transmitted")
        }
        s.resize(100, 30)
        try waitUntil("the pictures of the old layout deleted and new ones placed") {
            let after = Array(commands().dropFirst(before.count))
            return shown.isSubset(of: deleted(after)) && !placed(after).isEmpty
        }
        s.keys("C-q")
        try s.waitForExit()
        try waitUntil("everything deleted on quit") { commands().last?.keys["a"] == "d" && commands().last?.keys["d"] == "A" }
    }

    func waitUntil(_ what: String, timeout: Double = 10, _ ok: () -> Bool) throws {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if ok() { return }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what)")
    }
}
