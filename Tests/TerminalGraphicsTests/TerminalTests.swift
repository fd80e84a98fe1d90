import XCTest
import Foundation
import ImageIO
@testable import TerminalGraphics
#if canImport(Glibc)
import Glibc
#endif

final class HalfBlockTests: XCTestCase {
    func testTruecolorCells() {
        // 2×3: top row red/green, middle blue/white, bottom black/gray (odd height).
        let img = RGBImage(width: 2, height: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128])
        let lines = HalfBlockRenderer.renderExact(img, colorMode: .truecolor)
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines[0], "\u{1B}[38;2;255;0;0m\u{1B}[48;2;0;0;255m▀\u{1B}[38;2;0;255;0m\u{1B}[48;2;255;255;255m▀\u{1B}[0m")
        XCTAssertEqual(lines[1], "\u{1B}[38;2;0;0;0m\u{1B}[49m▀\u{1B}[38;2;128;128;128m▀\u{1B}[0m")
    }

    func testRepeatedColorsAreNotRepeated() {
        let img = RGBImage(width: 5, height: 2, fill: 200)
        let line = HalfBlockRenderer.renderExact(img, colorMode: .ansi256)[0]
        XCTAssertEqual(line.components(separatedBy: "\u{1B}[").count - 1, 3, "fg, bg, reset")
        XCTAssertEqual(line.filter { $0 == "▀" }.count, 5)
    }

    func testAnsi256Palette() {
        XCTAssertEqual(HalfBlockRenderer.ansi256Index(0, 0, 0), 16)
        XCTAssertEqual(HalfBlockRenderer.ansi256Index(255, 255, 255), 231)
        XCTAssertEqual(HalfBlockRenderer.ansi256Index(255, 0, 0), 196)
        XCTAssertEqual(HalfBlockRenderer.ansi256Index(0, 0, 255), 21)
        XCTAssertEqual(HalfBlockRenderer.ansi256Index(128, 128, 128), 244)
        XCTAssertEqual(HalfBlockRenderer.ansi256Index(95, 135, 175), 67)
        // Every color maps to a palette entry no farther than the cube's half step.
        for r in stride(from: 0, through: 255, by: 17) { for g in stride(from: 0, through: 255, by: 17) { for b in stride(from: 0, through: 255, by: 17) {
            let c = HalfBlockRenderer.ansi256Color(HalfBlockRenderer.ansi256Index(UInt8(r), UInt8(g), UInt8(b)))
            XCTAssertLessThanOrEqual(abs(Int(c.0) - r) + abs(Int(c.1) - g) + abs(Int(c.2) - b), 3 * 48)
        } } }
    }

    func testFitIntoCells() {
        let img = gradientImage(width: 64, height: 64)
        let lines = HalfBlockRenderer.render(img, columns: 80, rows: 40)
        XCTAssertEqual(lines.count, 32, "64 pixel rows = 32 text rows, no upscaling needed beyond 1×")
        XCTAssertEqual(lines[0].filter { $0 == "▀" }.count, 64)
        let small = HalfBlockRenderer.render(RGBImage(width: 8, height: 8, fill: 9), columns: 80, rows: 40)
        XCTAssertEqual(small.count, 40, "8×8 grows by 10× to 80×80")
        XCTAssertEqual(small[0].filter { $0 == "▀" }.count, 80)
        let big = HalfBlockRenderer.render(gradientImage(width: 300, height: 100), columns: 60, rows: 20)
        XCTAssertEqual(big.count, 10)
        XCTAssertEqual(big[0].filter { $0 == "▀" }.count, 60)
    }
}

final class TerminalCapabilityTests: XCTestCase {
    let xterm = ["TERM": "xterm-256color"]

