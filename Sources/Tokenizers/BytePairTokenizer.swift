import ModelFiles

/// GPT-2 byte-level BPE with llama.cpp's `smollm` pre-tokenizer (SmolLM2):
/// every digit is its own piece, then GPT-2's split
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` (gaps kept as pieces);
/// bytes map to GPT-2's printable alphabet; merges apply lowest rank first, leftmost on ties.
public struct BytePairTokenizer: Tokenizer {
    let vocab: Vocabulary
    /// "A B" (bytes) → rank
    let ranks: [[UInt8]: Int32]
    let byteToSymbol: [[UInt8]]
    let symbolToByte: [UInt32: UInt8]

    init(vocabulary: Vocabulary, file: GGUFFile) throws {
        vocab = vocabulary
        guard let merges = file.metadata["tokenizer.ggml.merges"]?.strings else {
            throw TokenizerError("\(file.path): BPE tokenizer without tokenizer.ggml.merges")
        }
        var ranks: [[UInt8]: Int32] = [:]
        ranks.reserveCapacity(merges.count)
        for (i, m) in merges.enumerated() where ranks[Array(m.utf8)] == nil { ranks[Array(m.utf8)] = Int32(i) }
        self.ranks = ranks
        // GPT-2 bytes_to_unicode: printable bytes keep their code point, the rest take 256, 257, ...
        var map = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) { map[b] = UInt32(b) } else { map[b] = next; next += 1 }
        }
        byteToSymbol = map.map { Array(String(Unicode.Scalar($0)!).utf8) }
        var inverse: [UInt32: UInt8] = [:]
        for (b, s) in map.enumerated() { inverse[s] = UInt8(b) }
        symbolToByte = inverse
    }

    public var bosID: Int32 { vocab.bos }
    public var eosID: Int32 { vocab.eos }
    public var addsBOSByDefault: Bool { vocab.addBOS }
    public var vocabularySize: Int { vocab.texts.count }

    public func tokenText(_ id: Int32) -> String {
        let t = vocab.text(id)
        if vocab.type(id) == .normal {
            return String(decoding: unmapBytes(t), as: UTF8.self)
        }
        return String(decoding: t, as: UTF8.self)
    }

    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = addBOS ? [vocab.bos] : []
        for fragment in vocab.partition(Array(text.utf8), parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id): out.append(id)
            case .text(let bytes):
                let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
                for piece in PreTokenizer.smollm(scalars) { encodePiece(piece, into: &out) }
            }
        }
        return out
    }

    private func encodePiece(_ piece: ArraySlice<Unicode.Scalar>, into out: inout [Int32]) {
        var symbols: [[UInt8]] = []
        for s in piece { for b in String(s).utf8 { symbols.append(byteToSymbol[Int(b)]) } }
        // Merge the adjacent pair of lowest rank (leftmost on ties) until none is mergeable.
        func rank(_ i: Int) -> Int32 { ranks[symbols[i] + [0x20] + symbols[i + 1]] ?? .max }
        var pairRanks = symbols.count > 1 ? (0..<(symbols.count - 1)).map(rank) : []
        while !pairRanks.isEmpty {
            var best = 0
            for i in 1..<pairRanks.count where pairRanks[i] < pairRanks[best] { best = i }
            if pairRanks[best] == .max { break }
            symbols[best] += symbols[best + 1]
            symbols.remove(at: best + 1)
            pairRanks.remove(at: best)
            if best < pairRanks.count { pairRanks[best] = rank(best) }
            if best > 0 { pairRanks[best - 1] = rank(best - 1) }
        }
        for s in symbols {
            if let id = vocab.index[s] {
                out.append(id)
            } else {
                // Not a token: fall back to its single-byte symbols.
                for scalar in String(decoding: s, as: UTF8.self).unicodeScalars {
                    if let id = vocab.index[Array(String(scalar).utf8)] { out.append(id) }
                }
            }
        }
    }

    private func unmapBytes(_ t: [UInt8]) -> [UInt8] {
        String(decoding: t, as: UTF8.self).unicodeScalars.map { symbolToByte[$0.value] ?? UInt8(ascii: "?") }
    }

    public func tokenBytes(_ id: Int32) -> [UInt8] {
        let t = vocab.text(id)
        return vocab.type(id) == .normal ? unmapBytes(t) : t
    }

    public func decode(_ ids: [Int32]) -> String {
        String(decoding: ids.flatMap(tokenBytes), as: UTF8.self)
    }
}

/// Unicode classes as llama.cpp's pre-tokenizers use them.
enum CharClass {
    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }
    @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
    @inline(__always) static func isWhitespace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }
}

enum PreTokenizer {
    /// `\p{N}` split, then the GPT-2 split on each non-digit piece.
    static func smollm(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var pieces: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        for i in text.indices where CharClass.isNumber(text[i]) {
            if i > start { pieces += gpt2(text[start..<i]) }
            pieces.append(text[i...i])
            start = i + 1
        }
        if start < text.count { pieces += gpt2(text[start...]) }
        return pieces
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`, unmatched text kept.
    static func gpt2(_ text: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        var out: [ArraySlice<Unicode.Scalar>] = []
        let end = text.endIndex
        var pos = text.startIndex
        func at(_ i: Int) -> Unicode.Scalar? { i < end ? text[i] : nil }
        while pos < end {
            let c = text[pos]
            // contractions (lowercase only, as in the regex)
            if c == "'", let n = at(pos + 1) {
                if n == "s" || n == "t" || n == "m" || n == "d" { out.append(text[pos..<(pos + 2)]); pos += 2; continue }
                if let n2 = at(pos + 2), (n == "r" && n2 == "e") || (n == "v" && n2 == "e") || (n == "l" && n2 == "l") {
                    out.append(text[pos..<(pos + 3)]); pos += 3; continue
                }
            }
            let lead = c == " " ? 1 : 0
            if let first = at(pos + lead) {
                let classes: [(Unicode.Scalar) -> Bool] = [CharClass.isLetter, CharClass.isNumber,
                    { !CharClass.isWhitespace($0) && !CharClass.isLetter($0) && !CharClass.isNumber($0) }]
                var matched = false
                for cls in classes where cls(first) {
                    var j = pos + lead + 1
                    while let x = at(j), cls(x) { j += 1 }
                    out.append(text[pos..<j]); pos = j; matched = true
                    break
                }
                if matched { continue }
            }
            // \s+(?!\S): a whitespace run, leaving its last character to the next word if one follows
            if CharClass.isWhitespace(c) {
                var j = pos
                while let x = at(j), CharClass.isWhitespace(x) { j += 1 }
                if j - pos > 1 && j < end { j -= 1 }
                out.append(text[pos..<j]); pos = j
                continue
            }
            out.append(text[pos...pos]); pos += 1
        }
        return out
    }
}
