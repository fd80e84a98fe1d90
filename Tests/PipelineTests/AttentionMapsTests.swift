import XCTest
import Foundation
@testable import Diffusion
import ImageIO
import ModelFiles
import NeuralLayers
import PromptEncoder
import Kernels
import Sampling
@testable import Pipeline

/// Per-word attention maps: the arithmetic on hand-built captures, and the capture itself on a tiny
/// model whose cross-attention is known in closed form.
final class AttentionMapsTests: XCTestCase {
    // MARK: words

    func testPromptWordsSplitAtWhiteSpaceAndTrimPunctuation() {
        let prompt = "  A red,  circle… (left) of 3 stars — café! don't\tx-ray ..."
        let words = PromptWord.split(prompt)
        XCTAssertEqual(words.map(\.text), ["A", "red", "circle", "left", "of", "3", "stars", "café", "don't", "x-ray"])
        let bytes = Array(prompt.utf8)
        for w in words { XCTAssertEqual(String(decoding: bytes[w.bytes], as: UTF8.self), w.text) }
        XCTAssertEqual(PromptWord.split(""), [])
        XCTAssertEqual(PromptWord.split(" , . "), [])
    }

    // MARK: arithmetic on a known capture

    /// 2×2 patches over a 4×4 picture; words "red" "circle"; six columns of every kind.
    func knownMaps() -> AttentionMaps {
        let words = PromptWord.split("red circle.")
        let columns = [
            TextTokenColumn(branch: 0, role: .template),
            TextTokenColumn(branch: 0, role: .prompt(words: [0])),
            TextTokenColumn(branch: 0, role: .prompt(words: [1])),
            TextTokenColumn(branch: 0, role: .prompt(words: [])),        // "."
            TextTokenColumn(branch: 1, role: .prompt(words: [0])),
            TextTokenColumn(branch: 1, role: .prompt(words: [0, 1])),    // a token across both words
        ]
        // Step s, image token t, column k: a distinct value for every cell.
        var steps: [[Float]] = []
        for s in 0..<2 {
            var step: [Float] = []
            for t in 0..<4 { for k in 0..<6 { step.append(Float(1 + s * 100 + t * 10 + k)) } }
            steps.append(step)
        }
        return AttentionMaps(width: 4, height: 4, gridWidth: 2, gridHeight: 2, prompt: "red circle.", words: words,
                             branchNames: ["smollm2", "gemma3"], columns: columns, steps: steps)
    }

    func testWordMassIsTheSumOfItsTokensOverBranchesAndSteps() {
        let m = knownMaps()
        func cell(_ s: Int, _ t: Int, _ k: Int) -> Double { Double(1 + s * 100 + t * 10 + k) }
        for t in 0..<4 {
            let red = (0..<2).map { s in cell(s, t, 1) + cell(s, t, 4) + cell(s, t, 5) / 2 }.reduce(0, +)
            let circle = (0..<2).map { s in cell(s, t, 2) + cell(s, t, 5) / 2 }.reduce(0, +)
            XCTAssertEqual(m.wordPatchMass(0)[t], red, accuracy: 1e-9)
            XCTAssertEqual(m.wordPatchMass(1)[t], circle, accuracy: 1e-9)
            XCTAssertEqual(m.wordPatchMass(1, steps: 1..<2)[t], cell(1, t, 2) + cell(1, t, 5) / 2, accuracy: 1e-9)
        }
        // Nearest-neighbour upsampling: pixel (y, x) takes patch (y/2, x/2)'s mass / 4 pixels, over the total.
        let mass = m.wordPatchMass(1), total = mass.reduce(0, +)
        let map = m.wordMap(1)
        XCTAssertEqual(map.count, 16)
        XCTAssertEqual(Double(map.reduce(0, +)), 1, accuracy: 1e-6)
        for y in 0..<4 { for x in 0..<4 {
            XCTAssertEqual(Double(map[y * 4 + x]), mass[(y / 2) * 2 + x / 2] / total / 4, accuracy: 1e-7)
        } }
    }

    func testBranchAndTemplateShares() {
        let m = knownMaps()
        var per = [0.0, 0.0], template = 0.0, total = 0.0
        for s in 0..<2 { for t in 0..<4 { for k in 0..<6 {
            let v = Double(1 + s * 100 + t * 10 + k)
            per[k < 4 ? 0 : 1] += v; total += v
            if k == 0 { template += v }
        } } }
        let shares = m.branchShares()
        XCTAssertEqual(shares[0], per[0] / total, accuracy: 1e-12)
        XCTAssertEqual(shares[1], per[1] / total, accuracy: 1e-12)
        XCTAssertEqual(m.templateShare(), template / total, accuracy: 1e-12)
    }

