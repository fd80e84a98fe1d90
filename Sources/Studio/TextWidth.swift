import CShims
import Foundation
import TerminalGraphics

/// Terminal column widths of text (wide CJK and emoji take two columns, combining marks none).
public enum TextWidth {
    /// Makes `wcwidth` (and ncursesw) use the user's locale, falling back to C.UTF-8 when that
    /// locale is not UTF-8, so that non-ASCII text is measured and drawn right.
    public static func prepareLocale() {
        setlocale(LC_ALL, "")
        if !isUTF8() { setlocale(LC_CTYPE, "C.UTF-8") }
    }

    public static func isUTF8() -> Bool {
        guard let cs = nl_langinfo(nl_item(CODESET)) else { return false }
        let name = String(cString: cs).lowercased()
        return name == "utf-8" || name == "utf8"
    }

    /// Columns one grapheme cluster takes: the first scalar's width (control and bidi characters
    /// count as one, shown as a placeholder), two for emoji presentation (VS16) and flag pairs.
    public static func width(_ c: Character) -> Int {
        let scalars = c.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if TerminalText.isUnsafe(first) { return 1 }
        var w = Int(lidit_wcwidth(first.value))
        if w < 0 { w = 1 }
        if w == 0, scalars.count == 1 { return 0 }
        if w == 0 { w = 1 }
        if w == 1, scalars.contains(where: { $0.value == 0xFE0F }) { w = 2 }
        if w == 1, (0x1F1E6...0x1F1FF).contains(first.value), scalars.count >= 2 { w = 2 }
        if w == 1, first.properties.isEmojiPresentation { w = 2 }
        return min(w, 2)
    }

    public static func width<S: Sequence>(_ s: S) -> Int where S.Element == Character {
        s.reduce(0) { $0 + width($1) }
    }

    /// The longest prefix of `s` that fits in `columns`, with "…" appended when cut.
    public static func truncate(_ s: String, to columns: Int, ellipsis: Bool = true) -> String {
        guard columns > 0 else { return "" }
        if width(s) <= columns { return s }
        let room = ellipsis ? columns - 1 : columns
        var out = ""
        var used = 0
        for c in s {
            let w = width(c)
            if used + w > room { break }
            out.append(c)
            used += w
        }
        return ellipsis ? out + "…" : out
    }

    /// `s` padded with spaces (or cut) to exactly `columns` columns.
    public static func pad(_ s: String, to columns: Int) -> String {
        let t = truncate(s, to: columns)
        return t + String(repeating: " ", count: max(0, columns - width(t)))
    }

    /// Splits text into lines of at most `columns` columns, breaking after spaces where possible
    /// (explicit newlines are kept).
    public static func wrap(_ s: String, columns: Int) -> [String] {
        let chars = Array(s)
        return TextBuffer.layout(chars, width: max(1, columns)).map { String(chars[$0.start..<$0.end]) }
    }
}
