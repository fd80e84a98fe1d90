import XCTest
import Foundation
import ImageIO
@testable import TerminalGraphics

func gradientImage(width: Int, height: Int, channels: Int = 3) -> RGBImage {
    var px: [UInt8] = []
    px.reserveCapacity(width * height * channels)
    for y in 0..<height {
        for x in 0..<width {
            let r = x * 255 / max(1, width - 1), g = y * 255 / max(1, height - 1)
            let b = (x * 7 + y * 13) % 256
            px += [UInt8(r), UInt8(g), UInt8(b)]
            if channels == 4 { px.append(255) }
        }
    }
    return RGBImage(width: width, height: height, channels: channels, pixels: px)
}

/// A flat-colored picture with `n` colors in vertical bands.
func bandsImage(width: Int, height: Int, colors n: Int) -> RGBImage {
    var px: [UInt8] = []
    for _ in 0..<height {
        for x in 0..<width {
            let k = x * n / width
            px += [UInt8((k * 67) % 256), UInt8((k * 151 + 30) % 256), UInt8((k * 29 + 200) % 256)]
        }
    }
    return RGBImage(width: width, height: height, pixels: px)
}

final class SixelTests: XCTestCase {
    /// Per-pixel comparison against the source: the decoded color must be (nearly) the palette
    /// entry nearest to the source color, i.e. the error is the palette's, not the encoder's.
    func assertWithinPaletteError(_ decoded: RGBImage, _ source: RGBImage, maxMeanExcess: Double = 1.5,
                                  maxMeanError: Double, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(decoded.width, source.width, file: file, line: line)
        XCTAssertEqual(decoded.height, source.height, file: file, line: line)
        guard decoded.width == source.width, decoded.height == source.height else { return }
        var palette = Set<UInt32>()
        for y in 0..<decoded.height { for x in 0..<decoded.width {
            let c = decoded.rgb(x: x, y: y)
            palette.insert(UInt32(c.0) << 16 | UInt32(c.1) << 8 | UInt32(c.2))
        } }
        XCTAssertLessThanOrEqual(palette.count, 256, file: file, line: line)
        let pal = palette.map { (Double($0 >> 16 & 255), Double($0 >> 8 & 255), Double($0 & 255)) }
        func dist(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> Double {
            ((a.0 - b.0) * (a.0 - b.0) + (a.1 - b.1) * (a.1 - b.1) + (a.2 - b.2) * (a.2 - b.2)).squareRoot()
        }
        var excess = 0.0, total = 0.0
        let n = Double(source.width * source.height)
        for y in 0..<source.height { for x in 0..<source.width {
            let s = source.rgb(x: x, y: y), d = decoded.rgb(x: x, y: y)
            let sv = (Double(s.0), Double(s.1), Double(s.2)), dv = (Double(d.0), Double(d.1), Double(d.2))
            let e = dist(sv, dv)
            let best = pal.map { dist(sv, $0) }.min()!
            excess += e - best
            total += e
        } }
        XCTAssertLessThanOrEqual(excess / n, maxMeanExcess, "mean error beyond the nearest palette color", file: file, line: line)
        XCTAssertLessThanOrEqual(total / n, maxMeanError, "mean color error", file: file, line: line)
    }

    func testFewColorsAreExactAfterRoundTrip() throws {
        let img = bandsImage(width: 24, height: 18, colors: 12)
        for scale in [1, 4] {
            let six = try SixelEncoder.encode(img, scale: scale)
            XCTAssertTrue(six.hasPrefix("\u{1B}P"), "DCS")
            XCTAssertTrue(six.contains("q\"1;1;\(24 * scale);\(18 * scale)"), String(six.prefix(40)))
            XCTAssertTrue(six.hasSuffix("\u{1B}\\"))
            let back = try SixelDecoder.decode(six)
            let want = ImageOps.upscale(img, factor: scale)
            XCTAssertEqual(back.width, want.width)
            XCTAssertEqual(back.height, want.height)
            // Only the 0–100 % palette rounding of the sixel format remains.
            var maxErr = 0
            for i in 0..<want.pixels.count { maxErr = max(maxErr, abs(Int(back.pixels[i]) - Int(want.pixels[i]))) }
            XCTAssertLessThanOrEqual(maxErr, 2)
        }
    }

    func testManyColorsMatchWithinPaletteError() throws {
        let img = gradientImage(width: 64, height: 64)
        // 1:1, no dithering: libsixel maps the pixels.
        let six = try SixelEncoder.encode(img, scale: 1, dither: .none)
        assertWithinPaletteError(try SixelDecoder.decode(six), img, maxMeanError: 16)
        // Upscaled small preview (palette from the 64×64 picture, nearest mapping, blocks).
        let six3 = try SixelEncoder.encode(img, scale: 3)
        let back3 = try SixelDecoder.decode(six3)
        XCTAssertEqual(back3.width, 192)
        XCTAssertEqual(back3.height, 192)
        for y in stride(from: 0, to: 192, by: 3) { for x in stride(from: 0, to: 192, by: 3) {
            let c = back3.rgb(x: x, y: y)
            XCTAssertTrue(back3.rgb(x: x + 2, y: y + 2) == c && back3.rgb(x: x + 1, y: y) == c, "each source pixel is one flat block")
        } }
        assertWithinPaletteError(back3, ImageOps.upscale(img, factor: 3), maxMeanError: 16)
        // Dithered versions stay close on average.
        let fs = try SixelDecoder.decode(try SixelEncoder.encode(img, scale: 1, dither: .floydSteinberg))
        assertWithinPaletteError(fs, img, maxMeanExcess: 25, maxMeanError: 25)
        let at = try SixelDecoder.decode(try SixelEncoder.encode(img, scale: 2, dither: .atkinson))
        assertWithinPaletteError(at, ImageOps.upscale(img, factor: 2), maxMeanExcess: 25, maxMeanError: 25)
    }

    /// A smooth picture (like a generated one) comes back much closer than the worst case above.
    func testSmoothPictureIsClose() throws {
        var px: [UInt8] = []
        for y in 0..<64 { for x in 0..<64 {
            let d = Double((x - 32) * (x - 32) + (y - 20) * (y - 20)).squareRoot()
            px += [UInt8(max(0, 230 - d * 3)), UInt8(60 + x * 2), UInt8(min(255, 40 + Int(d * 2)))]
        } }
        let img = RGBImage(width: 64, height: 64, pixels: px)
        for scale in [1, 4] {
            let back = try SixelDecoder.decode(try SixelEncoder.encode(img, scale: scale, dither: .none))
            assertWithinPaletteError(back, ImageOps.upscale(img, factor: scale), maxMeanError: 6)
        }
    }

    func testFewerColorRegisters() throws {
        let img = gradientImage(width: 32, height: 32)
        let back = try SixelDecoder.decode(try SixelEncoder.encode(img, colors: 16, dither: .none))
        assertWithinPaletteError(back, img, maxMeanExcess: 3, maxMeanError: 60)
    }

    func testAlphaIsFlattened() throws {
        let img = gradientImage(width: 8, height: 8, channels: 4)
        let back = try SixelDecoder.decode(try SixelEncoder.encode(img, scale: 2))
        XCTAssertEqual(back.width, 16)
    }

    /// The same check through libsixel-bin's `sixel2png`, an independent decoder program.
    func testSixel2PNGDecodesOurOutput() throws {
        let tool = "/usr/bin/sixel2png"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("sixel2png (libsixel-bin) not installed") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-six-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let img = gradientImage(width: 64, height: 64)
        for scale in [1, 2] {
            try SixelEncoder.encode(img, scale: scale, dither: .none).write(toFile: dir + "/t.six", atomically: false, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = ["-i", dir + "/t.six", "-o", dir + "/t.png"]
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            let png = try PNGFile.read(path: dir + "/t.png")
            assertWithinPaletteError(ImageOps.flattened(png.image), ImageOps.upscale(img, factor: scale), maxMeanError: 16)
        }
    }

    func testTmuxAndScreenPassthrough() throws {
        let img = bandsImage(width: 16, height: 12, colors: 4)
        let plain = try SixelEncoder.encode(img)
        let tmux = try SixelEncoder.encode(img, passthrough: .tmux)
        XCTAssertTrue(tmux.hasPrefix("\u{1B}Ptmux;\u{1B}\u{1B}P"))
        XCTAssertTrue(tmux.hasSuffix("\u{1B}\u{1B}\\\u{1B}\\"))
        let inner = String(tmux.dropFirst(7).dropLast(2)).replacingOccurrences(of: "\u{1B}\u{1B}", with: "\u{1B}")
        XCTAssertEqual(inner, plain)
        let big = gradientImage(width: 64, height: 64)
        let screen = try SixelEncoder.encode(big, passthrough: .screen)
        XCTAssertGreaterThan(screen.components(separatedBy: "\u{1B}P").count, 3, "cut into DCS packets for screen")
    }

    func testRenderFitsAndUpscalesSmallPictures() throws {
        let caps = TerminalCapabilities(graphics: .sixel, cellSize: PixelSize(width: 10, height: 20), columns: 80, rows: 24)
        let img = gradientImage(width: 64, height: 64)
        let r = try TerminalPicture.render(img, capabilities: caps)
        // 23 rows × 20 px = 460 px high → factor 7 (448 px).
        XCTAssertEqual(r.pixelWidth, 448)
        XCTAssertEqual(r.rows, 23)
        XCTAssertEqual(r.columns, 45)
        XCTAssertEqual(try SixelDecoder.decode(r.text).width, 448)
        let fixed = try TerminalPicture.render(img, capabilities: caps, scale: 2)
        XCTAssertEqual(fixed.pixelHeight, 128)
        // A picture larger than the area is shrunk.
        let large = try TerminalPicture.render(gradientImage(width: 600, height: 300), capabilities: caps, maxColumns: 40, maxRows: 10)
        XCTAssertLessThanOrEqual(large.pixelWidth, 400)
        XCTAssertLessThanOrEqual(large.pixelHeight, 200)
        let blocks = try TerminalPicture.render(img, capabilities: caps, mode: .blocks)
        XCTAssertEqual(blocks.rows, 23)
        XCTAssertEqual(blocks.columns, 46)
        XCTAssertEqual(try TerminalPicture.render(img, capabilities: caps, mode: GraphicsMode.none).text, "")
    }
}
