import CShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How pictures are drawn in the terminal.
public enum GraphicsMode: String, Sendable, Equatable, CaseIterable {
    /// DEC sixel bitmaps.
    case sixel
    /// Colored `▀` half blocks (two pixels per text cell).
    case blocks
    /// The kitty graphics protocol (kitty, Ghostty, WezTerm, Konsole): PNG in APC chunks, drawn
    /// above the text until deleted.
    case kitty
    /// iTerm2's inline images (iTerm2, WezTerm, VS Code): PNG in one OSC 1337, in the cells like text.
    case iterm
    /// No pictures (TERM=dumb, not a terminal, or switched off).
    case none
}

public enum Multiplexer: String, Sendable, Equatable {
    case none, tmux, screen
}

public struct PixelSize: Sendable, Equatable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) { self.width = width; self.height = height }
    public var description: String { "\(width)x\(height)" }
}

/// What the terminal answered to the capability queries.
public struct TerminalReplies: Sendable, Equatable {
    /// DA1 (`CSI ? … c`) attributes; 4 = sixel. Terminals always answer DA1, so it ends the exchange.
    public var deviceAttributes: [Int]?
    /// XTSMGRAPHICS: number of sixel color registers.
    public var colorRegisters: Int?
    /// XTSMGRAPHICS: largest sixel picture.
    public var sixelMaxSize: PixelSize?
    /// `CSI 16 t` → `CSI 6 ; h ; w t`: one cell in pixels.
    public var cellSize: PixelSize?
    /// `CSI 14 t` → `CSI 4 ; h ; w t`: the text area in pixels.
    public var textAreaPixels: PixelSize?
    /// `CSI 18 t` → `CSI 8 ; rows ; cols t`: the text area in cells (width = columns).
    public var textAreaCells: PixelSize?

    public init() {}

    public var hasSixelAttribute: Bool { deviceAttributes?.contains(4) ?? false }

    /// The queries, DA1 last: its answer marks the end of the replies.
    public static let query = "\u{1B}[?1;1;0S" + "\u{1B}[?2;1;0S" + "\u{1B}[16t" + "\u{1B}[14t" + "\u{1B}[18t" + "\u{1B}[c"

    /// Picks the replies out of whatever the terminal sent (other input is ignored). Accepts
    /// 7-bit (`ESC [`) and 8-bit (0x9B) CSI.
    public static func parse(_ bytes: [UInt8]) -> TerminalReplies {
        var r = TerminalReplies()
        var i = 0
        while i < bytes.count {
            var j: Int
            if bytes[i] == 0x1B, i + 1 < bytes.count, bytes[i + 1] == 0x5B { j = i + 2 }
            else if bytes[i] == 0x9B { j = i + 1 }
            else { i += 1; continue }
            var prefix: UInt8 = 0
            if j < bytes.count, bytes[j] == 0x3F || bytes[j] == 0x3E || bytes[j] == 0x3D { prefix = bytes[j]; j += 1 }
            var params: [Int] = []
            var cur: Int? = nil
            while j < bytes.count, (0x30...0x3B).contains(bytes[j]) {
                if bytes[j] == 0x3B { params.append(cur ?? 0); cur = nil } else if bytes[j] <= 0x39 {
                    cur = min(1_000_000, (cur ?? 0) * 10 + Int(bytes[j] - 0x30))
                }
                j += 1
            }
            if let c = cur { params.append(c) }
            while j < bytes.count, (0x20...0x2F).contains(bytes[j]) { j += 1 }   // intermediates
            guard j < bytes.count, (0x40...0x7E).contains(bytes[j]) else { i = j; continue }
            let final = bytes[j]
            switch (prefix, final) {
            case (0x3F, 0x63):   // CSI ? … c
                r.deviceAttributes = params
            case (0x3F, 0x53):   // CSI ? Pi ; Ps ; Pv… S
                if params.count >= 3, params[1] == 0 {
                    if params[0] == 1 { r.colorRegisters = params[2] }
                    if params[0] == 2, params.count >= 4 { r.sixelMaxSize = PixelSize(width: params[2], height: params[3]) }
                }
            case (0, 0x74):      // CSI Ps ; h ; w t
                if params.count >= 3, params[1] > 0, params[2] > 0 {
                    let size = PixelSize(width: params[2], height: params[1])
                    switch params[0] {
                    case 6: r.cellSize = size
                    case 4: r.textAreaPixels = size
                    case 8: r.textAreaCells = size
                    default: break
                    }
                }
            default: break
            }
            i = j + 1
        }
        return r
    }
}

