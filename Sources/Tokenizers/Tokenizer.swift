import ModelFiles

/// Text ↔ token ids for one LLM, built from its GGUF metadata alone.
///
/// User text never becomes special tokens unless `parseSpecial` is true: a prompt that contains
/// `<|im_start|>` or `<bos>` is tokenized as the characters it shows.
public protocol Tokenizer: Sendable {
    func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32]
    func decode(_ ids: [Int32]) -> String
    var bosID: Int32 { get }
    var eosID: Int32 { get }
    /// Whether the model expects BOS in front of plain text (`tokenizer.ggml.add_bos_token`).
    var addsBOSByDefault: Bool { get }
    var vocabularySize: Int { get }
    func tokenText(_ id: Int32) -> String
    /// The bytes token `id` stands for in text (byte tokens: their one byte; SentencePiece's "▁": a
    /// space), so that a token sequence maps back onto the text it came from (`byteSpans`).
    func tokenBytes(_ id: Int32) -> [UInt8]
}

extension Tokenizer {
    /// Where each token of `ids` lies in `text`, as half-open UTF-8 byte ranges, for ids that
    /// `encode(text, addBOS: false, parseSpecial: false)` gave (or a prefix of them, after
    /// truncation). Tokens are laid end to end along the text; a token byte that the text does
    /// not have at that point (SentencePiece's optional leading "▁", a BOS) is taken as inserted
    /// by the tokenizer and covers nothing, so a span can be empty. Attention maps use these
    /// spans to merge subword tokens back into the prompt's words.
    public func byteSpans(of ids: [Int32], in text: String) -> [Range<Int>] {
        let source = Array(text.utf8)
        var cursor = 0
        return ids.map { id in
            let start = cursor
            var first: Int?
            for b in tokenBytes(id) where cursor < source.count && source[cursor] == b {
                if first == nil { first = cursor }
                cursor += 1
            }
            return (first ?? start)..<max(first ?? start, cursor)
        }
    }
}

public struct TokenizerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
public enum TokenType: Int32, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// Builds the tokenizer a GGUF file describes.
public func makeTokenizer(from file: GGUFFile) throws -> Tokenizer {
    guard let model = file.string("tokenizer.ggml.model") else { throw TokenizerError("\(file.path): no tokenizer.ggml.model") }
    let vocab = try Vocabulary(file: file)
    switch model {
    case "gpt2": return try BytePairTokenizer(vocabulary: vocab, file: file)
    case "llama": return try SentencePieceTokenizer(vocabulary: vocab, file: file)
    default: throw TokenizerError("\(file.path): unsupported tokenizer model '\(model)' (supported: gpt2, llama)")
    }
}

/// The token table shared by both tokenizer kinds. Keys are UTF-8 bytes, not `String`s: Swift
/// compares strings by canonical equivalence, which would merge distinct tokens like "é" and "e\u{301}".
struct Vocabulary: Sendable {
    let texts: [[UInt8]]
    let types: [TokenType]
    let index: [[UInt8]: Int32]
    let bos: Int32, eos: Int32
    let addBOS: Bool
    /// Special tokens to split out of text, longest first: (bytes, id, alwaysSplit).
    let specials: [(bytes: [UInt8], id: Int32, alwaysSplit: Bool)]

    init(file: GGUFFile) throws {
        guard let tokens = file.metadata["tokenizer.ggml.tokens"]?.array, !tokens.isEmpty else {
            throw TokenizerError("\(file.path): no tokenizer.ggml.tokens")
        }
        var texts: [[UInt8]] = []
        texts.reserveCapacity(tokens.count)
        for t in tokens {
            guard let s = t.string else { throw TokenizerError("\(file.path): a token is not a string") }
            texts.append(Array(s.utf8))
        }
        let rawTypes = file.metadata["tokenizer.ggml.token_type"]?.ints ?? []
        // A type the file gets wrong (unknown, or beyond Int32) reads as normal.
        var types = texts.indices.map { i in i < rawTypes.count ? (Int32(exactly: rawTypes[i]).flatMap(TokenType.init) ?? .normal) : .normal }
        // llama.cpp recognises end-of-generation tokens by their spelling and makes them CONTROL
        // whatever the file says (llama-vocab.cpp); Gemma's user-defined "</s>" is one of them.
        for (i, t) in texts.enumerated() where Self.endOfGenerationSpellings.contains(t) { types[i] = .control }
        var index: [[UInt8]: Int32] = [:]
        index.reserveCapacity(texts.count)
        for (i, t) in texts.enumerated() where index[t] == nil { index[t] = Int32(i) }
        self.texts = texts
        self.types = types
        self.index = index
        let n = texts.count
        func id(_ key: String, _ fallback: Int) -> Int32 {
            let v = file.int(key) ?? fallback
            return Int32(v >= 0 && v < n ? v : fallback)
        }
        bos = id("tokenizer.ggml.bos_token_id", 1)
        eos = id("tokenizer.ggml.eos_token_id", 2)
        addBOS = file.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? false
        // llama.cpp splits CONTROL and UNKNOWN tokens only when parsing specials; USER_DEFINED always.
        var specials: [(bytes: [UInt8], id: Int32, alwaysSplit: Bool)] = []
        for (i, t) in texts.enumerated() where !t.isEmpty {
            switch types[i] {
            case .control, .unknown: specials.append((t, Int32(i), false))
            case .userDefined: specials.append((t, Int32(i), true))
            default: break
            }
        }
        // Longest first; ties keep id order (stable sort), as llama.cpp's cache does.
        self.specials = specials.enumerated().sorted { a, b in
            a.element.bytes.count != b.element.bytes.count ? a.element.bytes.count > b.element.bytes.count : a.offset < b.offset
        }.map(\.element)
    }

    static let endOfGenerationSpellings: Set<[UInt8]> = Set([
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
        "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
    ].map { Array($0.utf8) })

    enum Fragment { case text([UInt8]), token(Int32) }

    /// Splits special-token occurrences out of the text, longest token first, leftmost first.
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(bytes)]
        for special in specials where parseSpecial || special.alwaysSplit {
            let needle = special.bytes
            var next: [Fragment] = []
            var changed = false
            for f in fragments {
                guard case .text(let hay) = f, hay.count >= needle.count, hay.contains(needle[0]) else { next.append(f); continue }
                var start = 0, i = 0
                let limit = hay.count - needle.count
                while i <= limit {
                    if hay[i] == needle[0] && hay[i..<(i + needle.count)].elementsEqual(needle) {
                        if i > start { next.append(.text(Array(hay[start..<i]))) }
                        next.append(.token(special.id))
                        i += needle.count
                        start = i
                        changed = true
                    } else {
                        i += 1
                    }
                }
                if start == 0 { next.append(f) } else if start < hay.count { next.append(.text(Array(hay[start...]))) }
            }
            if changed { fragments = next }
        }
        return fragments
    }

    /// The token's bytes; empty for an id outside the vocabulary (ids can come from anywhere).
    func text(_ id: Int32) -> [UInt8] { id >= 0 && Int(id) < texts.count ? texts[Int(id)] : [] }
    /// The token's type; nil for an id outside the vocabulary.
    func type(_ id: Int32) -> TokenType? { id >= 0 && Int(id) < types.count ? types[Int(id)] : nil }
}