    func testJSONHasTheDocumentedSchemaAndMapsSumToOne() throws {
        let m = knownMaps()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: m.json()) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["width", "height", "words", "branches", "template_share"])
        XCTAssertEqual(object["width"] as? Int, 4)
        XCTAssertEqual(object["height"] as? Int, 4)
        let words = try XCTUnwrap(object["words"] as? [[String: Any]])
        XCTAssertEqual(words.map { $0["word"] as? String }, ["red", "circle"])
        for w in words {
            XCTAssertEqual(Set(w.keys), ["word", "map"])
            let map = try XCTUnwrap(w["map"] as? [Double])
            XCTAssertEqual(map.count, 16)
            XCTAssertEqual(map.reduce(0, +), 1, accuracy: 1e-6)
        }
        XCTAssertEqual(Array(words[1]["map"] as! [Double]).map { Float($0) }, m.wordMap(1))
        let branches = try XCTUnwrap(object["branches"] as? [String: Double])
        XCTAssertEqual(Set(branches.keys), ["smollm2", "gemma3"])
        XCTAssertEqual(branches["smollm2"]! + branches["gemma3"]!, 1, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(object["template_share"] as? Double), m.templateShare(), accuracy: 1e-7)
        // Words with quotes and non-ASCII survive the JSON.
        var odd = m
        odd.words[0].text = "\"ré\\d\""
        let again = try XCTUnwrap(JSONSerialization.jsonObject(with: odd.json()) as? [String: Any])
        XCTAssertEqual((again["words"] as? [[String: Any]])?.first?["word"] as? String, "\"ré\\d\"")
    }

    func testSheetHasOneTilePerWordAfterThePicture() {
        let m = knownMaps()
        let picture = RGBImage(width: 4, height: 4, fill: 128)
        let sheet = m.sheet(picture: picture, scale: 2)
        // picture + 2 words, 8 px each at scale 2, plus margins and the row label.
        XCTAssertGreaterThanOrEqual(sheet.width, 3 * 8)
        XCTAssertGreaterThanOrEqual(sheet.height, 8)
        let overlay = AttentionMaps.overlay(m.wordMap(1), on: picture)
        // The hottest patch is the brightest in the overlay.
        let mass = m.wordPatchMass(1)
        let hot = mass.indices.max { mass[$0] < mass[$1] }!, cold = mass.indices.min { mass[$0] < mass[$1] }!
        func brightness(_ t: Int) -> Int {
            let i = ((t / 2) * 2 * 4 + (t % 2) * 2) * 3
            return Int(overlay.pixels[i]) + Int(overlay.pixels[i + 1]) + Int(overlay.pixels[i + 2])
        }
        XCTAssertGreaterThan(brightness(hot), brightness(cold))
    }

    // MARK: capture on a tiny model with known cross-attention

    static func encoders() throws -> [LLMTextEncoder] {
        let store = ModelStore()
        for id in ["smollm2", "gemma3"] {
            let known = KnownModel.named(id)!
            guard store.isPresent(known) else { throw XCTSkip("\(store.path(known)) is missing: run `lidit models fetch`") }
        }
        return try ["smollm2", "gemma3"].map { try LLMTextEncoder.load($0, store: store) }
    }

    /// Every cross-attention query projection is zeroed, so every logit is 0 and each image token
    /// attends uniformly to the conditional row's real text tokens: per head and block 1/K each,
    /// whatever the noise, the step or the other weights. The capture must then hold exactly
    /// steps × heads × blocks / K in every cell; padding (the negative prompt is longer, so the
    /// conditional rows are padded) and the unconditional rows must add nothing; the template
    /// tokens the model keeps (three fewer instruction tokens than smollm2's prefix) must be
    /// template columns.
    func testCaptureOnATinyModelWithUniformCrossAttention() throws {
        let encoders = try Self.encoders()
        let kept = 3
        var config = LIDiTConfig.standard(instructionTokens: [encoders[0].instructionTokenCount - kept, encoders[1].instructionTokenCount])
        config.imageSize = 16; config.patch = 4; config.width = 16; config.depth = 2; config.heads = 2; config.mlpRatio = 2
        config.refiner.width = 16; config.refiner.heads = 2; config.refiner.blocks = 1
        let model = LIDiTModel(config: config, seed: 7)
        for e in model.parameters.entries where e.name.hasPrefix("dit.blocks.") && e.name.contains(".cross_attn.q.") {
            XCTAssertTrue(model.parameters.setTensor(named: e.name, [Float](repeating: 0, count: e.count)))
        }
        let pipeline = ImagePipeline(model: model, encoders: encoders, layers: [-3, -3], modelID: "tiny")
        let prompt = "A RED,  circle… 3 stars — café!"
        var request = GenerationRequest(prompt: prompt)
        request.negativePrompt = "blurry, smeared, ugly, low quality, noisy, distorted, extra objects, watermark, text"
        request.sampler = SamplerSettings(sampler: .euler, steps: 3, shift: 1, guidanceScale: 4)
        let capture = AttentionCapture()
        var liveSteps: [Int] = []
        _ = try pipeline.generate(request, seeds: [1, 2], attention: capture) { step, _, _ in
            liveSteps.append(capture.maps[0].steps.count)
            return true
        }
        XCTAssertEqual(liveSteps, [1, 2, 3], "each step's attention is there when its callback runs")
        XCTAssertEqual(capture.maps.count, 2)
        let maps = capture.maps[0]
        let promptTokens = encoders.map { $0.promptTokens(prompt).ids.count }
        let K = kept + promptTokens[0] + promptTokens[1]
        XCTAssertEqual(maps.columns.count, K)
        XCTAssertEqual(maps.columns.filter { $0.role == .template }.count, kept)
        XCTAssertEqual(maps.columns.filter { $0.branch == 0 }.count, kept + promptTokens[0])
        let expected = 3.0 * 2 * 2 / Double(K)
        for m in capture.maps {
            XCTAssertEqual(m.steps.count, 3)
            for (i, v) in m.mass().enumerated() { XCTAssertEqual(v, expected, accuracy: 1e-4, "cell \(i)") }
        }
        XCTAssertEqual(maps.branchShares()[0], Double(kept + promptTokens[0]) / Double(K), accuracy: 1e-6)
        XCTAssertEqual(maps.branchShares()[1], Double(promptTokens[1]) / Double(K), accuracy: 1e-6)
        XCTAssertEqual(maps.templateShare(), Double(kept) / Double(K), accuracy: 1e-6)
        // Word merging through both tokenizers' byte offsets: every word has tokens in both
        // branches, each covering part of the word's bytes, and the word's mass counts them.
        XCTAssertEqual(maps.words.map(\.text), ["A", "RED", "circle", "3", "stars", "café"])
        for (w, word) in maps.words.enumerated() {
            var tokens = 0.0
            for a in 0..<2 {
                let mine = maps.columns.filter { $0.branch == a }.compactMap { c -> [Int]? in
                    if case .prompt(let ws) = c.role, ws.contains(w) { return ws } else { return nil }
                }
                XCTAssertFalse(mine.isEmpty, "\(word.text) has no \(maps.branchNames[a]) token")
                tokens += mine.map { 1 / Double($0.count) }.reduce(0, +)
            }
            for t in 0..<maps.imageTokens { XCTAssertEqual(maps.wordPatchMass(w)[t], tokens * expected, accuracy: 1e-4) }
            let map = maps.wordMap(w)
            XCTAssertEqual(map.count, 16 * 16)
            for v in map { XCTAssertEqual(v, 1 / 256, accuracy: 1e-6) }
        }
    }

    /// Random weights (non-uniform attention): the captured step must equal a naive recomputation,
    /// in Double, of every block's cross-attention softmax(q·kᵀ/√d) from the block's own input
    /// (the modulated LN it feeds the attention), the text tokens Y and the weights — q and k
    /// projections, per-head QK RMSNorm, the key mask — summed over heads and blocks, with Y's
    /// columns mapped to the captured ones (no template tokens, no padding: guidance 1).
    func testCaptureEqualsANaiveRecomputationOfTheCrossAttention() throws {
        let encoders = try Self.encoders()
        var config = LIDiTConfig.standard(instructionTokens: encoders.map(\.instructionTokenCount))
        config.imageSize = 8; config.patch = 2; config.width = 16; config.depth = 2; config.heads = 2; config.mlpRatio = 2
        config.refiner.width = 16; config.refiner.heads = 2; config.refiner.blocks = 1
        let model = LIDiTModel(config: config, seed: 11)
        // Non-trivial adaLN so that the attention's input differs from a plain LayerNorm.
        for e in model.parameters.entries where e.name.hasSuffix(".adaLN.weight") {
            let g = RandomGenerator(seed: UInt64(e.offset))
            _ = model.parameters.setTensor(named: e.name, g.normals(count: e.count).map { $0 * 0.05 })
        }
        let pipeline = ImagePipeline(model: model, encoders: encoders, layers: [-3, -3], modelID: "tiny")
        var request = GenerationRequest(prompt: "a green heart, left of two stars")
        request.sampler = SamplerSettings(sampler: .euler, steps: 1, shift: 1, guidanceScale: 1)
        let capture = AttentionCapture()
        _ = try pipeline.generate(request, seeds: [9], attention: capture)
        let maps = capture.maps[0]
        XCTAssertEqual(maps.steps.count, 1)
        // The model's buffers for row 0 still hold that one forward pass.
        let ws = model.lastWorkspace(row: 0).network
        let net = model.network, p = model.parameters
        let (T, S, d, H) = (net.tokens, ws.textTokens, config.width, config.heads)
        let hd = d / H, dy = config.refiner.width
        XCTAssertEqual(S, maps.columns.count, "no padding or template columns at guidance 1 with the trained template")
        let y = model.lastWorkspace(row: 0).encoder.y
        let yMask = model.lastWorkspace(row: 0).encoder.yMask
        var expected = [Double](repeating: 0, count: T * S)
        for (i, block) in net.blocks.enumerated() {
            let m = ws.blocks[i].crossSub.m
            let att = block.crossAttention
            let wq = p.value(att.q.weight), bq = p.value(att.q.bias!), wk = p.value(att.k.weight), bk = p.value(att.k.bias!)
            let gq = p.value(att.qNorm!.weight), gk = p.value(att.kNorm!.weight)
            func rmsNorm(_ v: [Double], _ g: UnsafeMutablePointer<Float>) -> [Double] {
                let r = 1 / ((v.reduce(0) { $0 + $1 * $1 } / Double(v.count)) + 1e-6).squareRoot()
                return v.enumerated().map { $1 * r * Double(g[$0]) }
            }
            for h in 0..<H {
                let keys: [[Double]] = (0..<S).map { s in
                    rmsNorm((0..<hd).map { j in
                        let o = h * hd + j
                        return Double(bk[o]) + (0..<dy).reduce(0.0) { $0 + Double(wk[o * dy + $1]) * Double(y[s * dy + $1]) }
                    }, gk)
                }
                for t in 0..<T {
                    let q = rmsNorm((0..<hd).map { j in
                        let o = h * hd + j
                        return Double(bq[o]) + (0..<d).reduce(0.0) { $0 + Double(wq[o * d + $1]) * Double(m[t * d + $1]) }
                    }, gq)
                    let logits = (0..<S).map { s in yMask[s] == 0 ? -Double.infinity : zip(q, keys[s]).reduce(0.0) { $0 + $1.0 * $1.1 } / Double(hd).squareRoot() }
                    let top = logits.max()!
                    let e = logits.map { exp($0 - top) }
                    let z = e.reduce(0, +)
                    for s in 0..<S { expected[t * S + s] += e[s] / z }
                }
            }
        }
        let captured = maps.mass()
        for i in 0..<(T * S) { XCTAssertEqual(captured[i], expected[i], accuracy: 2e-3, "image token \(i / S), text token \(i % S)") }
        // Not uniform: the check above has teeth.
        XCTAssertGreaterThan((expected.max() ?? 0) - (expected.min() ?? 0), 0.05)
    }

    /// Fusion weight 0 masks a branch's tokens out of Y: its share must be 0 and the other's 1.
    func testASwitchedOffBranchGetsNoAttention() throws {
        let encoders = try Self.encoders()
        var config = LIDiTConfig.standard(instructionTokens: encoders.map(\.instructionTokenCount))
        config.imageSize = 8; config.patch = 4; config.width = 16; config.depth = 1; config.heads = 2; config.mlpRatio = 2
        config.refiner.width = 16; config.refiner.heads = 2; config.refiner.blocks = 1
        let pipeline = ImagePipeline(model: LIDiTModel(config: config, seed: 3), encoders: encoders, layers: [-3, -3], modelID: "tiny")
        var request = GenerationRequest(prompt: "a blue square")
        request.sampler = SamplerSettings(sampler: .heun, steps: 2, shift: 1, guidanceScale: 1)
        request.fusionWeights = [1, 0]
        let capture = AttentionCapture()
        _ = try pipeline.generate(request, seeds: [5], attention: capture)
        let maps = capture.maps[0]
        XCTAssertEqual(maps.steps.count, 2)
        XCTAssertEqual(maps.branchShares()[0], 1, accuracy: 1e-6)
        XCTAssertEqual(maps.branchShares()[1], 0, accuracy: 1e-12)
        // Heun: up to two model calls per step, each adding heads × blocks per image token.
        let total = maps.mass().reduce(0, +)
        XCTAssertGreaterThanOrEqual(total, 2.0 * 2 * 1 * 4 - 1e-3)
    }
}