/// What the terminal can show, and how big its cells are.
///
/// Decision order: the `LIDIT_GRAPHICS=sixel|blocks|none` override; `TERM=dumb` → none; the
/// terminal's own answers (DA1 attribute 4, XTSMGRAPHICS) with a timeout; environment hints;
/// otherwise half blocks. Inside tmux and screen the multiplexer answers DA1 itself, so sixel is
/// used only where the multiplexer draws sixel (tmux ≥ 3.4 built with it); a user who knows the
/// outer terminal does sixel sets `LIDIT_GRAPHICS=sixel` and the image is passed through
/// (tmux: `set -g allow-passthrough on`). Cell size: `LIDIT_CELL_SIZE=WxH`, else TIOCGWINSZ
/// pixels, else `CSI 16 t`, else `CSI 14 t` over the cell count, else 10×20.
/// `LIDIT_COLOR=truecolor|256` overrides the color depth.
public struct TerminalCapabilities: Sendable, Equatable {
    public var graphics: GraphicsMode
    public var colorMode: ColorMode
    public var multiplexer: Multiplexer
    /// How a sixel image must be wrapped for the multiplexer.
    public var sixelPassthrough: SixelPassthrough
    public var cellSize: PixelSize
    /// Where `cellSize` came from: override, ioctl, CSI 16t, CSI 14t, default.
    public var cellSizeSource: String
    public var columns: Int
    public var rows: Int
    /// Sixel color registers the terminal reported (XTSMGRAPHICS), if any.
    public var colorRegisters: Int?
    public var sixelMaxSize: PixelSize?
    /// How the decision was made, for `--verbose` output and bug reports.
    public var notes: [String]

    public static let defaultCellSize = PixelSize(width: 10, height: 20)

    public init(graphics: GraphicsMode, colorMode: ColorMode = .ansi256, multiplexer: Multiplexer = .none,
                sixelPassthrough: SixelPassthrough = .none, cellSize: PixelSize = TerminalCapabilities.defaultCellSize,
                cellSizeSource: String = "default", columns: Int = 80, rows: Int = 24, colorRegisters: Int? = nil,
                sixelMaxSize: PixelSize? = nil, notes: [String] = []) {
        self.graphics = graphics
        self.colorMode = colorMode
        self.multiplexer = multiplexer
        self.sixelPassthrough = sixelPassthrough
        self.cellSize = cellSize
        self.cellSizeSource = cellSizeSource
        self.columns = columns
        self.rows = rows
        self.colorRegisters = colorRegisters
        self.sixelMaxSize = sixelMaxSize
        self.notes = notes
    }

    /// Sixel palette size to use: the terminal's register count when it reported one, at most 256.
    public var sixelColors: Int { max(2, min(256, colorRegisters ?? 256)) }

    /// TIOCGWINSZ: rows, columns and (often 0) pixel size of the terminal on `fd`.
    public static func windowSize(fd: Int32) -> (rows: Int, cols: Int, xpx: Int, ypx: Int)? {
        var r: Int32 = 0, c: Int32 = 0, xp: Int32 = 0, yp: Int32 = 0
        guard lidit_terminal_size(fd, &r, &c, &xp, &yp) == 0 else { return nil }
        return (Int(r), Int(c), Int(xp), Int(yp))
    }

    /// Detects through `/dev/tty` (queries need the controlling terminal, whatever stdout is).
    public static func detect(timeout: Double = 0.5,
                              environment: [String: String] = ProcessInfo.processInfo.environment,
                              ttyPath: String = "/dev/tty") -> TerminalCapabilities {
        let fd = open(ttyPath, O_RDWR | O_NOCTTY | O_CLOEXEC)
        defer { if fd >= 0 { close(fd) } }
        return detect(fd: fd, timeout: timeout, environment: environment)
    }

