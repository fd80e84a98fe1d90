import XCTest
import Foundation
import ModelFiles
@testable import Tokenizers

enum TokenizerModels {
    static func tokenizer(_ id: String) throws -> Tokenizer {
        let store = ModelStore(), known = KnownModel.named(id)!
        let path = store.path(known)
        guard store.isPresent(known) else { throw XCTSkip("\(path) is missing: run `lidit models fetch` (CI does)") }
        return try makeTokenizer(from: GGUFFile(path: path))
    }
}

/// Every line of the llama.cpp fixtures (scripts/fixtures: llama-cpp-python's tokenizer, with
/// parse_special false and true) must match exactly.
final class TokenizerFixtureTests: XCTestCase {
    struct Line: Decodable { let text: String; let special: Bool; let ids: [Int32] }

    func check(_ model: String) throws {
        let tok = try TokenizerModels.tokenizer(model)
        let url = try XCTUnwrap(Bundle.module.url(forResource: model, withExtension: "jsonl", subdirectory: "Fixtures"))
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Line.self, from: Data($0.utf8))
        }
        XCTAssertGreaterThanOrEqual(lines.count, 2000)
        var failures: [String] = []
        for l in lines {
            let got = tok.encode(l.text, addBOS: false, parseSpecial: l.special)
            if got != l.ids { failures.append("\(l.text.debugDescription.prefix(60)) special=\(l.special): got \(got.prefix(12)) want \(l.ids.prefix(12))") }
        }
        XCTAssertTrue(failures.isEmpty, "\(model): \(failures.count)/\(lines.count) mismatches:\n" + failures.prefix(8).joined(separator: "\n"))
    }

    func testSmolLM2MatchesLlamaCpp() throws { try check("smollm2") }
    func testGemma3MatchesLlamaCpp() throws { try check("gemma3") }

    func testBOSAndRoundTrip() throws {
        struct BOS: Decodable { let adds_bos: Bool; let bos_id: Int32; let text: String; let ids_add_bos_true: [Int32] }
        let url = try XCTUnwrap(Bundle.module.url(forResource: "bos", withExtension: "json", subdirectory: "Fixtures"))
        let refs = try JSONDecoder().decode([String: BOS].self, from: Data(contentsOf: url))
        for (model, ref) in refs {
            let tok = try TokenizerModels.tokenizer(model)
            XCTAssertEqual(tok.addsBOSByDefault, ref.adds_bos)
            XCTAssertEqual(tok.bosID, ref.bos_id)
            XCTAssertEqual(tok.encode(ref.text, addBOS: tok.addsBOSByDefault, parseSpecial: false), ref.ids_add_bos_true)
            for text in ["a red circle to the left of a blue square", "naïve café — 日本語 🙂", "  two\tspaces\n"] {
                XCTAssertEqual(tok.decode(tok.encode(text, addBOS: false, parseSpecial: false)), text, model)
            }
            // A prompt that looks like a special token stays text.
            let plain = tok.encode("<|im_start|><bos>", addBOS: false, parseSpecial: false)
            XCTAssertFalse(plain.contains(tok.bosID))
        }
    }
}

/// `byteSpans`: each token of a plain-text encoding maps back onto the bytes it came from, for both
/// real tokenizers (different vocabularies, byte fallback, digits split one by one, runs of spaces),
/// which is what merges subword tokens into prompt words for the attention maps.
final class TokenizerByteSpanTests: XCTestCase {
    static let prompts = [
        "a red circle to the left of a blue square",
        " A RED,  circle… (left) of 3 stars — café!",
        "two   green triangles\tand 1234 hearts.",
        "naïve 日本語 emoji 🟥🔵 x-ray don't",
        "<|im_start|> <bos> literally",
        "",
    ]

    func check(_ id: String) throws {
        let tok = try TokenizerModels.tokenizer(id)
        for text in Self.prompts {
            let ids = tok.encode(text, addBOS: false, parseSpecial: false)
            let spans = tok.byteSpans(of: ids, in: text)
            let bytes = Array(text.utf8)
            XCTAssertEqual(spans.count, ids.count)
            // The spans tile the text in order: every byte belongs to exactly one token.
            var cursor = 0
            for (i, s) in spans.enumerated() {
                XCTAssertEqual(s.lowerBound, cursor, "\(id) \(text.debugDescription) token \(i)")
                cursor = s.upperBound
                // A token's own bytes are what it covers.
                XCTAssertEqual(Array(bytes[s]), tok.tokenBytes(ids[i]), "\(id) \(text.debugDescription) token \(i)")
            }
            XCTAssertEqual(cursor, bytes.count, "\(id) \(text.debugDescription)")
        }
        // After truncation the spans of the kept tokens are unchanged.
        let text = Self.prompts[1]
        let ids = tok.encode(text, addBOS: false, parseSpecial: false)
        XCTAssertEqual(tok.byteSpans(of: Array(ids.prefix(4)), in: text), Array(tok.byteSpans(of: ids, in: text).prefix(4)))
    }

    func testSmolLM2() throws { try check("smollm2") }
    func testGemma3() throws { try check("gemma3") }

    /// A byte the text lacks (here a leading space the tokenizer would add) covers nothing.
    func testInsertedBytesCoverNothing() throws {
        let tok = try TokenizerModels.tokenizer("gemma3")
        let ids = tok.encode(" red", addBOS: false, parseSpecial: false)
        let spans = tok.byteSpans(of: ids, in: "red")
        XCTAssertEqual(spans.last?.upperBound, 3)
        XCTAssertEqual(spans.first?.lowerBound, 0)
    }
}
