/// Text from a file or a user made safe to print on a terminal. Prompts, file names and PNG text
/// chunks can come from anywhere; printed raw, an escape sequence in them would clear the screen,
/// retitle the window or rewrite the clipboard, and a bidi override would make text read
/// differently from what it is. Every command and view that prints stored text goes through here.
public enum TerminalText {
    /// Whether a scalar must not reach a terminal as is: C0 and C1 controls and DEL (escape
    /// sequences, cursor moves, 8-bit CSI), bidi embeddings, overrides, isolates and marks, and
    /// the line / paragraph separators some terminals break lines at.
    public static func isUnsafe(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        case 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// `text` with every unsafe scalar written as an escape (`\e`, `\t`, `\r`, `\x07`,
    /// `\u{202E}` …), so it stays visible and inert. Newlines are kept when `keepNewlines`
    /// (multi-line output), else shown as `\n`.
    public static func safe(_ text: String, keepNewlines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if !isUnsafe(s) || (keepNewlines && s == "\n") { out.append(s); continue }
            out.append(contentsOf: escape(s).unicodeScalars)
        }
        return String(out)
    }

    static func escape(_ s: Unicode.Scalar) -> String {
        switch s {
        case "\u{1B}": return "\\e"
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            let hex = String(s.value, radix: 16, uppercase: true)
            return s.value < 0x100 ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex : "\\u{\(hex)}"
        }
    }
}
