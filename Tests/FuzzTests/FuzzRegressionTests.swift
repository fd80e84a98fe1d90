import Foundation
import FuzzTargets
import ImageIO
import LLM
import ModelFiles
import Tokenizers
import XCTest

/// What each input the fuzzer found (kept in fuzz/regressions/) must now get: a refusal with a
/// message, or a harmless result, where before it trapped or leaked.
final class FuzzRegressionTests: XCTestCase {
    static func regression(_ target: String, _ name: String) -> URL {
        FuzzReplayTests.root.appendingPathComponent("fuzz/regressions/\(target)/\(name)")
    }

    func scratch(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "fuzz-regression-\(UUID().uuidString).gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { unlink(path) }
        return path
    }

    /// Token ids from outside the vocabulary (negative, huge) decode to nothing; BPE trapped on
    /// a negative id (`types[-1]`).
    func testTokenizersIgnoreIdsOutsideTheVocabulary() throws {
        if let reason = FuzzTarget.tokenizer.unavailableReason { throw XCTSkip(reason) }
        let store = ModelStore()
        for m in [KnownModel.smollm2, KnownModel.gemma3] {
            let tok = try makeTokenizer(from: GGUFFile(path: store.path(m)))
            XCTAssertEqual(tok.decode([-1, Int32.min, Int32.max]), "", m.id)
            XCTAssertEqual(tok.tokenText(-1), "", m.id)
            let hello = tok.encode("hello", addBOS: false, parseSpecial: false)
            XCTAssertEqual(tok.decode([-5] + hello + [Int32.max]), "hello", m.id)
        }
        FuzzTarget.tokenizer.run(try Data(contentsOf: Self.regression("tokenizer", "decode-negative-id")))
    }

    /// A `tokenizer.ggml.token_type` beyond Int32 reads as a normal token (it trapped converting).
    func testTokenTypeBeyondInt32IsNormal() throws {
        var w = GGUFWriter()
        w.metadata = [("tokenizer.ggml.model", .string("gpt2")),
                      ("tokenizer.ggml.tokens", .array([.string("a"), .string("b"), .string("ab")])),
                      ("tokenizer.ggml.token_type", .array([.int(1), .int(Int64(Int32.max) + 1), .int(-1 << 40)])),
                      ("tokenizer.ggml.merges", .array([.string("a b")]))]
        let tok = try makeTokenizer(from: GGUFFile(path: try scratch(w.serialized())))
        XCTAssertEqual(tok.encode("ab", addBOS: false, parseSpecial: false), [2])
        XCTAssertEqual(tok.decode([0, 1]), "ab")
        FuzzTarget.gguf.run(try Data(contentsOf: Self.regression("gguf", "token-type-beyond-int32.gguf")))
        FuzzTarget.gguf.run(try Data(contentsOf: Self.regression("gguf", "bpe-decode-negative-id.gguf")))
    }

    /// `head_count_kv` 0 was a division by zero (SIGFPE); it and an absurd `key_length` are refused by name.
    func testLLMHeadCountsAreRangeChecked() throws {
        let file = try GGUFFile(path: Self.regression("gguf", "kv-heads-zero.gguf").path)
        XCTAssertThrowsError(try DecoderLM.load(from: file)) { error in
            XCTAssertEqual("\(error)", "invalid metadata llama.attention.head_count_kv 0")
        }
        // The same tiny model from the seed corpus loads.
        let seed = try GGUFFile(path: FuzzReplayTests.root.appendingPathComponent("fuzz/corpus/gguf/llama-tiny.gguf").path)
        XCTAssertEqual(try DecoderLM.load(from: seed).config.kvHeadCount, 2)
    }

    /// A shape whose element count overflows, or data offsets that overflow when added to the
    /// header, are refused (they trapped on the overflow, or wrapped in an -Ounchecked build).
    func testSafetensorsSizesCannotOverflow() throws {
        for (name, message) in [("shape-product-overflow.safetensors", "tensor x is too large"),
                                ("data-offset-overflow.safetensors", "tensor x lies outside the file (truncated?)"),
                                ("data-offset-negative.safetensors", "tensor x lies outside the file (truncated?)")] {
            let data = try Data(contentsOf: Self.regression("safetensors", name))
            XCTAssertThrowsError(try SafetensorsFile.parse(data, path: "f")) { error in
                XCTAssertEqual("\(error)", "f: \(message)", name)
            }
        }
    }

    /// A PNG whose image data ends early is refused with libpng's message (the row pointers it
    /// leaked on that path are freed: scripts/fuzz replays this file with leak detection).
    func testTruncatedPNGDataIsRefused() throws {
        let data = try Data(contentsOf: Self.regression("png", "truncated-image-data-leak.png"))
        XCTAssertThrowsError(try PNGFile.read(data: data))
    }

    /// A 366-byte PNG whose tEXt chunk claims 1.9 GB made libpng allocate 1.9 GB (12 s under the
    /// fuzzer): a chunk longer than the rest of the file is now refused before libpng reads it,
    /// from memory and from a path alike.
    func testChunkLongerThanTheFileIsRefusedBeforeAllocating() throws {
        let url = Self.regression("png", "text-chunk-claims-1.9GB.png")
        let expected = "truncated PNG (the chunk at offset 33 claims 1929380178 bytes, past the end of the file)"
        XCTAssertThrowsError(try PNGFile.read(data: try Data(contentsOf: url))) { XCTAssertEqual("\($0)", expected) }
        XCTAssertThrowsError(try PNGFile.read(path: url.path)) { XCTAssertEqual("\($0)", "\(url.path): \(expected)") }
    }
}
