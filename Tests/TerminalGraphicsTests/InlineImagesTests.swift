import Foundation
import ImageIO
import XCTest
@testable import TerminalGraphics

/// kitty and iTerm2 pictures decode back to the picture at a whole-number scale, also through
/// tmux passthrough; detection from the environment (issue 28).
final class InlineImagesTests: XCTestCase {
    let picture: RGBImage = {
        var px = [UInt8](repeating: 0, count: 20 * 12 * 3)
        // Noise, so the PNG does not compress below one kitty chunk.
        var state: UInt32 = 12345
        for i in 0..<px.count { state = state &* 1_664_525 &+ 1_013_904_223; px[i] = UInt8(state >> 24) }
        return RGBImage(width: 20, height: 12, pixels: px)
    }()

    func testKittyDecodesToThePictureAtAWholeScale() throws {
        for passthrough in [SixelPassthrough.none, .tmux] {
            let caps = TerminalCapabilities(graphics: .kitty, sixelPassthrough: passthrough, columns: 30, rows: 10)
            let r = try TerminalPicture.render(picture, capabilities: caps)
            XCTAssertEqual(r.mode, .kitty)
            // 30×10 cells of 10×20 pixels hold 300×200: ×15 by width, ×16 by height, at most 8.
            XCTAssertEqual(r.pixelWidth, 160)
            XCTAssertEqual(r.columns, 16)
            let d = InlineImageDecoder(r.text)
            XCTAssertEqual(d.passthroughPackets > 0, passthrough == .tmux)
            XCTAssertTrue(d.kitty.dropLast().allSatisfy { $0.payload.utf8.count <= InlineImages.kittyChunk })
            let png = try XCTUnwrap(d.kittyImage(id: 1))
            XCTAssertEqual(try PNGFile.read(data: png).image, ImageOps.upscale(picture, factor: 8))
            let place = try XCTUnwrap(d.kitty.last)
            XCTAssertEqual(place.keys["a"], "p")
            XCTAssertEqual(place.keys["i"], "1")
            XCTAssertEqual(place.keys["C"], "1", "the cursor stays")
            XCTAssertEqual(d.rest, "")
        }
        // A fixed scale.
        let caps = TerminalCapabilities(graphics: .kitty, columns: 30, rows: 10)
        let r = try TerminalPicture.render(picture, capabilities: caps, scale: 3)
        XCTAssertEqual(try PNGFile.read(data: try XCTUnwrap(InlineImageDecoder(r.text).kittyImage(id: 1))).image,
                       ImageOps.upscale(picture, factor: 3))
        // Chunks: at most 4096 bytes of base64 each, m=1 on all but the last, keys on the first.
        let data = Data((0..<10_000).map { UInt8($0 % 251) })
        let chunks = InlineImageDecoder(InlineImages.kittyTransmit(data, id: 5)).kitty
        XCTAssertEqual(chunks.count, 4)
        XCTAssertEqual(chunks.map { $0.keys["m"] }, ["1", "1", "1", "0"])
        XCTAssertEqual(chunks[0].keys["a"], "t")
        XCTAssertEqual(chunks[0].keys["f"], "100")
        XCTAssertEqual(chunks[0].keys["i"], "5")
        XCTAssertNil(chunks[1].keys["i"])
        XCTAssertTrue(chunks.allSatisfy { $0.payload.utf8.count <= InlineImages.kittyChunk })
        XCTAssertEqual(InlineImageDecoder(InlineImages.kittyTransmit(data, id: 5)).kittyImage(id: 5), data)
        XCTAssertEqual(InlineImages.kittyDelete(id: 7), "\u{1B}_Ga=d,d=I,i=7,q=2\u{1B}\\")
        XCTAssertEqual(InlineImages.kittyDelete(id: nil), "\u{1B}_Ga=d,d=A,q=2\u{1B}\\")
    }

