import Foundation
import Kernels

/// One transformer block's weights, dequantized to Float32 at load. Matrices are [out, in]
/// row-major (the GGUF layout), used as y = x·Wᵀ.
public struct DecoderBlockWeights {
    public var attentionNorm: [Float]
    public var query: [Float], key: [Float], value: [Float], output: [Float]
    public var ffnNorm: [Float]
    public var gate: [Float], up: [Float], down: [Float]
    // Gemma 3 only
    public var queryNorm: [Float]?
    public var keyNorm: [Float]?
    public var postAttentionNorm: [Float]?
    public var postFFNNorm: [Float]?

    public init(attentionNorm: [Float], query: [Float], key: [Float], value: [Float], output: [Float],
                ffnNorm: [Float], gate: [Float], up: [Float], down: [Float],
                queryNorm: [Float]? = nil, keyNorm: [Float]? = nil, postAttentionNorm: [Float]? = nil, postFFNNorm: [Float]? = nil) {
        self.attentionNorm = attentionNorm; self.query = query; self.key = key; self.value = value; self.output = output
        self.ffnNorm = ffnNorm; self.gate = gate; self.up = up; self.down = down
        self.queryNorm = queryNorm; self.keyNorm = keyNorm; self.postAttentionNorm = postAttentionNorm; self.postFFNNorm = postFFNNorm
    }
}

/// The token-embedding table. Gemma's is 262144×640: kept quantized (memory-mapped) and
/// dequantized a row at a time for the tokens actually used.
public protocol EmbeddingTable: Sendable {
    var rowCount: Int { get }
    var width: Int { get }
    func row(_ id: Int, into out: UnsafeMutablePointer<Float>)
}

/// Keys and values of a fixed token prefix (e.g. the instruction template), after RoPE and
/// norms, for every block: a new prompt then costs only its own tokens.
public struct PrefixCache: Sendable {
    public let tokens: [Int32]
    /// Per block: [tokens, kvHeads·headDim].
    public let keys: [[Float]]
    public let values: [[Float]]
    /// Hidden states of the prefix for every layer index 0...blockCount (HF indexing), so that
    /// callers asking for the full sequence's states can have them.
    public let hidden: [[Float]]
    public var count: Int { tokens.count }
}

/// Output of a forward pass: the requested layers' hidden states, each [batch, tokens, width].
public struct HiddenStates: Sendable {
    public let batch: Int
    public let tokens: Int
    public let width: Int
    public var layers: [Int: [Float]]
    /// Real (unpadded) length of each batch row.
    public let lengths: [Int]
}

/// A decoder-only LLM (llama or gemma3 architecture) run in Float32 on the CPU.
/// Equations follow llama.cpp's graphs for these architectures (`src/models/llama.cpp` and
/// `src/models/gemma3.cpp` at llama.cpp 0c1e57098, as vendored in llama-cpp-python 0.3.36);
/// `scripts/fixtures/ref_forward.py` is the same math in numpy.
public final class DecoderLM: @unchecked Sendable {
    public let config: DecoderConfig
    public let blocks: [DecoderBlockWeights]
    public let outputNorm: [Float]
    public let embeddings: EmbeddingTable

    public init(config: DecoderConfig, blocks: [DecoderBlockWeights], outputNorm: [Float], embeddings: EmbeddingTable) {
        precondition(blocks.count == config.blockCount)
        self.config = config
        self.blocks = blocks
        self.outputNorm = outputNorm
        self.embeddings = embeddings
    }

    /// Resolves HF-style layer indices: 0 = embeddings, k = output of block k, negative from the end.
    public func resolveLayer(_ layer: Int) -> Int? {
        let n = config.blockCount
        let resolved = layer < 0 ? n + 1 + layer : layer
        return (0...n).contains(resolved) ? resolved : nil
    }

    /// Runs the prefix alone and keeps its keys, values and hidden states.
    public func makePrefixCache(_ tokens: [Int32]) -> PrefixCache {
        var keys: [[Float]] = [], values: [[Float]] = [], hidden: [[Float]] = []
        _ = run(batch: [tokens], prefix: nil, wanted: Set(0...config.blockCount)) { layer, k, v in
            keys.append(k); values.append(v)
        } hiddenSink: { _, h in hidden.append(h) }
        return PrefixCache(tokens: tokens, keys: keys, values: values, hidden: hidden)
    }

    /// Hidden states for a batch of token sequences (right-padded internally), continuing after
    /// `prefix` when given. Returned states cover only the new tokens; `layers` uses HF indexing.
    public func hiddenStates(batch: [[Int32]], layers: [Int], prefix: PrefixCache? = nil) -> HiddenStates {
        let wanted = Set(layers.compactMap(resolveLayer))
        return run(batch: batch, prefix: prefix, wanted: wanted, kvSink: nil, hiddenSink: nil)
    }

