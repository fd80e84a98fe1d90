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

    /// A PNG header asking for more pixels than the cap is refused by its size alone, before libpng
    /// inflates anything: a 16384×16384 file of zeros compresses to about a megabyte.
    func testHugePictureIsRefusedByItsArea() throws {
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in typed {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return be(UInt32(body.count)) + typed + be(~crc)
        }
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        func png(width: UInt32, height: UInt32) -> Data {
            let ihdr = be(width) + be(height) + [8, 2, 0, 0, 0]
            // A stored (uncompressed) zlib stream of one empty row: enough to start decoding.
            let idat: [UInt8] = [0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x01]
            return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", []))
        }
        XCTAssertThrowsError(try PNGFile.read(data: png(width: 16384, height: 16000))) { error in
            XCTAssertTrue("\(error)".contains("too large"), "\(error)")
        }
        XCTAssertThrowsError(try PNGFile.read(data: png(width: 9000, height: 8000))) { error in
            XCTAssertTrue("\(error)".contains("too large"), "\(error)")
        }
        // Under the cap the same file is read as far as its (short) data goes: an ordinary error.
        XCTAssertThrowsError(try PNGFile.read(data: png(width: 64, height: 64))) { error in
            XCTAssertFalse("\(error)".contains("too large"), "\(error)")
        }
    }

    func testWriteToUnwritablePathThrows() {
        XCTAssertThrowsError(try PNGFile(image: gradient(channels: 3)).write(path: "/nonexistent-dir/x.png"))
    }
}
