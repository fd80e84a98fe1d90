import XCTest
import Foundation
@testable import ImageIO

final class PNGTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-png-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func gradient(channels: Int) -> RGBImage {
        var px = [UInt8]()
        for y in 0..<13 { for x in 0..<17 { for c in 0..<channels { px.append(UInt8((x * 15 + y * 7 + c * 50) & 255)) } } }
        return RGBImage(width: 17, height: 13, channels: channels, pixels: px)
    }

    func testRoundTripRGBAndRGBAWithText() throws {
        for channels in [3, 4] {
            let path = dir.appendingPathComponent("t\(channels).png").path
            let texts = [PNGText(keyword: "parameters", text: "a red circle\nSteps: 20, Seed: 42"),
                         PNGText(keyword: "prompt", text: "красный круг · 赤い丸 🟥")]
            XCTAssertFalse(texts[0].international)
            XCTAssertTrue(texts[1].international, "non-ASCII text must go to iTXt")
            try PNGFile(image: gradient(channels: channels), texts: texts).write(path: path)
            let back = try PNGFile.read(path: path)
            XCTAssertEqual(back.image, gradient(channels: channels))
            XCTAssertEqual(back.text("parameters"), texts[0].text)
            XCTAssertEqual(back.text("prompt"), texts[1].text)
            XCTAssertEqual(back.texts.first { $0.keyword == "prompt" }?.international, true)
        }
    }

    func testLatin1tEXt() throws {
        let path = dir.appendingPathComponent("l.png").path
        try PNGFile(image: gradient(channels: 3), texts: [PNGText(keyword: "Comment", text: "café", international: false)]).write(path: path)
        XCTAssertEqual(try PNGFile.read(path: path).text("Comment"), "café")
    }

    func testTruncatedAndCorruptFilesThrow() throws {
        let path = dir.appendingPathComponent("ok.png").path
        try PNGFile(image: gradient(channels: 3), texts: [PNGText(keyword: "k", text: "v")]).write(path: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        for cut in [0, 5, 8, 20, 33, data.count / 2, data.count - 13] {
            XCTAssertThrowsError(try PNGFile.read(data: data.prefix(cut)), "cut at \(cut)")
            let p = dir.appendingPathComponent("cut\(cut).png").path
            try data.prefix(cut).write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try PNGFile.read(path: p))
        }
        var flipped = data
        flipped[40] ^= 0xFF  // inside IHDR/IDAT: CRC mismatch
        XCTAssertThrowsError(try PNGFile.read(data: flipped))
        XCTAssertThrowsError(try PNGFile.read(path: dir.appendingPathComponent("missing.png").path))
        XCTAssertThrowsError(try PNGFile.read(data: Data("not a png at all".utf8)))
    }

    func testWriteToUnwritablePathThrows() {
        XCTAssertThrowsError(try PNGFile(image: gradient(channels: 3)).write(path: "/nonexistent-dir/x.png"))
    }
}
