import ImageIO
import TerminalGraphics

/// A rectangle of text cells.
public struct Rect: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) { self.x = x; self.y = y; self.width = width; self.height = height }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    /// The inside of a one-cell border.
    public var inner: Rect { Rect(x: x + 1, y: y + 1, width: max(0, width - 2), height: max(0, height - 2)) }
    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
    public func intersects(_ o: Rect) -> Bool { x < o.maxX && o.x < maxX && y < o.maxY && o.y < maxY }
}

/// Which picture a slot shows; the app turns it into pixels (the drawing code stays pure).
public enum PictureRef: Equatable, Hashable, Sendable {
    /// The studio's current preview (`StudioState.preview`).
    case preview
    /// A job's finished picture (grid for a batch).
    case job(Int)
    /// A gallery picture (full size) or its thumbnail, by file name.
    case galleryImage(String)
    case galleryThumbnail(String)
    /// A word's attention map (index into the picture's `WordAttention.words`) over a picture.
    indirect case heatMap(PictureRef, word: Int)
    /// Two pictures side by side (A/B compare).
    indirect case pair(PictureRef, PictureRef)
}

/// An area of the screen that shows a picture. Curses leaves these cells blank; the picture is
/// written straight to the terminal after curses has updated the screen.
public struct PictureSlot: Equatable, Sendable {
    public var ref: PictureRef
    /// Changes whenever the pixels do (a preview step, a different picture).
    public var key: String
    public var rect: Rect
    public init(ref: PictureRef, key: String, rect: Rect) { self.ref = ref; self.key = key; self.rect = rect }
}

/// One screen's worth of styled text, built by the views without touching curses (so layout and
/// drawing can be tested), then handed to the curses backend.
public struct Canvas: Equatable, Sendable {
    public struct Cell: Equatable, Sendable {
        /// One grapheme cluster; "" for the right half of a wide character.
        public var text: String
        public var role: Role
    }

    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    public var pictures: [PictureSlot] = []
    /// Where the terminal cursor goes (a text field's insertion point); nil hides it.
    public var cursor: (y: Int, x: Int)?

    public init(width: Int, height: Int, role: Role = .base) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(text: " ", role: role), count: self.width * self.height)
    }

    public static func == (a: Canvas, b: Canvas) -> Bool {
        a.width == b.width && a.height == b.height && a.cells == b.cells && a.pictures == b.pictures
            && a.cursor?.y == b.cursor?.y && a.cursor?.x == b.cursor?.x
    }

    public subscript(y: Int, x: Int) -> Cell {
        cells[y * width + x]
    }

    public mutating func fill(_ r: Rect, role: Role, char: String = " ") {
        for y in max(0, r.y)..<min(height, r.maxY) {
            for x in max(0, r.x)..<min(width, r.maxX) { cells[y * width + x] = Cell(text: char, role: role) }
        }
    }

    /// Writes text at (y, x), clipped to `maxWidth` columns and the canvas; returns the columns
    /// used. Control characters and bidi controls (`TerminalText.isUnsafe`) show as a middle dot;
    /// a wide character that would straddle the edge becomes a space.
    @discardableResult
    public mutating func put(_ y: Int, _ x: Int, _ s: String, role: Role, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height else { return 0 }
        let limit = min(width, x + (maxWidth ?? width))
        var col = x
        for c in s {
            let ch: Character = c.unicodeScalars.contains(where: TerminalText.isUnsafe) ? "·" : c
            let w = TextWidth.width(ch)
            if w == 0 { continue }
            if col + w > limit {
                if w == 2, col < limit, col >= 0 { cells[y * width + col] = Cell(text: " ", role: role) }
                break
            }
            if col >= 0 {
                // Overwriting half of a wide character blanks its other half.
                if cells[y * width + col].text.isEmpty, col > 0 { cells[y * width + col - 1].text = " " }
                cells[y * width + col] = Cell(text: String(ch), role: role)
                if w == 2 { cells[y * width + col + 1] = Cell(text: "", role: role) }
            }
            col += w
        }
        if col > x, col < width, col >= 0, cells[y * width + col].text.isEmpty { cells[y * width + col].text = " " }
        return col - x
    }

    /// A box with a title in its top border.
    public mutating func box(_ r: Rect, title: String, focused: Bool, extra: String? = nil) {
        guard r.width >= 2, r.height >= 2 else { return }
        let role: Role = focused ? .borderFocus : .border
        let h = focused ? "━" : "─", v = focused ? "┃" : "│"
        let (tl, tr, bl, br) = focused ? ("┏", "┓", "┗", "┛") : ("┌", "┐", "└", "┘")
        put(r.y, r.x, tl + String(repeating: h, count: r.width - 2) + tr, role: role)
        for y in (r.y + 1)..<(r.maxY - 1) {
            put(y, r.x, v, role: role)
            put(y, r.maxX - 1, v, role: role)
        }
        put(r.maxY - 1, r.x, bl + String(repeating: h, count: r.width - 2) + br, role: role)
        if r.width > 6, !title.isEmpty {
            let t = TextWidth.truncate(" \(title) ", to: r.width - 4)
            put(r.y, r.x + 2, t, role: focused ? .headingFocus : .heading)
            if let extra, !extra.isEmpty {
                let used = TextWidth.width(t)
                let room = r.width - 4 - used - 1
                if room > 3 {
                    let e = TextWidth.truncate(" \(extra) ", to: room)
                    put(r.y, r.maxX - 2 - TextWidth.width(e), e, role: .dim)
                }
            }
        }
    }

    /// The text of one row (for tests and debugging).
    public func row(_ y: Int) -> String {
        (0..<width).map { cells[y * width + $0].text }.joined()
    }

    public var text: String { (0..<height).map(row).joined(separator: "\n") }
}
