/// A multi-line text field: grapheme-cluster editing (a cursor never lands inside an emoji or
/// a letter with its accents), soft wrapping at word boundaries by display width, vertical
/// movement that keeps the column, word movement and deletion, and undo/redo with typing
/// coalesced into words.
public struct TextBuffer: Equatable, Sendable {
    public private(set) var chars: [Character]
    public private(set) var cursor: Int

    struct Snapshot: Equatable, Sendable {
        var chars: [Character]
        var cursor: Int
    }

    enum EditKind: Equatable { case typing, deleting, other }

    private var undoStack: [Snapshot] = []
    private var redoStack: [Snapshot] = []
    private var lastEdit: EditKind?
    /// The display column that Up/Down try to keep.
    private var preferredColumn: Int?
    static let undoLimit = 500

    public init(_ text: String = "") {
        chars = Array(Self.normalize(text))
        cursor = chars.count
    }

    public var text: String { String(chars) }
    public var isEmpty: Bool { chars.isEmpty }
    public var canUndo: Bool { !undoStack.isEmpty }

    static func normalize(_ s: String) -> String {
        s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\t", with: " ")
    }

    // MARK: Editing

    private mutating func checkpoint(_ kind: EditKind) {
        if kind == .other || kind != lastEdit {
            undoStack.append(Snapshot(chars: chars, cursor: cursor))
            if undoStack.count > Self.undoLimit { undoStack.removeFirst(undoStack.count - Self.undoLimit) }
        }
        redoStack.removeAll()
        lastEdit = kind
        preferredColumn = nil
    }

    /// Replaces the whole text (cursor at the end); undoable.
    public mutating func setText(_ s: String) {
        let new = Array(Self.normalize(s))
        guard new != chars else { cursor = chars.count; return }
        checkpoint(.other)
        chars = new
        cursor = chars.count
        lastEdit = nil
    }

    /// Inserts typed text at the cursor.
    public mutating func insert(_ s: String) {
        let new = Array(Self.normalize(s))
        guard !new.isEmpty else { return }
        // A word boundary starts a new undo step: "a red circle" undoes word by word.
        let startsWord = new.first.map { !$0.isWhitespace } ?? false
        let prevIsSpace = cursor > 0 && chars[cursor - 1].isWhitespace
        if new.count > 1 || (startsWord && prevIsSpace) { lastEdit = nil }
        checkpoint(.typing)
        chars.insert(contentsOf: new, at: cursor)
        cursor += new.count
        // A character typed next to another may join it into one grapheme (an accent after a
        // letter, a ZWJ sequence); rebuild so the array holds whole clusters.
        let rebuilt = Array(String(chars))
        if rebuilt.count != chars.count {
            let before = String(chars[..<cursor]).count
            chars = rebuilt
            cursor = min(before, chars.count)
        }
    }

    public mutating func insertNewline() {
        lastEdit = nil
        insert("\n")
        lastEdit = nil
    }

    public mutating func deleteBackward() {
        guard cursor > 0 else { return }
        checkpoint(.deleting)
        chars.remove(at: cursor - 1)
        cursor -= 1
    }

    public mutating func deleteForward() {
        guard cursor < chars.count else { return }
        checkpoint(.deleting)
        chars.remove(at: cursor)
    }

    /// Ctrl+W / Alt+Backspace: the word before the cursor (and the spaces after it).
    public mutating func deleteWordBackward() {
        let start = wordStart(before: cursor)
        guard start < cursor else { return }
        checkpoint(.other)
        chars.removeSubrange(start..<cursor)
        cursor = start
    }

    /// Ctrl+K: to the end of the line (or the newline itself when already there).
    public mutating func killToLineEnd() {
        var end = cursor
        while end < chars.count, chars[end] != "\n" { end += 1 }
        if end == cursor, end < chars.count { end += 1 }
        guard end > cursor else { return }
        checkpoint(.other)
        chars.removeSubrange(cursor..<end)
    }

    /// Ctrl+U: from the start of the line to the cursor.
    public mutating func killToLineStart() {
        var start = cursor
        while start > 0, chars[start - 1] != "\n" { start -= 1 }
        guard start < cursor else { return }
        checkpoint(.other)
        chars.removeSubrange(start..<cursor)
        cursor = start
    }

    public mutating func undo() {
        guard let s = undoStack.popLast() else { return }
        redoStack.append(Snapshot(chars: chars, cursor: cursor))
        chars = s.chars
        cursor = min(s.cursor, chars.count)
        lastEdit = nil
        preferredColumn = nil
    }

    public mutating func redo() {
        guard let s = redoStack.popLast() else { return }
        undoStack.append(Snapshot(chars: chars, cursor: cursor))
        chars = s.chars
        cursor = min(s.cursor, chars.count)
        lastEdit = nil
        preferredColumn = nil
    }

    // MARK: Movement

    private mutating func moved(to i: Int, keepColumn: Bool = false) {
        cursor = max(0, min(chars.count, i))
        lastEdit = nil
        if !keepColumn { preferredColumn = nil }
    }

