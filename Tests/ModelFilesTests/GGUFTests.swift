import XCTest
import Foundation
@testable import ModelFiles

final class GGUFTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func sample() -> [UInt8] {
        var w = GGUFWriter()
        w.metadata = [
            ("general.architecture", .string("llama")),
            ("llama.block_count", .uint(2)),
            ("llama.rope.freq_base", .float(10000.5)),
            ("tokenizer.ggml.tokens", .array([.string("a"), .string("b"), .string("ü")])),
            ("tokenizer.ggml.scores", .array([.float(-1), .float(-2), .float(-3)])),
            ("nested", .array([.array([.int(-1), .int(2)]), .array([.int(3)])])),
            ("flag", .bool(true)),
        ]
        w.addFloatTensor("w", shape: [4, 3], values: (0..<12).map(Float.init))
        w.addFloatTensor("b", shape: [5], values: [1, 2, 3, 4, 5])
        return w.serialized()
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testReadsMetadataAndTensors() throws {
        let f = try GGUFFile(path: write(sample(), "ok.gguf"))
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.string("general.architecture"), "llama")
        XCTAssertEqual(f.int("llama.block_count"), 2)
        XCTAssertEqual(f.float("llama.rope.freq_base"), 10000.5)
        XCTAssertEqual(f.metadata["tokenizer.ggml.tokens"]?.strings, ["a", "b", "ü"])
        XCTAssertEqual(f.metadata["tokenizer.ggml.scores"]?.floats, [-1, -2, -3])
        XCTAssertEqual(f.metadata["nested"]?.array?.first?.ints, [-1, 2])
        XCTAssertEqual(f.metadata["flag"]?.bool, true)
        XCTAssertEqual(try f.tensor(named: "w"), (0..<12).map(Float.init))
        XCTAssertEqual(try f.tensor(f.tensorInfo("w")!, rows: 1..<3), (4..<12).map(Float.init))
        XCTAssertEqual(try f.tensor(named: "b"), [1, 2, 3, 4, 5])
        XCTAssertEqual(f.tensorInfo("w")?.shape, [4, 3])
        XCTAssertThrowsError(try f.tensor(named: "missing"))
    }

    func testTruncatedCopiesThrow() throws {
        let bytes = sample()
        // The last 12 bytes are alignment padding after the final tensor: cutting them is harmless.
        for cut in Array(stride(from: 0, to: bytes.count - 12, by: 7)) + [bytes.count - 13] {
            let path = try write(Array(bytes.prefix(cut)), "cut.gguf")
            XCTAssertThrowsError(try GGUFFile(path: path), "cut at \(cut) of \(bytes.count)") { error in
                XCTAssertTrue(error is GGUFError)
                XCTAssertFalse("\(error)".contains("\n"), "one-line message")
            }
        }
    }

    func testBitFlippedCopiesNeverCrash() throws {
        let bytes = sample()
        var rng = SystemRandomNumberGenerator()
        var opened = 0, rejected = 0
        for i in 0..<600 {
            var b = bytes
            let pos = i < bytes.count ? i : Int.random(in: 0..<bytes.count, using: &rng)
            b[pos] ^= UInt8(1 << (i % 8))
            if i % 3 == 0 { b[Int.random(in: 0..<bytes.count, using: &rng)] = 0xFF }
            do {
                let f = try GGUFFile(path: write(b, "flip.gguf"))
                // Whatever survives validation must be readable within bounds.
                for t in f.tensors { _ = try f.tensor(t, rows: 0..<t.rowCount) }
                opened += 1
            } catch is GGUFError {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 50)
        XCTAssertEqual(opened + rejected, 600)
    }

    func testAbsurdCountsAndBadMagic() throws {
        var b = sample()
        b[0] = UInt8(ascii: "X")
        XCTAssertThrowsError(try GGUFFile(path: write(b, "magic.gguf"))) { XCTAssertTrue("\($0)".contains("bad magic")) }
        b = sample()
        for k in 8..<16 { b[k] = 0xFF }  // tensor count
        XCTAssertThrowsError(try GGUFFile(path: write(b, "count.gguf"))) { XCTAssertTrue("\($0)".contains("absurd")) }
        b = sample()
        b[4] = 9  // version
        XCTAssertThrowsError(try GGUFFile(path: write(b, "version.gguf"))) { XCTAssertTrue("\($0)".contains("version")) }
        XCTAssertThrowsError(try GGUFFile(path: dir.appendingPathComponent("none.gguf").path))
    }
}
