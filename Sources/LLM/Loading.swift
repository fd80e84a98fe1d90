import Foundation

/// What the LLM loader needs from a model file; GGUF provides it (see GGUFWeightFile.swift).
public protocol LLMWeightFile {
    func metadataInt(_ key: String) -> Int?
    func metadataFloat(_ key: String) -> Float?
    func metadataString(_ key: String) -> String?
    /// ne order as stored (ne[0] = the contiguous, input dimension).
    func tensorShape(_ name: String) -> [Int]?
    /// The whole tensor dequantized to Float32.
    func dequantizedTensor(_ name: String) throws -> [Float]
    /// A row-addressable table kept in its stored (quantized) form.
    func embeddingTable(_ name: String) throws -> EmbeddingTable
}

public struct LLMLoadError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension DecoderLM {
    /// Reads the configuration from metadata and dequantizes every block weight once.
    public static func load(from file: LLMWeightFile) throws -> DecoderLM {
        guard let archName = file.metadataString("general.architecture"),
              let arch = DecoderConfig.Architecture(rawValue: archName) else {
            throw LLMLoadError("unsupported architecture '\(file.metadataString("general.architecture") ?? "none")' (supported: llama, gemma3)")
        }
        let p = archName
        func int(_ key: String) throws -> Int {
            guard let v = file.metadataInt("\(p).\(key)"), v > 0, v < 1 << 24 else {
                throw LLMLoadError("missing or invalid metadata \(p).\(key)")
            }
            return v
        }
        let width = try int("embedding_length")
        let heads = try int("attention.head_count")
        // Optional keys are range-checked too: a zero would be divided by (`%` below), a huge one
        // would overflow the widths computed from it.
        func optionalInt(_ key: String, _ fallback: Int) throws -> Int {
            guard let v = file.metadataInt("\(p).\(key)") else { return fallback }
            guard v > 0, v < 1 << 24 else { throw LLMLoadError("invalid metadata \(p).\(key) \(v)") }
            return v
        }
        let headDim = try optionalInt("attention.key_length", width / heads)
        let kvHeads = try optionalInt("attention.head_count_kv", heads)
        guard let embShape = file.tensorShape("token_embd.weight"), embShape.count == 2, embShape[0] == width else {
            throw LLMLoadError("token_embd.weight missing or not [\(width), vocab]")
        }
        let config = DecoderConfig(
            architecture: arch,
            blockCount: try int("block_count"),
            width: width,
            headCount: heads,
            kvHeadCount: kvHeads,
            headDim: headDim,
            ffnWidth: try int("feed_forward_length"),
            normEpsilon: file.metadataFloat("\(p).attention.layer_norm_rms_epsilon") ?? 1e-6,
            vocabularySize: embShape[1],
            contextLength: file.metadataInt("\(p).context_length") ?? 2048,
            ropeBase: file.metadataFloat("\(p).rope.freq_base") ?? 10_000,
            // llama.cpp's default when the key is absent (llama-hparams.h rope_freq_base_train_swa)
            localRopeBase: file.metadataFloat("\(p).rope.freq_base_swa") ?? 10_000,
            slidingWindow: arch == .gemma3 ? file.metadataInt("\(p).attention.sliding_window") : nil,
            slidingWindowPattern: 6)
        guard config.headCount % config.kvHeadCount == 0 else { throw LLMLoadError("head counts \(heads)/\(config.kvHeadCount) are not grouped-query compatible") }

        func tensor(_ name: String, _ expected: [Int]) throws -> [Float] {
            guard let shape = file.tensorShape(name) else { throw LLMLoadError("tensor \(name) missing") }
            guard shape == expected else { throw LLMLoadError("tensor \(name) has shape \(shape), expected \(expected)") }
            return try file.dequantizedTensor(name)
        }
        var blocks: [DecoderBlockWeights] = []
        let (W, Q, KV, F, D) = (width, config.queryWidth, config.kvWidth, config.ffnWidth, headDim)
        for i in 0..<config.blockCount {
            let b = "blk.\(i)."
            var block = DecoderBlockWeights(
                attentionNorm: try tensor(b + "attn_norm.weight", [W]),
                query: try tensor(b + "attn_q.weight", [W, Q]),
                key: try tensor(b + "attn_k.weight", [W, KV]),
                value: try tensor(b + "attn_v.weight", [W, KV]),
                output: try tensor(b + "attn_output.weight", [Q, W]),
                ffnNorm: try tensor(b + "ffn_norm.weight", [W]),
                gate: try tensor(b + "ffn_gate.weight", [W, F]),
                up: try tensor(b + "ffn_up.weight", [W, F]),
                down: try tensor(b + "ffn_down.weight", [F, W]))
            if arch == .gemma3 {
                block.queryNorm = try tensor(b + "attn_q_norm.weight", [D])
                block.keyNorm = try tensor(b + "attn_k_norm.weight", [D])
                block.postAttentionNorm = try tensor(b + "post_attention_norm.weight", [W])
                block.postFFNNorm = try tensor(b + "post_ffw_norm.weight", [W])
            }
            blocks.append(block)
        }
        return DecoderLM(config: config, blocks: blocks,
                         outputNorm: try tensor("output_norm.weight", [W]),
                         embeddings: try file.embeddingTable("token_embd.weight"))
    }
}
