/// One word of a prompt as the user wrote it: split at white space, punctuation and symbols
/// trimmed from both ends ("circle." → "circle", "(red)" → "red"; inner ones stay: "don't").
public struct PromptWord: Equatable, Sendable {
    public var text: String
    /// UTF-8 byte range of the trimmed word in the prompt.
    public var bytes: Range<Int>

    public init(text: String, bytes: Range<Int>) { self.text = text; self.bytes = bytes }

    /// The prompt's words, in order. A piece that is only punctuation ("-", "...") is no word.
    public static func split(_ prompt: String) -> [PromptWord] {
        var words: [PromptWord] = []
        var piece: [(Unicode.Scalar, Int)] = []   // scalars with their byte offsets
        var offset = 0
        func flush() {
            var lo = 0, hi = piece.count
            while lo < hi && isTrimmed(piece[lo].0) { lo += 1 }
            while hi > lo && isTrimmed(piece[hi - 1].0) { hi -= 1 }
            if lo < hi {
                var text = String.UnicodeScalarView()
                text.append(contentsOf: piece[lo..<hi].map(\.0))
                let end = piece[hi - 1].1 + String(piece[hi - 1].0).utf8.count
                words.append(PromptWord(text: String(text), bytes: piece[lo].1..<end))
            }
            piece.removeAll(keepingCapacity: true)
        }
        for s in prompt.unicodeScalars {
            if s.properties.isWhitespace { flush() } else { piece.append((s, offset)) }
            offset += String(s).utf8.count
        }
        flush()
        return words
    }

    /// Punctuation and symbols (Unicode categories P* and S*) are trimmed; letters, digits and marks stay.
    static func isTrimmed(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }
}
