/// A key press as the studio understands it, independent of curses (so the state machine can be
/// driven by tests). The curses backend turns `wget_wch` results into these.
public enum Key: Equatable, Sendable, CustomStringConvertible {
    /// A printable character (never a control character).
    case char(Character)
    /// Alt (Meta) + a printable character (ESC then the character).
    case alt(Character)
    /// Ctrl + a letter, lowercased (`.ctrl("q")` is Ctrl+Q = 0x11).
    case ctrl(Character)
    case enter
    /// Alt+Enter (ESC CR).
    case altEnter
    /// Ctrl+J (LF): a newline in text fields.
    case ctrlJ
    case tab
    case backTab
    case escape
    case backspace
    case delete
    case up, down, left, right
    case altUp, altDown
    case ctrlLeft, ctrlRight, ctrlUp, ctrlDown
    case home, end, pageUp, pageDown
    case insert
    case function(Int)
    /// The terminal changed size.
    case resize
    /// Anything else (kept for the status line).
    case unknown(Int)

    public var description: String {
        switch self {
        case .char(let c): return c == " " ? "Space" : String(c)
        case .alt(let c): return "Alt+\(c)"
        case .ctrl(let c): return "Ctrl+\(c.uppercased())"
        case .enter: return "Enter"
        case .altEnter: return "Alt+Enter"
        case .ctrlJ: return "Ctrl+J"
        case .tab: return "Tab"
        case .backTab: return "Shift+Tab"
        case .escape: return "Esc"
        case .backspace: return "Backspace"
        case .delete: return "Delete"
        case .up: return "Up"
        case .down: return "Down"
        case .left: return "Left"
        case .right: return "Right"
        case .altUp: return "Alt+Up"
        case .altDown: return "Alt+Down"
        case .ctrlLeft: return "Ctrl+Left"
        case .ctrlRight: return "Ctrl+Right"
        case .ctrlUp: return "Ctrl+Up"
        case .ctrlDown: return "Ctrl+Down"
        case .home: return "Home"
        case .end: return "End"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .insert: return "Insert"
        case .function(let n): return "F\(n)"
        case .resize: return "resize"
        case .unknown(let n): return "key \(n)"
        }
    }

    /// The key for a plain (non-KEY_*) character code from the terminal. Control codes map to
    /// their Ctrl names; 13 is Enter and 10 Ctrl+J (the terminal runs with `nonl`, so they differ).
    public static func fromCharacter(_ code: UInt32) -> Key {
        switch code {
        case 13: return .enter
        case 10: return .ctrlJ
        case 9: return .tab
        case 27: return .escape
        case 8, 127: return .backspace
        case 0: return .ctrl(" ")
        case 1...26: return .ctrl(Character(Unicode.Scalar(code + 96)!))
        case 28...31: return .unknown(Int(code))
        default:
            guard let s = Unicode.Scalar(code) else { return .unknown(Int(code)) }
            if s.properties.generalCategory == .control { return .unknown(Int(code)) }
            return .char(Character(s))
        }
    }

    /// The key for ESC followed by `next` (an Alt chord), or nil when the pair means nothing.
    public static func altChord(_ next: Key) -> Key? {
        switch next {
        case .enter, .ctrlJ: return .altEnter
        case .char(let c): return .alt(c)
        case .up: return .altUp
        case .down: return .altDown
        case .backspace: return .ctrl("w") // Alt+Backspace deletes a word, like Ctrl+W
        default: return nil
        }
    }
}
