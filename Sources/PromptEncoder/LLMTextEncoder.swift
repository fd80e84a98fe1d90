import Foundation
import Kernels
import LLM
import Tokenizers
import ModelFiles

/// One frozen LLM used as a prompt encoder: template → tokens → hidden states of a chosen block.
///
/// The instruction prefix is the same for every prompt, and a causal LLM's states for it do not
/// depend on what follows, so its keys, values and hidden states are computed once and reused:
/// a prompt costs only its own tokens.
public final class LLMTextEncoder: @unchecked Sendable {
    public let id: String
    public let model: DecoderLM
    public let tokenizer: any Tokenizer
    public private(set) var template: InstructionTemplate
    /// HF `hidden_states` index: 0 = embeddings, k = output of block k, negative from the end.
    public var layer: Int
    /// Prompts longer than this many tokens are cut (with a warning).
    public var maxPromptTokens: Int

    private var prefixIDs: [Int32] = []
    private var promptLead = ""
    private var suffixIDs: [Int32] = []
    private var prefixCache: PrefixCache?
    private let lock = NSLock()

    public init(id: String, model: DecoderLM, tokenizer: any Tokenizer, template: InstructionTemplate,
                layer: Int = -3, maxPromptTokens: Int = 256) throws {
        self.id = id
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.layer = layer
        self.maxPromptTokens = maxPromptTokens
        try setTemplate(template)
    }

    public func setTemplate(_ newTemplate: InstructionTemplate) throws {
        lock.lock(); defer { lock.unlock() }
        let parts = try newTemplate.parts()
        template = newTemplate
        if newTemplate.enabled {
            prefixIDs = tokenizer.encode(parts.prefix, addBOS: false, parseSpecial: true)
            promptLead = parts.promptLead
            suffixIDs = parts.suffix.isEmpty ? [] : tokenizer.encode(parts.suffix, addBOS: false, parseSpecial: true)
        } else {
            prefixIDs = tokenizer.addsBOSByDefault ? [tokenizer.bosID] : []
            promptLead = ""
            suffixIDs = []
        }
        prefixCache = prefixIDs.isEmpty ? nil : model.makePrefixCache(prefixIDs)
    }

    /// Tokens of the instruction prefix (dropped after the refiners).
    public var instructionTokenCount: Int { prefixIDs.count }
    /// Template tokens after the prompt (the text after `{prompt}`; none in the default templates).
    public var suffixTokenCount: Int {
        lock.lock(); defer { lock.unlock() }
        return suffixIDs.count
    }

    /// Where each of the prompt's own tokens (`promptTokens(prompt).ids`) lies in `prompt`, as
    /// UTF-8 byte ranges of the prompt (the template's lead space, tokenized with the first word,
    /// is not part of the prompt and covers nothing).
    public func promptByteSpans(_ prompt: String) -> [Range<Int>] {
        let ids = promptTokens(prompt).ids
        let lead: Int = { lock.lock(); defer { lock.unlock() }; return promptLead.utf8.count }()
        return tokenizer.byteSpans(of: ids, in: String(repeating: " ", count: lead) + prompt).map {
            max(0, $0.lowerBound - lead)..<max(0, $0.upperBound - lead)
        }
    }

    public struct Encoding: Sendable {
        /// All tokens: instruction prefix, then the prompt (then any template suffix).
        public var tokens: [Int32]
        public var instructionTokenCount: Int
        /// [tokens.count, width], row-major.
        public var features: [Float]
        public var width: Int
        public var warnings: [String]
    }

    /// The prompt's own token ids (plain text: special-token strings stay text), truncated.
    public func promptTokens(_ prompt: String) -> (ids: [Int32], warning: String?) {
        let ids = prompt.isEmpty ? [] : tokenizer.encode(promptLead + prompt, addBOS: false, parseSpecial: false)
        guard ids.count > maxPromptTokens else { return (ids, nil) }
        return (Array(ids.prefix(maxPromptTokens)),
                "\(id): prompt is \(ids.count) tokens; kept the first \(maxPromptTokens)")
    }

    /// Hidden states for each prompt (batched with padding), prefix rows included.
    public func encode(_ prompts: [String], layer requested: Int? = nil, finalNorm: Bool = false) throws -> [Encoding] {
        lock.lock(); defer { lock.unlock() }
        let wantedLayer = requested ?? layer
        guard let resolved = model.resolveLayer(wantedLayer) else {
            throw PromptEncoderError("layer \(wantedLayer) is out of range for \(id) (0...\(model.config.blockCount), or -1...-\(model.config.blockCount + 1))")
        }
        let W = model.config.width
        var bodies: [[Int32]] = []
        var warnings: [[String]] = []
        for p in prompts {
            let (ids, warning) = promptTokens(p)
            bodies.append(ids + suffixIDs)
            warnings.append(warning.map { [$0] } ?? [])
        }
        let prefixRows: [Float] = prefixCache.map { $0.hidden[resolved] } ?? []
        var out: [Encoding] = []
        let nonEmpty = bodies.contains { !$0.isEmpty }
        let states = nonEmpty ? model.hiddenStates(batch: bodies, layers: [resolved], prefix: prefixCache) : nil
        for (i, body) in bodies.enumerated() {
            var features = prefixRows
            if let states, let h = states.layers[resolved] {
                let start = i * states.tokens * W
                features += h[start..<(start + body.count * W)]
            }
            if finalNorm && !features.isEmpty { features = model.finalNorm(features) }
            out.append(Encoding(tokens: prefixIDs + body, instructionTokenCount: prefixIDs.count,
                                features: features, width: W, warnings: warnings[i]))
        }
        return out
    }

    public func encode(_ prompt: String, layer: Int? = nil, finalNorm: Bool = false) throws -> Encoding {
        try encode([prompt], layer: layer, finalNorm: finalNorm)[0]
    }
}

extension LLMTextEncoder {
    /// Loads one of the known LLMs from the models folder with its default template.
    public static func load(_ id: String, store: ModelStore = ModelStore(), template: InstructionTemplate? = nil,
                            layer: Int = -3) throws -> LLMTextEncoder {
        guard let known = KnownModel.named(id) else {
            throw PromptEncoderError("unknown encoder '\(id)' (known: \(KnownModel.all.map(\.id).joined(separator: ", ")))")
        }
        let file = try GGUFFile(path: try store.require(known))
        let model = try DecoderLM.load(from: file)
        let tokenizer = try makeTokenizer(from: file)
        return try LLMTextEncoder(id: id, model: model, tokenizer: tokenizer,
                                  template: template ?? .default(for: id), layer: layer)
    }
}
