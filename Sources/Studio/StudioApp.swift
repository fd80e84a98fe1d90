import CNcursesW
import CShims
import Foundation

public struct StudioError: Error, CustomStringConvertible {
    public var description: String
}

/// Set from signal handlers; the UI loop polls it every 50 ms and leaves curses cleanly.
nonisolated(unsafe) private var terminationRequested: sig_atomic_t = 0

/// The studio's screen. This first version is the shell the full studio grows into: it owns the
/// terminal (curses on entry, restored on every exit path), adapts to resizes, edits a prompt,
/// and quits on Ctrl+Q.
public final class StudioApp {
    private var prompt: [Character] = []
    private var cursor = 0
    private var message = "Type a prompt. Ctrl+Q quits."

    public init() {}

    public func run() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw StudioError(description: "the studio needs an interactive terminal (stdin and stdout must be a TTY)")
        }
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        guard !term.isEmpty, term != "dumb" else {
            throw StudioError(description: "the studio needs a cursor-addressable terminal (TERM is '\(term)')")
        }
        setlocale(LC_ALL, "")
        guard initscr() != nil else { throw StudioError(description: "could not initialise the terminal") }
        defer { endwin() }
        signal(SIGTERM) { _ in terminationRequested = 1 }
        signal(SIGINT) { _ in terminationRequested = 1 }
        signal(SIGHUP) { _ in terminationRequested = 1 }
        raw()
        noecho()
        keypad(stdscr, true)
        timeout(50)
        if has_colors() {
            start_color()
            use_default_colors()
            init_pair(1, Int16(COLOR_CYAN), -1)
            init_pair(2, Int16(COLOR_BLACK), Int16(COLOR_CYAN))
        }
        draw()
        while terminationRequested == 0 {
            var ch: wint_t = 0
            let kind = wget_wch(stdscr, &ch)
            if kind == ERR { continue }
            if kind == KEY_CODE_YES {
                handleKey(Int32(ch))
            } else if ch == 17 { // Ctrl+Q
                break
            } else {
                handleCharacter(ch)
            }
            draw()
        }
    }

    private func handleKey(_ key: Int32) {
        switch key {
        case KEY_LEFT: cursor = max(0, cursor - 1)
        case KEY_RIGHT: cursor = min(prompt.count, cursor + 1)
        case KEY_HOME: cursor = 0
        case KEY_END: cursor = prompt.count
        case KEY_BACKSPACE: deleteBackward()
        case KEY_DC: if cursor < prompt.count { prompt.remove(at: cursor) }
        default: break // KEY_RESIZE and the rest: a redraw is enough
        }
    }

    private func handleCharacter(_ ch: wint_t) {
        switch ch {
        case 127, 8: deleteBackward()
        case 13, 10: message = "Generation arrives with the model work; your prompt stays here."
        default:
            guard ch >= 32, let scalar = Unicode.Scalar(UInt32(ch)) else { return }
            prompt.insert(Character(scalar), at: cursor)
            cursor += 1
        }
    }

    private func deleteBackward() {
        guard cursor > 0 else { return }
        prompt.remove(at: cursor - 1)
        cursor -= 1
    }

    private func draw() {
        erase()
        let rows = Int(lidit_getmaxy(stdscr)), cols = Int(lidit_getmaxx(stdscr))
        if rows < 8 || cols < 40 {
            put(0, 0, String("Terminal too small (\(cols)×\(rows)); need at least 40×8.".prefix(max(cols, 0))))
            refresh()
            return
        }
        attron(lidit_color_pair(2))
        put(0, 0, String(" LI-DiT Studio".padding(toLength: cols, withPad: " ", startingAt: 0)))
        attroff(lidit_color_pair(2))
        attron(lidit_color_pair(1))
        put(2, 1, "Prompt")
        attroff(lidit_color_pair(1))
        let width = cols - 4
        let text = String(prompt)
        let start = max(0, cursor - width + 1)
        let visible = String(Array(text)[start..<min(prompt.count, start + width)])
        put(3, 2, visible)
        put(rows - 1, 1, String(message.prefix(cols - 2)))
        move(3, Int32(2 + displayWidth(String(Array(text)[start..<cursor]))))
        refresh()
    }

    private func put(_ y: Int, _ x: Int, _ s: String) {
        mvaddstr(Int32(y), Int32(x), s)
    }

    private func displayWidth(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) { w, u in
            let v = lidit_wcwidth(u.value)
            return w + max(0, Int(v))
        }
    }
}