    func testReplyParser() {
        let junk = "a\u{1B}[A" // a key press and an arrow key mixed in
        let text = junk + "\u{1B}[?1;0;256S\u{1B}[?2;0;1000;1000S\u{1B}[6;20;10t\u{1B}[4;480;800t\u{1B}[8;24;80t\u{1B}[?63;1;2;4;6;9;15;22c"
        let r = TerminalReplies.parse(Array(text.utf8))
        XCTAssertEqual(r.deviceAttributes, [63, 1, 2, 4, 6, 9, 15, 22])
        XCTAssertTrue(r.hasSixelAttribute)
        XCTAssertEqual(r.colorRegisters, 256)
        XCTAssertEqual(r.sixelMaxSize, PixelSize(width: 1000, height: 1000))
        XCTAssertEqual(r.cellSize, PixelSize(width: 10, height: 20))
        XCTAssertEqual(r.textAreaPixels, PixelSize(width: 800, height: 480))
        XCTAssertEqual(r.textAreaCells, PixelSize(width: 80, height: 24))
        // ";4" must be a whole attribute, not a digit of 14 or 42.
        XCTAssertFalse(TerminalReplies.parse(Array("\u{1B}[?62;14;42c".utf8)).hasSixelAttribute)
        // A failed XTSMGRAPHICS (status 3) is ignored; a truncated reply is not a DA1.
        XCTAssertNil(TerminalReplies.parse(Array("\u{1B}[?1;3;0S\u{1B}[?62;4".utf8)).colorRegisters)
        XCTAssertNil(TerminalReplies.parse(Array("\u{1B}[?62;4".utf8)).deviceAttributes)
        // 8-bit CSI.
        XCTAssertEqual(TerminalReplies.parse([0x9B, 0x3F, 0x36, 0x32, 0x3B, 0x34, 0x63]).deviceAttributes, [62, 4])
    }

    func replies(_ s: String) -> TerminalReplies { TerminalReplies.parse(Array(s.utf8)) }

    func testDecisions() {
        let sixelDA = replies("\u{1B}[?63;1;2;4c"), plainDA = replies("\u{1B}[?1;2c")
        var c = TerminalCapabilities.decide(environment: xterm, replies: sixelDA, winsize: (24, 80, 0, 0))
        XCTAssertEqual(c.graphics, .sixel)
        XCTAssertEqual(c.sixelPassthrough, .none)
        XCTAssertEqual(c.cellSizeSource, "default")
        XCTAssertEqual(TerminalCapabilities.decide(environment: xterm, replies: plainDA, winsize: nil).graphics, .blocks)
        XCTAssertEqual(TerminalCapabilities.decide(environment: ["TERM": "dumb"], replies: nil, winsize: nil).graphics, .none)
        XCTAssertEqual(TerminalCapabilities.decide(environment: [:], replies: nil, winsize: nil).graphics, .none)
        XCTAssertEqual(TerminalCapabilities.decide(environment: xterm, replies: nil, winsize: nil, isTerminal: false).graphics, .none)
        // Overrides win, even for TERM=dumb.
        for (v, want) in [("sixel", GraphicsMode.sixel), ("blocks", .blocks), ("none", .none)] {
            c = TerminalCapabilities.decide(environment: ["TERM": "dumb", "LIDIT_GRAPHICS": v], replies: sixelDA, winsize: nil)
            XCTAssertEqual(c.graphics, want, v)
        }
        // tmux 3.3 answers DA1 itself without sixel: half blocks; forced sixel is passed through.
        let tmuxEnv = ["TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,123,0"]
        XCTAssertEqual(TerminalCapabilities.decide(environment: tmuxEnv, replies: plainDA, winsize: nil).graphics, .blocks)
        c = TerminalCapabilities.decide(environment: tmuxEnv.merging(["LIDIT_GRAPHICS": "sixel"]) { $1 }, replies: plainDA, winsize: nil)
        XCTAssertEqual(c.graphics, .sixel)
        XCTAssertEqual(c.sixelPassthrough, .tmux)
        // A sixel-enabled tmux (3.4+) draws it itself: no passthrough.
        c = TerminalCapabilities.decide(environment: tmuxEnv, replies: sixelDA, winsize: nil)
        XCTAssertEqual(c.graphics, .sixel)
        XCTAssertEqual(c.sixelPassthrough, .none)
        XCTAssertEqual(c.multiplexer, .tmux)
        // screen.
        let screenEnv = ["TERM": "screen-256color", "STY": "1234.pts-0.host"]
        XCTAssertEqual(TerminalCapabilities.decide(environment: screenEnv, replies: plainDA, winsize: nil).graphics, .blocks)
        c = TerminalCapabilities.decide(environment: screenEnv.merging(["LIDIT_GRAPHICS": "sixel"]) { $1 }, replies: plainDA, winsize: nil)
        XCTAssertEqual(c.sixelPassthrough, .screen)
        // No answer at all: environment hints, never inside a multiplexer.
        XCTAssertEqual(TerminalCapabilities.decide(environment: ["TERM": "foot"], replies: TerminalReplies(), winsize: nil).graphics, .sixel)
        XCTAssertEqual(TerminalCapabilities.decide(environment: ["TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"], replies: nil, winsize: nil).graphics, .sixel)
        XCTAssertEqual(TerminalCapabilities.decide(environment: ["TERM": "foot", "TMUX": "x"], replies: nil, winsize: nil).graphics, .blocks)
    }