    func testITermDecodesToThePictureAtAWholeScale() throws {
        for passthrough in [SixelPassthrough.none, .tmux] {
            let caps = TerminalCapabilities(graphics: .iterm, sixelPassthrough: passthrough, columns: 30, rows: 10)
            let r = try TerminalPicture.render(picture, capabilities: caps)
            let d = InlineImageDecoder(r.text)
            XCTAssertEqual(d.iterm.count, 1)
            let file = try XCTUnwrap(d.iterm.first)
            XCTAssertEqual(file.parameters["inline"], "1")
            XCTAssertEqual(file.parameters["width"], "160px")
            XCTAssertEqual(file.parameters["height"], "96px")
            XCTAssertEqual(file.parameters["size"], String(file.data.count))
            XCTAssertEqual(try PNGFile.read(data: file.data).image, ImageOps.upscale(picture, factor: 8))
            XCTAssertEqual(d.passthroughPackets, passthrough == .tmux ? 1 : 0)
        }
    }

    func testDetection() {
        func decide(_ env: [String: String]) -> TerminalCapabilities {
            TerminalCapabilities.decide(environment: env, replies: nil, winsize: (24, 80, 0, 0))
        }
        XCTAssertEqual(decide(["TERM": "xterm-kitty"]).graphics, .kitty)
        XCTAssertEqual(decide(["TERM": "xterm-ghostty"]).graphics, .kitty)
        XCTAssertEqual(decide(["TERM": "xterm-256color", "TERM_PROGRAM": "ghostty"]).graphics, .kitty)
        XCTAssertEqual(decide(["TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"]).graphics, .iterm)
        XCTAssertEqual(decide(["TERM": "xterm-256color", "LC_TERMINAL": "iTerm2"]).graphics, .iterm)
        XCTAssertEqual(decide(["TERM": "xterm-256color"]).graphics, .blocks)
        // Inside tmux the outer terminal's variables are still there: passed through.
        let inTmux = decide(["TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,1,0", "KITTY_WINDOW_ID": "3"])
        XCTAssertEqual(inTmux.graphics, .kitty)
        XCTAssertEqual(inTmux.sixelPassthrough, .tmux)
        // The override wins, both ways.
        XCTAssertEqual(decide(["TERM": "xterm-kitty", "LIDIT_GRAPHICS": "blocks"]).graphics, .blocks)
        XCTAssertEqual(decide(["TERM": "xterm-256color", "LIDIT_GRAPHICS": "kitty"]).graphics, .kitty)
        XCTAssertEqual(decide(["TERM": "xterm-256color", "LIDIT_GRAPHICS": "iterm"]).graphics, .iterm)
        let forced = decide(["TERM": "tmux-256color", "TMUX": "x", "LIDIT_GRAPHICS": "iterm2"])
        XCTAssertEqual(forced.graphics, .iterm)
        XCTAssertEqual(forced.sixelPassthrough, .tmux)
        XCTAssertEqual(decide(["TERM": "xterm-kitty", "LIDIT_GRAPHICS": "none"]).graphics, GraphicsMode.none)
        // kitty known from its variables and a cell size from the window: nothing to ask the
        // terminal (late answers would land in the prompt); without pixel sizes it still asks.
        let pixels = (rows: 24, cols: 80, xpx: 800, ypx: 480)
        XCTAssertFalse(TerminalCapabilities.answersMatter(environment: ["TERM": "xterm-kitty"], winsize: pixels))
        XCTAssertFalse(TerminalCapabilities.answersMatter(environment: ["TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"], winsize: pixels))
        XCTAssertTrue(TerminalCapabilities.answersMatter(environment: ["TERM": "xterm-kitty"], winsize: (24, 80, 0, 0)))
        XCTAssertTrue(TerminalCapabilities.answersMatter(environment: ["TERM": "xterm-256color"], winsize: pixels))
        XCTAssertFalse(TerminalCapabilities.answersMatter(environment: ["TERM": "xterm-256color", "LIDIT_GRAPHICS": "kitty"], winsize: nil))
        XCTAssertFalse(TerminalCapabilities.answersMatter(environment: ["TERM": "dumb"], winsize: pixels))
    }
}