    /// Detects using an open terminal `fd` (-1: none, decide from the environment alone).
    public static func detect(fd: Int32, timeout: Double = 0.5, environment env: [String: String]) -> TerminalCapabilities {
        var notes: [String] = []
        let winsize = fd >= 0 ? windowSize(fd: fd) : nil
        // Queries are needed only when the answer can change something.
        var needQuery = fd >= 0 && isatty(fd) != 0 && answersMatter(environment: env, winsize: winsize)
        if needQuery, tcgetpgrp(fd) != getpgrp() {
            needQuery = false
            notes.append("not in the terminal's foreground process group: no queries")
        }
        var replies: TerminalReplies? = nil
        if needQuery {
            replies = query(fd: fd, timeout: timeout)
            if replies?.deviceAttributes == nil { notes.append("terminal did not answer DA1 within \(Int(timeout * 1000)) ms") }
        }
        var caps = decide(environment: env, replies: replies, winsize: winsize, isTerminal: fd >= 0 && isatty(fd) != 0)
        caps.notes = notes + caps.notes
        return caps
    }

    /// Whether the terminal's answers (DA1, cell size) can change the decision: not for TERM dumb or
    /// unset, nor when LIDIT_GRAPHICS names kitty, iTerm2, blocks or none, nor when sixel is forced or
    /// kitty / iTerm2 is known from the environment and the cell size is known without asking. (A
    /// terminal that answers after the timeout, as kitty under a software renderer does, would type
    /// its answers into the first text field.)
    static func answersMatter(environment env: [String: String], winsize: (rows: Int, cols: Int, xpx: Int, ypx: Int)?) -> Bool {
        let term = env["TERM"] ?? ""
        guard term != "dumb", !term.isEmpty else { return false }
        let override = graphicsOverride(env)
        let cellKnown = env["LIDIT_CELL_SIZE"].flatMap(parseSize) != nil || plausibleCell(winsize) != nil
        if let o = override, o != .sixel { return false }
        if override == .sixel, cellKnown { return false }
        if override == nil, inlineProtocol(env) != nil, cellKnown { return false }
        return true
    }