    func testColorModes() {
        XCTAssertEqual(TerminalCapabilities.decide(environment: xterm, replies: nil, winsize: nil).colorMode, .ansi256)
        XCTAssertEqual(TerminalCapabilities.decide(environment: xterm.merging(["COLORTERM": "truecolor"]) { $1 }, replies: nil, winsize: nil).colorMode, .truecolor)
        XCTAssertEqual(TerminalCapabilities.decide(environment: ["TERM": "xterm-direct"], replies: nil, winsize: nil).colorMode, .truecolor)
        XCTAssertEqual(TerminalCapabilities.decide(environment: ["TERM": "xterm", "COLORTERM": "truecolor", "LIDIT_COLOR": "256"], replies: nil, winsize: nil).colorMode, .ansi256)
    }

    func testCellSizeOrder() {
        let all = replies("\u{1B}[6;18;9t\u{1B}[4;480;800t\u{1B}[8;24;80t\u{1B}[?1;2c")
        var c = TerminalCapabilities.decide(environment: xterm, replies: all, winsize: (24, 80, 960, 480))
        XCTAssertEqual(c.cellSize, PixelSize(width: 12, height: 20))
        XCTAssertEqual(c.cellSizeSource, "ioctl")
        c = TerminalCapabilities.decide(environment: xterm, replies: all, winsize: (24, 80, 0, 0))
        XCTAssertEqual(c.cellSize, PixelSize(width: 9, height: 18))
        XCTAssertEqual(c.cellSizeSource, "CSI 16t")
        c = TerminalCapabilities.decide(environment: xterm, replies: replies("\u{1B}[4;480;800t\u{1B}[?1;2c"), winsize: (24, 80, 0, 0))
        XCTAssertEqual(c.cellSize, PixelSize(width: 10, height: 20))
        XCTAssertEqual(c.cellSizeSource, "CSI 14t")
        c = TerminalCapabilities.decide(environment: xterm.merging(["LIDIT_CELL_SIZE": "7x15"]) { $1 }, replies: all, winsize: (24, 80, 960, 480))
        XCTAssertEqual(c.cellSize, PixelSize(width: 7, height: 15))
        c = TerminalCapabilities.decide(environment: xterm, replies: nil, winsize: nil)
        XCTAssertEqual(c.cellSize, TerminalCapabilities.defaultCellSize)
        XCTAssertEqual(c.columns, 80)
    }

    // MARK: against a pseudo-terminal

    /// Opens a pty pair; the test plays the terminal on the master side.
    func openPTY() throws -> (master: Int32, slave: Int32) {
        // posix_openpt & co. are hidden from Swift's Glibc module (they need _XOPEN_SOURCE): look them up.
        typealias OpenPT = @convention(c) (Int32) -> Int32
        typealias PTOp = @convention(c) (Int32) -> Int32
        typealias PTSName = @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?
        let h = dlopen(nil, RTLD_NOW)
        guard let po = dlsym(h, "posix_openpt"), let gp = dlsym(h, "grantpt"), let up = dlsym(h, "unlockpt"),
              let pn = dlsym(h, "ptsname") else { throw XCTSkip("no pty functions") }
        let m = unsafeBitCast(po, to: OpenPT.self)(O_RDWR | O_NOCTTY)
        guard m >= 0, unsafeBitCast(gp, to: PTOp.self)(m) == 0, unsafeBitCast(up, to: PTOp.self)(m) == 0,
              let namePtr = unsafeBitCast(pn, to: PTSName.self)(m) else { throw XCTSkip("no pseudo-terminals here") }
        let s = open(String(cString: namePtr), O_RDWR | O_NOCTTY)
        guard s >= 0 else { close(m); throw XCTSkip("cannot open the pty slave") }
        return (m, s)
    }