    /// Final norm, then the tied LM head: logits over the vocabulary for one hidden row
    /// (taken from the last block's output, before the final norm).
    public func logits(lastBlockOutput h: [Float]) -> [Float] {
        let w = config.width
        var normed = [Float](repeating: 0, count: w)
        rmsNorm(h, rows: 1, dim: w, weight: outputNorm, eps: config.normEpsilon, into: &normed)
        var out = [Float](repeating: 0, count: config.vocabularySize)
        let table = embeddings
        out.withUnsafeMutableBufferPointer { o in
            let base = o.baseAddress!
            Parallel.forEachChunk(config.vocabularySize, minChunk: 1024) { range in
                var row = [Float](repeating: 0, count: w)
                row.withUnsafeMutableBufferPointer { r in
                    for id in range {
                        table.row(id, into: r.baseAddress!)
                        base[id] = dot(r.baseAddress!, normed, count: w)
                    }
                }
            }
        }
        return out
    }

    // MARK: - forward

    private func run(
        batch: [[Int32]], prefix: PrefixCache?, wanted: Set<Int>,
        kvSink: ((Int, [Float], [Float]) -> Void)?,
        hiddenSink: ((Int, [Float]) -> Void)?
    ) -> HiddenStates {
        let c = config
        let B = batch.count
        let T = max(1, batch.map(\.count).max() ?? 1)
        let P = prefix?.count ?? 0
        let S = P + T
        let rows = B * T
        let (W, H, Hkv, D) = (c.width, c.headCount, c.kvHeadCount, c.headDim)
        let lengths = batch.map(\.count)

        var x = [Float](repeating: 0, count: rows * W)
        x.withUnsafeMutableBufferPointer { xp in
            for b in 0..<B {
                for t in 0..<T {
                    let dst = xp.baseAddress! + (b * T + t) * W
                    if t < batch[b].count {
                        let id = Int(batch[b][t])
                        precondition(id >= 0 && id < embeddings.rowCount, "token id \(id) out of range")
                        embeddings.row(id, into: dst)
                        if c.embeddingScale != 1 { scale(dst, by: c.embeddingScale, into: dst, count: W) }
                    }
                }
            }
        }

        var out: [Int: [Float]] = [:]
        if wanted.contains(0) { out[0] = x }
        hiddenSink?(0, x)

        // Key validity over prefix + new tokens: padding never attended to.
        var keyValid = [UInt8](repeating: 1, count: B * S)
        for b in 0..<B { for t in lengths[b]..<T { keyValid[b * S + P + t] = 0 } }
        let positions = (0..<rows).map { P + $0 % T }

        var normed = [Float](repeating: 0, count: rows * W)
        var q = [Float](repeating: 0, count: rows * H * D)
        var kNew = [Float](repeating: 0, count: rows * Hkv * D)
        var vNew = kNew
        var kAll = [Float](repeating: 0, count: B * S * Hkv * D)
        var vAll = kAll
        var attn = [Float](repeating: 0, count: rows * H * D)
        var probabilities = [Float](repeating: 0, count: B * H * T * S)
        var proj = [Float](repeating: 0, count: rows * W)
        var gate = [Float](repeating: 0, count: rows * c.ffnWidth)
        var up = gate
        let lastWanted = wanted.max() ?? 0
        let lastLayer = kvSink != nil || hiddenSink != nil ? c.blockCount : lastWanted

        // RoPE tables once per run: global blocks and (Gemma) sliding-window blocks each share one.
        let ropeLayout: RotaryEmbedding.Layout = c.architecture == .llama ? .adjacentPairs : .rotateHalf
        let globalRope = RotaryEmbedding(base: c.ropeBase, dimensions: D, layout: ropeLayout)
        let localRope = RotaryEmbedding(base: c.localRopeBase, dimensions: D, layout: ropeLayout)
        let globalTable = globalRope.table(positions: positions)
        let localTable = (0..<c.blockCount).contains(where: c.isLocal) ? localRope.table(positions: positions) : globalTable

        for (il, blk) in blocks.enumerated() where il < lastLayer {
            let local = c.isLocal(layer: il)
            let rope = local ? localRope : globalRope, ropeTable = local ? localTable : globalTable
            // attention
            rmsNorm(x, rows: rows, dim: W, weight: blk.attentionNorm, eps: c.normEpsilon, into: &normed)
            linear(normed, rows: rows, inFeatures: W, weight: blk.query, outFeatures: H * D, into: &q)
            linear(normed, rows: rows, inFeatures: W, weight: blk.key, outFeatures: Hkv * D, into: &kNew)
            linear(normed, rows: rows, inFeatures: W, weight: blk.value, outFeatures: Hkv * D, into: &vNew)
            if let qn = blk.queryNorm, let kn = blk.keyNorm {
                q.withUnsafeMutableBufferPointer { rmsNorm($0.baseAddress!, rows: rows * H, dim: D, weight: qn, eps: c.normEpsilon, into: $0.baseAddress!) }
                kNew.withUnsafeMutableBufferPointer { rmsNorm($0.baseAddress!, rows: rows * Hkv, dim: D, weight: kn, eps: c.normEpsilon, into: $0.baseAddress!) }
            }
            rope.apply(&q, tokens: rows, heads: H, headDim: D, table: ropeTable)
            rope.apply(&kNew, tokens: rows, heads: Hkv, headDim: D, table: ropeTable)
            kvSink?(il, kNew, vNew)
            let kvRow = Hkv * D
            for b in 0..<B {
                kAll.withUnsafeMutableBufferPointer { ka in
                    vAll.withUnsafeMutableBufferPointer { va in
                        let kb = ka.baseAddress! + b * S * kvRow, vb = va.baseAddress! + b * S * kvRow
                        if let prefix {
                            kb.update(from: prefix.keys[il], count: P * kvRow)
                            vb.update(from: prefix.values[il], count: P * kvRow)
                        }
                        kNew.withUnsafeBufferPointer { (kb + P * kvRow).update(from: $0.baseAddress! + b * T * kvRow, count: T * kvRow) }
                        vNew.withUnsafeBufferPointer { (vb + P * kvRow).update(from: $0.baseAddress! + b * T * kvRow, count: T * kvRow) }
                    }
                }
            }
            let kind: AttentionMask.Kind = local ? .slidingWindow(c.slidingWindow!) : .causal
            keyValid.withUnsafeBufferPointer { kv in
                multiHeadAttention(q: q, k: kAll, v: vAll, out: &attn,
                                   shape: AttentionShape(batch: B, queries: T, keys: S, heads: H, kvHeads: Hkv, headDim: D),
                                   scale: c.attentionScale, mask: AttentionMask(kind, queryOffset: P, keyValid: kv.baseAddress),
                                   probabilities: &probabilities)
            }
            linear(attn, rows: rows, inFeatures: H * D, weight: blk.output, outFeatures: W, into: &proj)
            if let post = blk.postAttentionNorm {
                proj.withUnsafeMutableBufferPointer { rmsNorm($0.baseAddress!, rows: rows, dim: W, weight: post, eps: c.normEpsilon, into: $0.baseAddress!) }
            }
            x.withUnsafeMutableBufferPointer { add($0.baseAddress!, proj, into: $0.baseAddress!, count: rows * W) }

            // feed-forward: down(act(gate) ⊙ up)
            rmsNorm(x, rows: rows, dim: W, weight: blk.ffnNorm, eps: c.normEpsilon, into: &normed)
            linear(normed, rows: rows, inFeatures: W, weight: blk.gate, outFeatures: c.ffnWidth, into: &gate)
            linear(normed, rows: rows, inFeatures: W, weight: blk.up, outFeatures: c.ffnWidth, into: &up)
            gate.withUnsafeMutableBufferPointer { g in
                let n = rows * c.ffnWidth
                Parallel.forEachChunk(n, minChunk: 16_384) { r in
                    let p = g.baseAddress! + r.lowerBound
                    if c.architecture == .gemma3 { geluTanh(p, into: p, count: r.count) } else { silu(p, into: p, count: r.count) }
                }
            }
            gate.withUnsafeMutableBufferPointer { multiply($0.baseAddress!, up, into: $0.baseAddress!, count: rows * c.ffnWidth) }
            linear(gate, rows: rows, inFeatures: c.ffnWidth, weight: blk.down, outFeatures: W, into: &proj)
            if let post = blk.postFFNNorm {
                proj.withUnsafeMutableBufferPointer { rmsNorm($0.baseAddress!, rows: rows, dim: W, weight: post, eps: c.normEpsilon, into: $0.baseAddress!) }
            }
            x.withUnsafeMutableBufferPointer { add($0.baseAddress!, proj, into: $0.baseAddress!, count: rows * W) }

            if wanted.contains(il + 1) { out[il + 1] = x }
            hiddenSink?(il + 1, x)
        }
        return HiddenStates(batch: B, tokens: T, width: W, layers: out, lengths: lengths)
    }

    /// The model's final norm applied to hidden rows ([rows, width]).
    public func finalNorm(_ h: [Float]) -> [Float] {
        var out = h
        rmsNorm(h, rows: h.count / config.width, dim: config.width, weight: outputNorm, eps: config.normEpsilon, into: &out)
        return out
    }
}