    /// The decision from environment, replies and window size (no I/O; what `detect` uses).
    public static func decide(environment env: [String: String], replies: TerminalReplies?,
                              winsize: (rows: Int, cols: Int, xpx: Int, ypx: Int)?, isTerminal: Bool = true) -> TerminalCapabilities {
        var notes: [String] = []
        let term = env["TERM"] ?? ""
        let mux: Multiplexer
        if let t = env["TMUX"], !t.isEmpty { mux = .tmux }
        else if let s = env["STY"], !s.isEmpty { mux = .screen }
        else if term.hasPrefix("screen") { mux = .screen }
        else if term.hasPrefix("tmux") { mux = .tmux }
        else { mux = .none }

        // Color depth.
        let colorMode: ColorMode
        let colorterm = (env["COLORTERM"] ?? "").lowercased()
        switch (env["LIDIT_COLOR"] ?? "").lowercased() {
        case "truecolor", "24bit", "direct": colorMode = .truecolor
        case "256", "ansi256": colorMode = .ansi256
        default:
            if colorterm == "truecolor" || colorterm == "24bit" || term.hasSuffix("-direct") || term.contains("truecolor") {
                colorMode = .truecolor
            } else if mux == .none, ["iTerm.app", "WezTerm", "vscode", "ghostty"].contains(env["TERM_PROGRAM"] ?? "")
                        || env["KONSOLE_VERSION"] != nil || env["WT_SESSION"] != nil {
                colorMode = .truecolor
            } else {
                colorMode = .ansi256
            }
        }

        // Graphics.
        var graphics: GraphicsMode
        var passthrough = SixelPassthrough.none
        if let o = graphicsOverride(env) {
            graphics = o
            notes.append("LIDIT_GRAPHICS=\(o.rawValue)")
            if o == .kitty || o == .iterm, mux == .tmux {
                passthrough = .tmux
                notes.append("\(o.rawValue) passed through tmux (needs `set -g allow-passthrough on`)")
            }
            if o == .sixel, mux != .none, !(replies?.hasSixelAttribute ?? false) {
                passthrough = mux == .tmux ? .tmux : .screen
                notes.append(mux == .tmux ? "sixel passed through tmux (needs `set -g allow-passthrough on`)"
                                          : "sixel passed through screen in DCS packets")
            }
        } else if term == "dumb" || term.isEmpty || !isTerminal {
            graphics = .none
            notes.append(term == "dumb" ? "TERM=dumb" : (term.isEmpty ? "TERM unset" : "not a terminal"))
        } else if let inline = inlineProtocol(env) {
            // kitty and iTerm2 also answer DA1 (kitty without sixel), so their own variables come first.
            graphics = inline
            if mux == .tmux {
                passthrough = .tmux
                notes.append("\(inline.rawValue) from the environment, passed through tmux (needs `set -g allow-passthrough on`)")
            } else {
                notes.append("\(inline.rawValue) from the environment")
            }
            if mux == .screen { graphics = .blocks; notes.append("screen cannot pass \(inline.rawValue) pictures") }
        } else if let r = replies, r.deviceAttributes != nil {
            if r.hasSixelAttribute {
                graphics = .sixel
                notes.append(mux == .none ? "DA1 reports sixel" : "\(mux.rawValue) draws sixel itself (DA1 attribute 4)")
            } else {
                graphics = .blocks
                notes.append(mux == .none ? "DA1 has no sixel attribute"
                                          : "\(mux.rawValue) does not draw sixel; LIDIT_GRAPHICS=sixel passes it through")
            }
        } else if mux == .none, envSuggestsSixel(env) {
            graphics = .sixel
            notes.append("sixel assumed from the environment (\(term))")
        } else {
            graphics = .blocks
        }

        // Cell size.
        var cell = defaultCellSize
        var source = "default"
        let cols = winsize.map { $0.cols } ?? 0, rows = winsize.map { $0.rows } ?? 0
        if let o = env["LIDIT_CELL_SIZE"].flatMap(parseSize) {
            cell = o; source = "override"
        } else if let c = plausibleCell(winsize) {
            cell = c; source = "ioctl"
        } else if let c = replies?.cellSize, c.width >= 2, c.height >= 4 {
            cell = c; source = "CSI 16t"
        } else if let area = replies?.textAreaPixels {
            let cc = replies?.textAreaCells.map { ($0.width, $0.height) } ?? (cols, rows)
            if cc.0 > 0, cc.1 > 0, area.width >= 2 * cc.0, area.height >= 4 * cc.1 {
                cell = PixelSize(width: area.width / cc.0, height: area.height / cc.1); source = "CSI 14t"
            }
        }
        let finalCols = cols > 0 ? cols : (replies?.textAreaCells?.width ?? Int(env["COLUMNS"] ?? "") ?? 80)
        let finalRows = rows > 0 ? rows : (replies?.textAreaCells?.height ?? Int(env["LINES"] ?? "") ?? 24)
        return TerminalCapabilities(graphics: graphics, colorMode: colorMode, multiplexer: mux, sixelPassthrough: passthrough,
                                    cellSize: cell, cellSizeSource: source, columns: finalCols, rows: finalRows,
                                    colorRegisters: replies?.colorRegisters, sixelMaxSize: replies?.sixelMaxSize, notes: notes)
    }

    static func graphicsOverride(_ env: [String: String]) -> GraphicsMode? {
        switch (env["LIDIT_GRAPHICS"] ?? "").lowercased() {
        case "sixel": return .sixel
        case "kitty": return .kitty
        case "iterm", "iterm2": return .iterm
        case "blocks", "block", "halfblocks", "ansi": return .blocks
        case "none", "off", "0": return GraphicsMode.none
        default: return nil
        }
    }

    static func parseSize(_ s: String) -> PixelSize? {
        let p = s.lowercased().split(separator: "x")
        guard p.count == 2, let w = Int(p[0]), let h = Int(p[1]), w > 0, h > 0 else { return nil }
        return PixelSize(width: w, height: h)
    }

    /// TIOCGWINSZ pixel fields, if believable (over SSH they are often 0).
    static func plausibleCell(_ ws: (rows: Int, cols: Int, xpx: Int, ypx: Int)?) -> PixelSize? {
        guard let w = ws, w.cols > 0, w.rows > 0, w.xpx >= 2 * w.cols, w.ypx >= 4 * w.rows else { return nil }
        return PixelSize(width: w.xpx / w.cols, height: w.ypx / w.rows)
    }

