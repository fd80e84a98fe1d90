import CNcursesW
import CShims
import Foundation
import ImageIO
import TerminalGraphics

/// The only place that talks to curses and writes pictures to the terminal. Every method must
/// be called from the UI thread.
final class CursesTerminal {
    private(set) var rows = 24
    private(set) var columns = 80
    private(set) var depth: ColorDepth = .monochrome
    let capabilities: TerminalCapabilities
    private var screen: OpaquePointer?
    private var ended = false
    private var roleStyle: [Role: (attrs: UInt32, pair: Int32)] = [:]
    private var extendedKeys: [Int32: Key] = [:]
    private var lastCanvas: Canvas?
    private var lastDrawn: [DrawnPicture] = []
    private var renderCache: [String: RenderedPicture] = [:]
    private var renderOrder: [String] = []
    private var paneOrigin: (top: Int, left: Int)?
    /// kitty: the pictures placed now and their image ids (kitty keeps them above the text until
    /// they are deleted, so every one that leaves the screen is deleted by id, and all on exit).
    private var kittyShown: [(DrawnPicture, Int)] = []
    private var nextKittyID = Int(getpid() & 0xFFFF) << 12 + 1
    private var cursorVisible: Int32 = -1

    struct DrawnPicture: Equatable {
        var key: String
        var area: Rect
    }

    /// Sets the terminal up for the studio (raw keys, no echo, keypad, colours). Throws when
    /// curses cannot drive this terminal; nothing is changed then.
    init(capabilities: TerminalCapabilities, colorCap: ColorDepth?) throws {
        self.capabilities = capabilities
        guard let scr = newterm(nil, stdout, stdin) else {
            throw StudioError(description: "curses cannot drive this terminal (TERM=\(ProcessInfo.processInfo.environment["TERM"] ?? ""))")
        }
        screen = scr
        set_term(scr)
        raw()
        noecho()
        nonl() // Enter arrives as CR and Ctrl+J as LF, so they can mean different things
        keypad(stdscr, true)
        set_escdelay(25)
        wtimeout(stdscr, 50)
        // Curses must never shift cells sideways (insert/delete character) or scroll lines: the
        // pictures written around it would move with them.
        idcok(stdscr, false)
        idlok(stdscr, false)
        scrollok(stdscr, false)
        if has_colors() {
            start_color()
            use_default_colors()
        }
        depth = has_colors() ? ColorDepth.from(colors: Int(COLORS), cap: colorCap) : .monochrome
        defineExtendedKeys()
        updateSize()
        if capabilities.sixelPassthrough == .tmux { paneOrigin = TerminalCapabilities.tmuxPaneOrigin() }
    }

    /// Restores the terminal (idempotent; safe on every exit path).
    func end() {
        guard !ended else { return }
        ended = true
        if capabilities.graphics == .kitty { writeAll(passedThrough(InlineImages.kittyDelete(id: nil))); kittyShown = [] }
        curs_set(1)
        endwin()
        if let s = screen { delscreen(s) }
        screen = nil
    }

    func updateSize() {
        rows = Int(lidit_getmaxy(stdscr))
        columns = Int(lidit_getmaxx(stdscr))
    }

    /// Call after a resize: pictures are re-rendered for the new cell grid.
    func resized() {
        updateSize()
        renderCache.removeAll()
        renderOrder.removeAll()
        lastCanvas = nil
        if capabilities.sixelPassthrough == .tmux { paneOrigin = TerminalCapabilities.tmuxPaneOrigin() }
    }

    // MARK: Colours

    func applyTheme(_ theme: Theme) {
        let bold = lidit_attr_bits(0), underline = lidit_attr_bits(1), reverse = lidit_attr_bits(2)
        for (i, role) in Role.allCases.enumerated() {
            let st = theme.style(role)
            var attrs: UInt32 = 0
            if st.bold { attrs |= bold }
            if st.underline { attrs |= underline }
            if st.reverse { attrs |= reverse }
            var pair: Int32 = 0
            if depth != .monochrome {
                pair = Int32(i + 1)
                init_extended_pair(pair, depth.colorNumber(st.fg), depth.colorNumber(st.bg))
            } else {
                // Without colour, selection and bars are shown reversed and focus in bold.
                switch role {
                case .title, .selection, .status, .progress: attrs |= reverse
                case .borderFocus, .headingFocus, .key, .error, .selectionInactive: attrs |= bold
                default: break
                }
            }
            roleStyle[role] = (attrs, pair)
        }
        lastCanvas = nil
    }

    // MARK: Keys