    /// A fake terminal: reads what the program writes and, once it sees DA1, answers with `reply`.
    final class FakeTerminal: @unchecked Sendable {
        let master: Int32
        let reply: String?
        var received: [UInt8] = []
        let done = DispatchSemaphore(value: 0)
        init(master: Int32, reply: String?) { self.master = master; self.reply = reply }
        func start() {
            Thread.detachNewThread { [self] in
                var buf = [UInt8](repeating: 0, count: 256)
                let deadline = Date().addingTimeInterval(5)
                while Date() < deadline {
                    var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                    guard poll(&pfd, 1, 50) > 0 else { continue }
                    let n = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    received += buf[0..<n]
                    if String(decoding: received, as: UTF8.self).hasSuffix("\u{1B}[c") {
                        if let r = reply { _ = r.withCString { write(master, $0, strlen($0)) } }
                        break
                    }
                }
                done.signal()
            }
        }
    }

    func testDetectAgainstAnsweringTerminal() throws {
        let (m, s) = try openPTY()
        defer { close(m); close(s) }
        let fake = FakeTerminal(master: m, reply: "\u{1B}[?1;0;256S\u{1B}[6;16;8t\u{1B}[4;384;640t\u{1B}[8;24;80t\u{1B}[?63;1;2;4;6;9;15;22c")
        fake.start()
        let start = Date()
        // Not our controlling terminal, so skip the process-group check by querying directly.
        let r = try XCTUnwrap(TerminalCapabilities.query(fd: s, timeout: 2))
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.5, "DA1 ends the wait")
        fake.done.wait()
        XCTAssertEqual(String(decoding: fake.received, as: UTF8.self), TerminalReplies.query)
        XCTAssertTrue(r.hasSixelAttribute)
        XCTAssertEqual(r.colorRegisters, 256)
        let caps = TerminalCapabilities.decide(environment: xterm, replies: r, winsize: (0, 0, 0, 0))
        XCTAssertEqual(caps.graphics, .sixel)
        XCTAssertEqual(caps.cellSize, PixelSize(width: 8, height: 16))
        XCTAssertEqual(caps.columns, 80)
        XCTAssertEqual(caps.rows, 24)
        // The terminal's settings are restored (canonical mode and echo back on).
        var t = termios()
        tcgetattr(s, &t)
        XCTAssertNotEqual(t.c_lflag & tcflag_t(ICANON), 0)
        XCTAssertNotEqual(t.c_lflag & tcflag_t(ECHO), 0)
    }

    func testDetectTimesOutOnSilentTerminal() throws {
        let (m, s) = try openPTY()
        defer { close(m); close(s) }
        let fake = FakeTerminal(master: m, reply: nil)
        fake.start()
        let start = Date()
        let r = TerminalCapabilities.query(fd: s, timeout: 0.3)
        let took = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(took, 0.25)
        XCTAssertLessThan(took, 1.5)
        XCTAssertNil(r?.deviceAttributes)
        XCTAssertEqual(TerminalCapabilities.decide(environment: xterm, replies: r, winsize: nil).graphics, .blocks)
        fake.done.wait()
    }

    func testDetectWithoutTerminal() {
        let c = TerminalCapabilities.detect(fd: -1, environment: xterm)
        XCTAssertEqual(c.graphics, .none)
        let forced = TerminalCapabilities.detect(fd: -1, environment: xterm.merging(["LIDIT_GRAPHICS": "blocks"]) { $1 })
        XCTAssertEqual(forced.graphics, .blocks)
    }
}

/// Issue 30, finding 1: the one place where stored text is made safe for a terminal.
final class TerminalTextTests: XCTestCase {
    func testControlsAndBidiAreEscapedAndVisible() {
        let s = TerminalText.safe("\u{1B}[2J\u{1B}]0;pwned\u{07} red\tcircle\r\u{9B}31m \u{202E}x\u{2066}\u{7F}\u{2028}")
        XCTAssertEqual(s, "\\e[2J\\e]0;pwned\\x07 red\\tcircle\\r\\x9B31m \\u{202E}x\\u{2066}\\x7F\\u{2028}")
        XCTAssertFalse(s.unicodeScalars.contains(where: TerminalText.isUnsafe))
    }

    func testNewlinesKeptOnlyWhenAsked() {
        XCTAssertEqual(TerminalText.safe("a\nb"), "a\\nb")
        XCTAssertEqual(TerminalText.safe("a\nb", keepNewlines: true), "a\nb")
    }

    func testOrdinaryTextIsUntouched() {
        for t in ["a red circle", "日本語の 猫 🐈", "a \\(red\\) circle", "مرحبا", "café", ""] {
            XCTAssertEqual(TerminalText.safe(t), t)
        }
    }
}