    /// kitty's protocol or iTerm2's from the terminal's own variables (inherited inside tmux):
    /// kitty (`TERM=xterm-kitty`, `KITTY_WINDOW_ID`), Ghostty (`TERM_PROGRAM=ghostty`,
    /// `TERM=xterm-ghostty`); iTerm2 (`TERM_PROGRAM=iTerm.app`, `LC_TERMINAL=iTerm2`).
    static func inlineProtocol(_ env: [String: String]) -> GraphicsMode? {
        let term = env["TERM"] ?? "", program = env["TERM_PROGRAM"] ?? ""
        if term == "xterm-kitty" || !(env["KITTY_WINDOW_ID"] ?? "").isEmpty || program == "ghostty" || term == "xterm-ghostty" {
            return .kitty
        }
        if program == "iTerm.app" || env["LC_TERMINAL"] == "iTerm2" { return .iterm }
        return nil
    }

    /// Terminals known to draw sixel, for when they do not answer DA1 in time.
    static func envSuggestsSixel(_ env: [String: String]) -> Bool {
        let term = env["TERM"] ?? ""
        if ["mlterm", "foot", "yaft", "contour", "xterm-sixel"].contains(where: { term.hasPrefix($0) }) { return true }
        if ["WezTerm", "mlterm"].contains(env["TERM_PROGRAM"] ?? "") { return true }
        if let k = env["KONSOLE_VERSION"], let v = Int(k), v >= 220370 { return true }
        return false
    }

    /// Sends the queries and collects replies until DA1 arrives or `timeout` passes.
    static func query(fd: Int32, timeout: Double) -> TerminalReplies? {
        guard let bytes = exchange(fd: fd, send: TerminalReplies.query, timeout: timeout, until: {
            // DA1 is the last query; its answer means every other answer has arrived.
            TerminalReplies.parse($0).deviceAttributes != nil
        }) else { return nil }
        return TerminalReplies.parse(bytes)
    }

    /// The cursor position (1-based row, column) from DSR `CSI 6 n` → `CSI row ; col R`.
    /// Inside tmux the pane answers, relative to the pane.
    public static func cursorPosition(fd: Int32, timeout: Double = 0.5) -> (row: Int, col: Int)? {
        func find(_ b: [UInt8]) -> (Int, Int)? {
            let s = String(decoding: b, as: UTF8.self)
            guard let r = s.range(of: "\u{1B}\\[([0-9]+);([0-9]+)R", options: .regularExpression) else { return nil }
            let body = s[r].dropFirst(2).dropLast()
            let p = body.split(separator: ";").compactMap { Int($0) }
            return p.count == 2 ? (p[0], p[1]) : nil
        }
        guard let bytes = exchange(fd: fd, send: "\u{1B}[6n", timeout: timeout, until: { find($0) != nil }) else { return nil }
        return find(bytes)
    }

    /// Writes `send` with the terminal in non-canonical, no-echo mode (so replies are not shown)
    /// and collects input until `until` is satisfied or `timeout` passes; settings are restored.
    static func exchange(fd: Int32, send: String, timeout: Double, until: ([UInt8]) -> Bool) -> [UInt8]? {
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else { return nil }
        defer { tcsetattr(fd, TCSANOW, &saved) }

        let q = Array(send.utf8)
        var off = 0
        while off < q.count {
            let n = q[off...].withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { if errno == EINTR { continue }; return nil }
            off += n
        }
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 512)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { break }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = poll(&pfd, 1, Int32(max(1, (left * 1000).rounded(.up))))
            if rc < 0 { if errno == EINTR { continue }; break }
            if rc == 0 { break }
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; break }
            bytes += buf[0..<n]
            if until(bytes) { break }
        }
        return bytes
    }

    /// The top-left cell of the current tmux pane in the outer terminal (0-based), from
    /// `tmux display-message`; nil outside tmux or if tmux cannot be asked.
    public static func tmuxPaneOrigin(environment env: [String: String] = ProcessInfo.processInfo.environment) -> (top: Int, left: Int)? {
        guard let t = env["TMUX"], !t.isEmpty else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var args = ["tmux", "display-message", "-p"]
        if let pane = env["TMUX_PANE"], !pane.isEmpty { args += ["-t", pane] }
        p.arguments = args + ["#{pane_top} #{pane_left}"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let parts = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        guard p.terminationStatus == 0, parts.count == 2 else { return nil }
        return (parts[0], parts[1])
    }
}
