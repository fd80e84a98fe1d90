import ModelFiles

/// SentencePiece-style tokenizer as llama.cpp runs it (`LLAMA_VOCAB_TYPE_SPM`, Gemma 3):
/// spaces become "▁", symbols start as single characters, the adjacent pair whose
/// concatenation is a token with the highest score merges first (leftmost on ties), and
/// characters that are not tokens fall back to `<0xXX>` byte tokens.
public struct SentencePieceTokenizer: Tokenizer {
    let vocab: Vocabulary
    let scores: [Float]
    let byteTokens: [Int32]
    let addSpacePrefix: Bool

    init(vocabulary: Vocabulary, file: GGUFFile) throws {
        vocab = vocabulary
        guard let scores = file.metadata["tokenizer.ggml.scores"]?.floats, scores.count == vocabulary.texts.count else {
            throw TokenizerError("\(file.path): SentencePiece tokenizer without one score per token")
        }
        self.scores = scores
        var bytes = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let name = Array(String(format: "<0x%02X>", b).utf8)
            if let id = vocabulary.index[name] { bytes[b] = id }
        }
        byteTokens = bytes
        addSpacePrefix = file.metadata["tokenizer.ggml.add_space_prefix"]?.bool ?? false
    }

    public var bosID: Int32 { vocab.bos }
    public var eosID: Int32 { vocab.eos }
    public var addsBOSByDefault: Bool { vocab.addBOS }
    public var vocabularySize: Int { vocab.texts.count }

    private static let spaceMark: [UInt8] = Array("▁".utf8)

    public func tokenText(_ id: Int32) -> String { String(decoding: vocab.text(id), as: UTF8.self) }

    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = addBOS ? [vocab.bos] : []
        for fragment in vocab.partition(Array(text.utf8), parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id): out.append(id)
            case .text(let bytes): encodeFragment(bytes, into: &out)
            }
        }
        return out
    }

    private func encodeFragment(_ raw: [UInt8], into out: inout [Int32]) {
        var bytes: [UInt8] = []
        if addSpacePrefix { bytes += Self.spaceMark }
        for b in raw { if b == 0x20 { bytes += Self.spaceMark } else { bytes.append(b) } }
        // One symbol per UTF-8 character.
        var symbols: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            let lead = bytes[i]
            let len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            let e = min(bytes.count, i + len)
            symbols.append(Array(bytes[i..<e]))
            i = e
        }
        func score(_ k: Int) -> Float? {
            vocab.index[symbols[k] + symbols[k + 1]].map { scores[Int($0)] }
        }
        var pairScores: [Float?] = symbols.count > 1 ? (0..<(symbols.count - 1)).map(score) : []
        while true {
            var best = -1
            for k in pairScores.indices {
                guard let s = pairScores[k] else { continue }
                if best < 0 || s > pairScores[best]! { best = k }
            }
            if best < 0 { break }
            symbols[best] += symbols[best + 1]
            symbols.remove(at: best + 1)
            pairScores.remove(at: best)
            if best < pairScores.count { pairScores[best] = score(best) }
            if best > 0 { pairScores[best - 1] = score(best - 1) }
        }
        for s in symbols {
            if let id = vocab.index[s] {
                out.append(id)
            } else {
                for b in s where byteTokens[Int(b)] >= 0 { out.append(byteTokens[Int(b)]) }
            }
        }
    }

    public func tokenBytes(_ id: Int32) -> [UInt8] {
        let i = Int(id)
        guard i >= 0, i < vocab.texts.count else { return [] }
        if vocab.types[i] == .byte, let b = byteTokens.firstIndex(of: id) { return [UInt8(b)] }
        let t = vocab.texts[i]
        var bytes: [UInt8] = []
        var k = 0
        while k < t.count {
            if k + 3 <= t.count && t[k..<(k + 3)].elementsEqual(Self.spaceMark) { bytes.append(0x20); k += 3 } else { bytes.append(t[k]); k += 1 }
        }
        return bytes
    }

    public func decode(_ ids: [Int32]) -> String {
        String(decoding: ids.flatMap(tokenBytes), as: UTF8.self)
    }
}