    private func defineExtendedKeys() {
        let sequences: [(String, Key)] = [
            ("\u{1B}[1;3A", .altUp), ("\u{1B}[1;3B", .altDown), ("\u{1B}[1;3D", .alt("b")), ("\u{1B}[1;3C", .alt("f")),
            ("\u{1B}[1;5A", .ctrlUp), ("\u{1B}[1;5B", .ctrlDown), ("\u{1B}[1;5D", .ctrlLeft), ("\u{1B}[1;5C", .ctrlRight),
            ("\u{1B}[Z", .backTab),
        ]
        for (i, (seq, key)) in sequences.enumerated() {
            var code = key_defined(seq)
            if code <= 0 {
                code = 1100 + Int32(i)
                define_key(seq, code)
            }
            extendedKeys[code] = key
        }
    }

    private func keyFromCode(_ code: Int32) -> Key {
        if let k = extendedKeys[code] { return k }
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_HOME, KEY_A1: return .home
        case KEY_END, KEY_C1: return .end
        case KEY_PPAGE, KEY_A3: return .pageUp
        case KEY_NPAGE, KEY_C3: return .pageDown
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_IC: return .insert
        case KEY_BTAB: return .backTab
        case KEY_ENTER: return .enter
        case lidit_key_resize(): return .resize
        case KEY_F0...(KEY_F0 + 63): return .function(Int(code - KEY_F0))
        default: return .unknown(Int(code))
        }
    }

    private func rawRead(timeout: Int32) -> Key? {
        wtimeout(stdscr, timeout)
        var ch: wint_t = 0
        let r = wget_wch(stdscr, &ch)
        if r == ERR { return nil }
        if r == KEY_CODE_YES { return keyFromCode(Int32(ch)) }
        return Key.fromCharacter(UInt32(ch))
    }

    /// The next key, waiting at most `timeout` milliseconds (nil: none came). ESC followed at
    /// once by another key is an Alt chord.
    func readKey(timeout: Int32) -> Key? {
        guard let k = rawRead(timeout: timeout) else { return nil }
        guard k == .escape else { return k }
        guard let next = rawRead(timeout: 0) else { return .escape }
        if let chord = Key.altChord(next) { return chord }
        return next == .escape ? .escape : next
    }

    // MARK: Drawing

    /// Puts the canvas on the screen: changed rows through curses, then the pictures written
    /// directly (after curses has flushed), each only when it is new or its cells were repainted.
    func present(_ canvas: Canvas, full: Bool, image: (PictureRef) -> RGBImage?) {
        let repaintAll = full || lastCanvas == nil || lastCanvas!.width != canvas.width || lastCanvas!.height != canvas.height
        if repaintAll {
            werase(stdscr)
            clearok(curscr, true)
        }
        for y in 0..<canvas.height where repaintAll || rowDiffers(canvas, y) {
            drawRow(canvas, y)
        }
        // Pictures: render (cached), centre in their slots.
        var drawn: [(DrawnPicture, RenderedPicture)] = []
        if capabilities.graphics != .none {
            for slot in canvas.pictures where !slot.rect.isEmpty {
                guard let pic = rendered(slot, image: image), pic.columns > 0, pic.rows > 0 else { continue }
                let area = Rect(x: slot.rect.x + max(0, (slot.rect.width - pic.columns) / 2),
                                y: slot.rect.y + max(0, (slot.rect.height - pic.rows) / 2),
                                width: min(pic.columns, slot.rect.width), height: min(pic.rows, slot.rect.height))
                drawn.append((DrawnPicture(key: slot.key, area: area), pic))
            }
        }
        // Cells where an old picture is not covered again by the same picture must be repainted.
        var invalidRows = Set<Int>()
        if !repaintAll {
            for old in lastDrawn where !drawn.contains(where: { $0.0.area == old.area }) {
                for y in old.area.y..<old.area.maxY { invalidRows.insert(y) }
            }
            for y in invalidRows.sorted() where y >= 0 && y < canvas.height {
                wredrawln(stdscr, Int32(y), 1)
            }
        }
        if let c = canvas.cursor, c.y >= 0, c.y < canvas.height, c.x >= 0, c.x < canvas.width {
            setCursor(1)
            wmove(stdscr, Int32(c.y), Int32(c.x))
        } else {
            setCursor(0)
            wmove(stdscr, Int32(max(0, canvas.height - 1)), 0)
        }
        wnoutrefresh(stdscr)
        doupdate()
        var out = ""
        if capabilities.graphics == .kitty {
            out = kittyUpdate(drawn, repaintAll: repaintAll)
        } else {
            for (d, pic) in drawn {
                let same = lastDrawn.contains(d)
                let touched = (d.area.y..<d.area.maxY).contains { invalidRows.contains($0) }
                if repaintAll || !same || touched { out += bytes(for: pic, at: d.area) }
            }
        }
        if !out.isEmpty { writeAll(out) }
        lastDrawn = drawn.map(\.0)
        lastCanvas = canvas
    }

    private func setCursor(_ v: Int32) {
        if v != cursorVisible { curs_set(v); cursorVisible = v }
    }

    private func rowDiffers(_ c: Canvas, _ y: Int) -> Bool {
        guard let last = lastCanvas else { return true }
        for x in 0..<c.width where c[y, x] != last[y, x] { return true }
        return false
    }

    private func drawRow(_ c: Canvas, _ y: Int) {
        var x = 0
        while x < c.width {
            let role = c[y, x].role
            var text = ""
            let start = x
            while x < c.width, c[y, x].role == role {
                text += c[y, x].text
                x += 1
            }
            let st = roleStyle[role] ?? (0, 0)
            lidit_attr_set(stdscr, st.attrs, st.pair)
            mvwaddstr(stdscr, Int32(y), Int32(start), text)
        }
        lidit_attr_set(stdscr, 0, 0)
    }

    private func rendered(_ slot: PictureSlot, image: (PictureRef) -> RGBImage?) -> RenderedPicture? {
        let cacheKey = "\(slot.key)@\(slot.rect.width)x\(slot.rect.height)"
        if let r = renderCache[cacheKey] { return r }
        guard let img = image(slot.ref) else { return nil }
        var caps = capabilities
        caps.sixelPassthrough = .none // wrapped (and positioned) when written
        // Sixel must stay above the last row: a picture reaching it would scroll the screen.
        let maxRows = min(slot.rect.height, max(1, rows - 1 - slot.rect.y))
        guard let r = try? TerminalPicture.render(img, capabilities: caps, maxColumns: slot.rect.width, maxRows: maxRows) else {
            return nil
        }
        renderCache[cacheKey] = r
        renderOrder.append(cacheKey)
        if renderOrder.count > 300 {
            let drop = renderOrder.removeFirst()
            renderCache[drop] = nil
        }
        return r
    }

    /// kitty pictures live above the text: a picture that stays is left alone, a new one is
    /// transmitted and placed under a fresh id, and only then are the ones that left deleted (so
    /// nothing blinks and nothing is left behind). A full repaint (resize, Ctrl+L) replaces all.
    private func kittyUpdate(_ drawn: [(DrawnPicture, RenderedPicture)], repaintAll: Bool) -> String {
        var out = ""
        var keep: [(DrawnPicture, Int)] = []
        var stale: [Int] = []
        for (d, id) in kittyShown {
            if !repaintAll, drawn.contains(where: { $0.0 == d }) { keep.append((d, id)) } else { stale.append(id) }
        }
        for (d, pic) in drawn where !keep.contains(where: { $0.0 == d }) {
            guard let png = pic.png else { continue }
            let id = nextKittyID
            nextKittyID += 1
            out += InlineImages.kittyTransmit(png, id: id, passthrough: capabilities.sixelPassthrough)
            out += positioned(InlineImages.kittyPlace(id: id), at: d.area)
            keep.append((d, id))
        }
        for id in stale { out += passedThrough(InlineImages.kittyDelete(id: id)) }
        kittyShown = keep
        return out
    }

    /// `s` written at a cell (1-based in the escape), the cursor saved and restored around it; in
    /// tmux passed through to the outer terminal at the pane's offset.
    private func positioned(_ s: String, at area: Rect) -> String {
        if capabilities.sixelPassthrough == .tmux {
            let o = paneOrigin ?? (0, 0)
            return SixelEncoder.wrapForTmux(s, outerRow: o.top + area.y + 1, outerColumn: o.left + area.x + 1)
        }
        return "\u{1B}7\u{1B}[\(area.y + 1);\(area.x + 1)H" + s + "\u{1B}8"
    }

    private func passedThrough(_ s: String) -> String {
        capabilities.sixelPassthrough == .tmux ? SixelEncoder.wrapForTmux(s) : s
    }

    /// The bytes that draw a picture at a cell area, leaving curses' cursor where it was.
    private func bytes(for pic: RenderedPicture, at area: Rect) -> String {
        switch pic.mode {
        case .none, .kitty: return ""
        case .iterm: return positioned(pic.text, at: area)
        case .blocks:
            var s = "\u{1B}7"
            for (i, line) in pic.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where i < area.height {
                s += "\u{1B}[\(area.y + i + 1);\(area.x + 1)H" + line
            }
            return s + "\u{1B}[0m\u{1B}8"
        case .sixel:
            if capabilities.sixelPassthrough == .tmux {
                let o = paneOrigin ?? (0, 0)
                return SixelEncoder.wrapForTmux(pic.text, outerRow: o.top + area.y + 1, outerColumn: o.left + area.x + 1)
            }
            return "\u{1B}7\u{1B}[\(area.y + 1);\(area.x + 1)H" + pic.text + "\u{1B}8"
        }
    }

    private func writeAll(_ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeMutableBufferPointer { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { usleep(1000); continue }
                return
            }
            off += n
        }
        bytes.removeAll()
    }
}

public struct StudioError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
