import Foundation
import Gallery
import ImageIO
import XCTest

/// `lidit generate --init-image/--strength` and `--variation-of/--variation-strength` as a user
/// runs them, on the committed default model (issue 28).
final class Img2ImgTests: XCTestCase {
    struct Outcome { var status: Int32; var stderr: String }

    var binary = ""
    var dir = ""
    let model = packageRoot.appendingPathComponent("models/lidit-shapes.safetensors").path

    override func setUpWithError() throws {
        guard let b = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory()) (run `lidit models fetch`)")
        }
        binary = b
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let d = dir
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
    }

    func lidit(_ arguments: [String]) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["LIDIT_MODELS"] = StudioTmuxTests.llmDirectory()
        p.environment = env
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, stderr: String(decoding: data, as: UTF8.self))
    }

    /// One picture of "a red circle above a blue square" (6 Euler steps), written to NAME.png.
    func generate(_ name: String, seed: Int, _ extra: [String]) throws -> PNGFile {
        let path = "\(dir)/\(name).png"
        let r = try lidit(["generate", "-p", "a red circle above a blue square", "--seed", String(seed), "--steps", "6",
                           "--model", model, "--no-gallery", "-o", path] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try PNGFile.read(path: path)
    }

    /// A 48×48 start picture (resized to the model's 32×32): a yellow disk on mid-gray.
    func startPicture() throws -> String {
        var px = [UInt8](repeating: 128, count: 48 * 48 * 3)
        for y in 0..<48 { for x in 0..<48 where (x - 24) * (x - 24) + (y - 20) * (y - 20) < 100 {
            px[(y * 48 + x) * 3] = 240; px[(y * 48 + x) * 3 + 1] = 220; px[(y * 48 + x) * 3 + 2] = 30
        } }
        let path = "\(dir)/start.png"
        try PNGFile(image: RGBImage(width: 48, height: 48, pixels: px)).write(path: path)
        return path
    }

    static func meanDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.pixels.count == b.pixels.count)
        return zip(a.pixels, b.pixels).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(a.pixels.count)
    }

    func testStrengthOneIsTxt2ImgAndLowStrengthKeepsThePicture() throws {
        let start = try startPicture()
        let plain = try generate("plain", seed: 7, [])
        let full = try generate("full", seed: 7, ["--init-image", start, "--strength", "1"])
        XCTAssertTrue(full.image.pixels == plain.image.pixels, "strength 1 is the txt2img picture of the seed, bit for bit")
        // The start picture as the model sees it: strength 0 gives it back.
        let back = try generate("back", seed: 7, ["--init-image", start, "--strength", "0"])
        XCTAssertEqual(back.image.width, 32)
        XCTAssertEqual(back.image.pixels[(13 * 32 + 16) * 3], 240, "the disk's centre, resized from 48 to 32")
        XCTAssertEqual(back.image.pixels[0], 128, "the background")
        // Strength 0.2 from a picture the model drew (seed 7), with another seed: within a small
        // mean difference of the start, far nearer it than that seed's own picture.
        let low = try generate("low", seed: 9, ["--init-image", "\(dir)/plain.png", "--strength", "0.2"])
        let other = try generate("other", seed: 9, [])
        let lowDifference = Self.meanDifference(low.image, plain.image)
        let otherDifference = Self.meanDifference(other.image, plain.image)
        XCTAssertLessThan(lowDifference, 3, "strength 0.2 stays within a small mean difference of the start picture")
        XCTAssertGreaterThan(lowDifference, 0, "strength 0.2 changes something")
        XCTAssertLessThan(lowDifference * 5, otherDifference, "much nearer the start than a txt2img picture of its seed")
        let parameters = try XCTUnwrap(low.text("parameters"))
        XCTAssertTrue(parameters.contains("Denoising strength: 0.2"), parameters)
        XCTAssertTrue(parameters.contains("Init image: \(dir)/plain.png") || parameters.contains("Init image: \"\(dir)/plain.png\""), parameters)
        let settings = try GenerationSettings.fromJSON(try XCTUnwrap(low.text("lidit")))
        XCTAssertEqual(settings.denoisingStrength, 0.2)
        XCTAssertEqual(settings.initImage, "\(dir)/plain.png")
    }

    func testVariationsBlendTwoSeeds() throws {
        let seven = try generate("seven", seed: 7, [])
        let eight = try generate("eight", seed: 8, [])
        // --seed is the variation seed; the picture's seed is --variation-of.
        let none = try generate("none", seed: 8, ["--variation-of", "7", "--variation-strength", "0"])
        let all = try generate("all", seed: 8, ["--variation-of", "7", "--variation-strength", "1"])
        let some = try generate("some", seed: 8, ["--variation-of", "7", "--variation-strength", "0.3"])
        XCTAssertTrue(none.image.pixels == seven.image.pixels, "strength 0 is the seed's own picture")
        XCTAssertTrue(all.image.pixels == eight.image.pixels, "strength 1 is the variation seed's picture")
        XCTAssertFalse(some.image.pixels == seven.image.pixels)
        XCTAssertLessThan(Self.meanDifference(some.image, seven.image), Self.meanDifference(eight.image, seven.image),
                          "a small strength stays nearer its seed's picture than another seed's")
        let parameters = try XCTUnwrap(some.text("parameters"))
        for label in ["Seed: 7", "Variation seed: 8", "Variation seed strength: 0.3"] {
            XCTAssertTrue(parameters.contains(label), parameters)
        }
        let parsed = A1111Parameters.settings(from: parameters)
        XCTAssertEqual(parsed.seed, 7)
        XCTAssertEqual(parsed.variationSeed, 8)
        XCTAssertEqual(parsed.variationStrength, 0.3)
    }

    func testMissingOrCorruptStartPictureIsOneLine() throws {
        let corrupt = "\(dir)/corrupt.png"
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: URL(fileURLWithPath: corrupt))
        for path in ["\(dir)/missing.png", corrupt] {
            let r = try lidit(["generate", "-p", "a red circle", "--init-image", path, "--strength", "0.5", "--no-gallery",
                               "--model", "/nonexistent-model.safetensors"])
            XCTAssertEqual(r.status, 1, r.stderr)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("--init-image \(path)"), "names the option and file before the model is read: \(r.stderr)")
        }
        let r = try lidit(["generate", "-p", "a red circle", "--strength", "0.5", "--no-gallery"])
        XCTAssertTrue(r.stderr.contains("--strength needs --init-image"), r.stderr)
    }
}
