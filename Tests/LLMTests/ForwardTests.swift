import XCTest
import Foundation
import Kernels
import ModelFiles
@testable import LLM

/// Models are loaded once per test run; tests skip (with a message) when the files are absent.
enum TestModels {
    nonisolated(unsafe) static var loaded: [String: (GGUFFile, DecoderLM)] = [:]
    static let lock = NSLock()

    static func model(_ id: String) throws -> (GGUFFile, DecoderLM) {
        lock.lock(); defer { lock.unlock() }
        if let m = loaded[id] { return m }
        let store = ModelStore(), known = KnownModel.named(id)!
        let path = store.path(known)
        guard store.isPresent(known) else {
            throw XCTSkip("\(path) is missing: run `lidit models fetch` (CI does)")
        }
        let file = try GGUFFile(path: path)
        let m = (file, try DecoderLM.load(from: file))
        loaded[id] = m
        return m
    }
}

/// Hidden states against the float reference (numpy on gguf-py-dequantized weights,
/// scripts/fixtures/make_llm_fixtures.py).
final class ForwardTests: XCTestCase {
    struct LayerRef: Decodable {
        let shape: [Int]
        let first64_f32: [[Float]]
        let row_norms: [Float]
        let last_row: [Float]
    }
    struct Fixture: Decodable {
        let model: String
        let text: String
        let ids: [Int32]
        let layers: [String: LayerRef]
        let final_norm: LayerRef
        let top5_next: [[Double]]
        let llamacpp_top1: [Double]?
    }

    func fixtures(_ model: String) throws -> [Fixture] {
        try (1...5).map { k in
            let url = try XCTUnwrap(Bundle.module.url(forResource: "\(model)-\(k)", withExtension: "json", subdirectory: "Fixtures"))
            return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        }
    }

    /// Per token: the first 64 channels within `abs` or the row's cosine-like agreement via its norm.
    func compare(_ got: [Float], width: Int, _ ref: LayerRef, _ label: String) -> Float {
        let T = ref.shape[0]
        XCTAssertEqual(got.count, T * width, label)
        var worst: Float = 0
        for t in 0..<T {
            let row = Array(got[(t * width)..<((t + 1) * width)])
            let scale = max(1, ref.row_norms[t] / Float(width).squareRoot())
            for i in 0..<64 { worst = max(worst, abs(row[i] - ref.first64_f32[t][i]) / scale) }
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertEqual(norm, ref.row_norms[t], accuracy: 2e-4 * max(1, ref.row_norms[t]), "\(label) token \(t) norm")
        }
        let last = Array(got[((T - 1) * width)...])
        let dotp = zip(last, ref.last_row).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let cos = dotp / (Double(last.reduce(0) { $0 + $1 * $1 }).squareRoot() * Double(ref.last_row.reduce(0) { $0 + $1 * $1 }).squareRoot())
        XCTAssertGreaterThan(cos, 0.99999, "\(label) last-row cosine")
        return worst
    }

    func runModel(_ id: String) throws {
        let (_, lm) = try TestModels.model(id)
        var report: [String] = []
        for fx in try fixtures(id) {
            let layers = fx.layers.keys.compactMap(Int.init).sorted()
            let h = lm.hiddenStates(batch: [fx.ids], layers: layers)
            for l in layers {
                let worst = compare(h.layers[l]!, width: lm.config.width, fx.layers[String(l)]!, "\(id) '\(fx.text.prefix(20))' layer \(l)")
                // 1e-3 absolute, measured relative to the row's RMS when activations are large.
                XCTAssertLessThan(worst, 1e-3, "\(id) layer \(l)")
                report.append(String(format: "L%d %.1e", l, worst))
            }
            let lastBlock = h.layers[lm.config.blockCount] ?? lm.hiddenStates(batch: [fx.ids], layers: [lm.config.blockCount]).layers[lm.config.blockCount]!
            let normed = lm.finalNorm(lastBlock)
            _ = compare(normed, width: lm.config.width, fx.final_norm, "\(id) final norm")
            let T = fx.ids.count, W = lm.config.width
            let logits = lm.logits(lastBlockOutput: Array(lastBlock[((T - 1) * W)...]))
            let top = logits.indices.max { logits[$0] < logits[$1] }!
            XCTAssertEqual(top, Int(fx.top5_next[0][0]), "\(id) top-1 next token for '\(fx.text.prefix(30))'")
            XCTAssertEqual(Double(logits[top]), fx.top5_next[0][1], accuracy: 1e-2)
            if let lc = fx.llamacpp_top1 { XCTAssertEqual(top, Int(lc[0]), "top-1 differs from llama.cpp") }
        }
        print("\(id) worst first-64 deviation per layer: \(report.joined(separator: ", "))")
    }

    func testSmolLM2MatchesFloatReference() throws { try runModel("smollm2") }
    func testGemma3MatchesFloatReference() throws { try runModel("gemma3") }

    func testBatchingWithPaddingAndPrefixCacheMatchSingles() throws {
        for id in ["smollm2", "gemma3"] {
            let (_, lm) = try TestModels.model(id)
            let a: [Int32] = [1, 81, 2382, 7842, 288, 260, 2049].map { id == "gemma3" ? $0 + 500 : $0 }
            let b: [Int32] = Array(a.prefix(3))
            let layer = lm.config.blockCount - 2
            let single = lm.hiddenStates(batch: [a], layers: [layer]).layers[layer]!
            let singleB = lm.hiddenStates(batch: [b], layers: [layer]).layers[layer]!
            let both = lm.hiddenStates(batch: [a, b], layers: [layer])
            let W = lm.config.width, T = both.tokens
            let rowA = Array(both.layers[layer]![0..<(a.count * W)])
            let rowB = Array(both.layers[layer]![(T * W)..<(T * W + b.count * W)])
            // Different row counts take different GEMM paths: equal up to float rounding, measured
            // against each row's RMS (a padding leak would be off by O(1) of it).
            func close(_ x: [Float], _ y: [Float], _ label: String) {
                for t in 0..<(x.count / W) {
                    let r = Array(y[(t * W)..<((t + 1) * W)])
                    let rms = (r.reduce(0) { $0 + $1 * $1 } / Float(W)).squareRoot()
                    let worst = (0..<W).map { abs(x[t * W + $0] - r[$0]) }.max()!
                    XCTAssertLessThan(worst, 1e-4 * max(1, rms), "\(id) \(label) token \(t)")
                }
            }
            close(rowA, Array(single[0..<rowA.count]), "batched long row")
            close(rowB, singleB, "batched padded row")
            // A cached prefix gives the same states for the rest of the sequence.
            let cache = lm.makePrefixCache(Array(a.prefix(4)))
            let rest = lm.hiddenStates(batch: [Array(a.dropFirst(4))], layers: [layer], prefix: cache).layers[layer]!
            close(rest, Array(single[(4 * W)...]), "after cached prefix")
            XCTAssertEqual(cache.hidden[layer], Array(single[0..<(4 * W)]))
        }
    }
}
