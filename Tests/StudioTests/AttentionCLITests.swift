import Foundation
import ImageIO
import XCTest

/// `lidit generate --attention / --attention-sheet` (issue 26): the JSON's schema and sums, one file
/// per picture with --count, and one-line errors for paths that cannot be written.
final class AttentionCLITests: XCTestCase {
    func lidit(_ binary: String, _ args: [String], model: String) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["LIDIT_MODELS"] = StudioTmuxTests.llmDirectory()
        env["LIDIT_MODEL"] = model
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, o, e)
    }

    func testGenerateWritesMapsPerPictureAndRefusesBadPaths() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory()) (run `lidit models fetch`)")
        }
        let model = try StudioTmuxTests.tinyModel(binary: binary)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attention-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let prompt = "a RED, circle… and 2 stars"
        let r = try lidit(binary, ["generate", "-p", prompt, "--seed", "5", "--steps", "3", "--count", "2", "--no-gallery",
                                         "--attention", dir + "/maps.json", "--attention-sheet", dir + "/sheet.png"], model: model)
        XCTAssertEqual(r.status, 0, r.err)
        for i in 1...2 {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/maps-\(i).json"))
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            XCTAssertEqual(Set(object.keys), ["width", "height", "words", "branches", "template_share"])
            let (w, h) = (try XCTUnwrap(object["width"] as? Int), try XCTUnwrap(object["height"] as? Int))
            let words = try XCTUnwrap(object["words"] as? [[String: Any]])
            XCTAssertEqual(words.compactMap { $0["word"] as? String }, ["a", "RED", "circle", "and", "2", "stars"])
            for word in words {
                let map = try XCTUnwrap(word["map"] as? [Double])
                XCTAssertEqual(map.count, w * h)
                XCTAssertEqual(map.reduce(0, +), 1, accuracy: 1e-4)
                XCTAssertTrue(map.allSatisfy { $0 >= 0 })
            }
            let branches = try XCTUnwrap(object["branches"] as? [String: Double])
            XCTAssertEqual(Set(branches.keys), ["smollm2", "gemma3"])
            XCTAssertEqual(branches.values.reduce(0, +), 1, accuracy: 1e-4)
            let template = try XCTUnwrap(object["template_share"] as? Double)
            XCTAssertTrue((0...1).contains(template))
            let sheet = try PNGFile.read(path: dir + "/sheet-\(i).png").image
            XCTAssertGreaterThan(sheet.width, 7 * w, "the picture and six word tiles")
        }
        for (flag, path) in [("--attention", "/nonexistent-folder/x.json"), ("--attention-sheet", dir)] {
            let bad = try lidit(binary, ["generate", "-p", "a red circle", "--no-gallery", flag, path], model: model)
            XCTAssertNotEqual(bad.status, 0)
            let lines = bad.err.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, bad.err)
            XCTAssertTrue(bad.err.contains(flag) && bad.err.contains(path), bad.err)
        }
    }
}
