import Foundation
import Gallery
import ImageIO
import XCTest

/// `lidit grid`: one labelled PNG whose cells are exactly the pictures `lidit generate` makes with
/// the same settings, every cell's parameters in its metadata (issue 28).
final class GridCommandTests: XCTestCase {
    struct Outcome { var status: Int32; var stderr: String }

    func lidit(_ binary: String, _ arguments: [String]) throws -> Outcome {
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

    struct Metadata: Decodable {
        struct Axis: Decodable { var name: String; var values: [String] }
        struct Cell: Decodable { var row: Int, column: Int, x: Int, y: Int, width: Int, height: Int; var settings: GenerationSettings }
        var x: Axis
        var y: Axis?
        var cells: [Cell]
    }

    func testThreeByTwoCellsAreTheSingleGenerations() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory()) (run `lidit models fetch`)")
        }
        let model = packageRoot.appendingPathComponent("models/lidit-shapes.safetensors").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("grid-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let prompt = "a red circle above a blue square"
        let r = try lidit(binary, ["grid", "-p", prompt, "--x", "cfg=1,4,7", "--y", "seed=1,2", "--steps", "4", "--scale", "1",
                                   "--model", model, "-o", "\(dir)/grid.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let grid = try PNGFile.read(path: "\(dir)/grid.png")
        let metadata = try JSONDecoder().decode(Metadata.self, from: Data(try XCTUnwrap(grid.text("lidit-grid")).utf8))
        XCTAssertEqual(metadata.x.name, "cfg")
        XCTAssertEqual(metadata.y?.values, ["1", "2"])
        XCTAssertEqual(metadata.cells.count, 6)
        // The single generations: seeds 1 and 2 (--count 2) for each cfg.
        var singles: [String: RGBImage] = [:]
        for cfg in ["1", "4", "7"] {
            let out = try lidit(binary, ["generate", "-p", prompt, "--seed", "1", "--count", "2", "--steps", "4", "--cfg", cfg,
                                         "--model", model, "--no-gallery", "-o", "\(dir)/cfg\(cfg).png"])
            XCTAssertEqual(out.status, 0, out.stderr)
            for seed in [1, 2] { singles["\(cfg)/\(seed)"] = try PNGFile.read(path: "\(dir)/cfg\(cfg)-\(seed).png").image }
        }
        for cell in metadata.cells {
            let cfg = metadata.x.values[cell.column], seed = metadata.y!.values[cell.row]
            XCTAssertEqual(cell.settings.guidanceScale, Double(cfg))
            XCTAssertEqual(cell.settings.seed, UInt64(seed))
            XCTAssertEqual(cell.settings.steps, 4)
            XCTAssertEqual(cell.settings.prompt, prompt)
            let crop = PictureGrid.crop(grid.image, .init(row: cell.row, column: cell.column, x: cell.x, y: cell.y,
                                                           width: cell.width, height: cell.height))
            XCTAssertEqual(crop, singles["\(cfg)/\(seed)"], "cell cfg=\(cfg) seed=\(seed)")
        }
        XCTAssertEqual(Set(metadata.cells.map { "\($0.row),\($0.column)" }).count, 6)
        XCTAssertTrue(try XCTUnwrap(grid.text("parameters")).contains("CFG scale: 1, Seed: 1"))
    }

    func testBadAxesAreOneLineErrorsBeforeTheModel() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        let cases: [([String], String)] = [
            (["--x", "colour=1,2"], "unknown setting 'colour'"),
            (["--x", "cfg=1,lots"], "--x cfg=lots"),
            (["--x", "fusion.t5=0,1"], "unknown LLM 't5'"),
            (["--x", "template=on,maybe"], "a template is on or off"),
            (["--x", "seed=1,2", "--y", "seed=3"], "the same setting"),
            (["--x", "steps=4,-1"], "steps are 1...1000"),
            (["--x", "cfg"], "--x takes NAME=V1,V2"),
        ]
        for (args, expected) in cases {
            let r = try lidit(binary, ["grid", "-p", "a circle", "-o", "/tmp/never.png", "--model", "/nonexistent.safetensors"] + args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage") && !$0.contains("--help") }
            XCTAssertEqual(lines.count, 1, r.stderr)
        }
    }
}