    public mutating func moveLeft() { moved(to: cursor - 1) }
    public mutating func moveRight() { moved(to: cursor + 1) }
    public mutating func moveToStart() { moved(to: 0) }
    public mutating func moveToEnd() { moved(to: chars.count) }

    func wordStart(before i: Int) -> Int {
        var j = i
        while j > 0, chars[j - 1].isWhitespace { j -= 1 }
        while j > 0, !chars[j - 1].isWhitespace { j -= 1 }
        return j
    }

    func wordEnd(after i: Int) -> Int {
        var j = i
        while j < chars.count, chars[j].isWhitespace { j += 1 }
        while j < chars.count, !chars[j].isWhitespace { j += 1 }
        return j
    }

    public mutating func moveWordLeft() { moved(to: wordStart(before: cursor)) }
    public mutating func moveWordRight() { moved(to: wordEnd(after: cursor)) }

    /// Home: the start of the visual (wrapped) line.
    public mutating func moveToLineStart(width: Int) {
        let lines = Self.layout(chars, width: width)
        let (row, _) = Self.position(of: cursor, in: lines, chars: chars)
        moved(to: lines[row].start)
    }

    /// End: the end of the visual line.
    public mutating func moveToLineEnd(width: Int) {
        let lines = Self.layout(chars, width: width)
        let (row, _) = Self.position(of: cursor, in: lines, chars: chars)
        let l = lines[row]
        moved(to: l.endsLogicalLine ? l.end : max(l.start, l.end - 1))
    }

    /// Up one visual line; false when already on the first.
    @discardableResult
    public mutating func moveUp(width: Int) -> Bool { moveVertically(-1, width: width) }

    /// Down one visual line; false when already on the last.
    @discardableResult
    public mutating func moveDown(width: Int) -> Bool { moveVertically(1, width: width) }

    private mutating func moveVertically(_ delta: Int, width: Int) -> Bool {
        let lines = Self.layout(chars, width: width)
        let (row, col) = Self.position(of: cursor, in: lines, chars: chars)
        let target = row + delta
        guard target >= 0, target < lines.count else { return false }
        let want = preferredColumn ?? col
        let i = Self.index(atColumn: want, in: lines[target], chars: chars)
        moved(to: i, keepColumn: true)
        preferredColumn = want
        return true
    }

    // MARK: Layout

    public struct VisualLine: Equatable, Sendable {
        public var start: Int
        /// Exclusive; a newline that ends the line is not included.
        public var end: Int
        /// True when the line ends at a newline or the end of the text (not a soft wrap).
        public var endsLogicalLine: Bool
    }

    /// Wraps `chars` into lines of at most `width` columns, breaking after the last space that
    /// fits (a word longer than the line is broken anywhere).
    public static func layout(_ chars: [Character], width: Int) -> [VisualLine] {
        let width = max(1, width)
        var lines: [VisualLine] = []
        var start = 0
        var i = 0
        var col = 0
        var lastBreak: Int? = nil // index just after a space on the current line
        while i < chars.count {
            let c = chars[i]
            if c == "\n" {
                lines.append(VisualLine(start: start, end: i, endsLogicalLine: true))
                i += 1
                start = i; col = 0; lastBreak = nil
                continue
            }
            let w = TextWidth.width(c)
            if col + w > width, i > start {
                let cut = (lastBreak.map { $0 > start && $0 <= i } ?? false) ? lastBreak! : i
                lines.append(VisualLine(start: start, end: cut, endsLogicalLine: false))
                start = cut
                col = TextWidth.width(chars[start..<i])
                lastBreak = nil
                continue
            }
            col += w
            i += 1
            if c == " " { lastBreak = i }
        }
        lines.append(VisualLine(start: start, end: chars.count, endsLogicalLine: true))
        return lines
    }

    /// Row and display column of index `i`. At a soft wrap the index belongs to the next row.
    public static func position(of i: Int, in lines: [VisualLine], chars: [Character]) -> (row: Int, column: Int) {
        for (r, l) in lines.enumerated() {
            if i >= l.start && (i < l.end || (i == l.end && (l.endsLogicalLine || r == lines.count - 1))) {
                return (r, TextWidth.width(chars[l.start..<i]))
            }
        }
        let r = lines.count - 1
        return (r, TextWidth.width(chars[lines[r].start..<min(lines[r].end, chars.count)]))
    }

    static func index(atColumn want: Int, in line: VisualLine, chars: [Character]) -> Int {
        var col = 0
        var i = line.start
        let limit = line.endsLogicalLine ? line.end : max(line.start, line.end - 1)
        while i < limit {
            let w = TextWidth.width(chars[i])
            if col + w > want { break }
            col += w
            i += 1
        }
        return i
    }

    /// The cursor's row and column when wrapped at `width`.
    public func cursorPosition(width: Int) -> (row: Int, column: Int) {
        Self.position(of: cursor, in: Self.layout(chars, width: width), chars: chars)
    }

    public func lines(width: Int) -> [String] {
        Self.layout(chars, width: width).map { String(chars[$0.start..<$0.end]) }
    }
}
