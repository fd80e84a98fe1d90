import ArgumentParser
import Foundation
import Gallery
import ImageIO
import TerminalGraphics

/// `--sixel` / `--blocks`: how to draw, overriding detection.
enum PictureModeFlag: String, EnumerableFlag {
    case sixel, kitty, iterm, blocks

    static func help(for value: PictureModeFlag) -> ArgumentHelp? {
        switch value {
        case .sixel: return "Draw with sixel graphics, whatever the terminal reports."
        case .kitty: return "Draw with the kitty graphics protocol (kitty, Ghostty, WezTerm, Konsole)."
        case .iterm: return "Draw with iTerm2 inline images (iTerm2, WezTerm, VS Code)."
        case .blocks: return "Draw with colored half blocks (works in any color terminal)."
        }
    }
}

/// Picture options shared by `show` and `gallery show`.
struct PictureOptions: ParsableArguments {
    @Flag(exclusivity: .exclusive)
    var mode: PictureModeFlag?

    @Option(parsing: .unconditional, help: "Whole-number upscaling for sixel (\(Bounds.scale.text); default: the largest that fits, at most 8).")
    var scale: Int?

    @Option(parsing: .unconditional, help: "Most text columns to use (\(Bounds.columns.text); default: the terminal width).")
    var width: Int?

    @Option(parsing: .unconditional, help: "Most text rows to use (\(Bounds.rows.text); default: the terminal height less two).")
    var height: Int?

    @Flag(help: "Print how the terminal was detected (to stderr).")
    var verbose = false

    func validate() throws {
        try Bounds.scale.check(scale)
        try Bounds.columns.check(width)
        try Bounds.rows.check(height)
    }
}

enum TerminalOutput {
    static func writeStdout(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }

    /// A warning on stderr; `s` may name files from anywhere, so it is made terminal-safe.
    static func warn(_ s: String) {
        FileHandle.standardError.write(Data("warning: \(TerminalText.safe(s))\n".utf8))
    }

    /// Detects the terminal (only when stdout is one) and draws `image`.
    static func printPicture(_ image: RGBImage, options: PictureOptions) throws {
        let env = ProcessInfo.processInfo.environment
        let caps = isatty(STDOUT_FILENO) != 0
            ? TerminalCapabilities.detect(environment: env)
            : TerminalCapabilities.detect(fd: -1, environment: env)
        if options.verbose {
            let note = caps.notes.isEmpty ? "" : " (\(caps.notes.joined(separator: "; ")))"
            FileHandle.standardError.write(Data(("terminal: graphics=\(caps.graphics.rawValue)\(note), colors=\(caps.colorMode.rawValue), "
                + "cell=\(caps.cellSize) from \(caps.cellSizeSource), \(caps.columns)x\(caps.rows), "
                + "multiplexer=\(caps.multiplexer.rawValue), passthrough=\(caps.sixelPassthrough.rawValue), "
                + "sixel registers=\(caps.colorRegisters.map(String.init) ?? "?")\n").utf8))
        }
        let mode: GraphicsMode
        switch options.mode {
        case .sixel?: mode = .sixel
        case .kitty?: mode = .kitty
        case .iterm?: mode = .iterm
        case .blocks?: mode = .blocks
        case nil: mode = caps.graphics
        }
        if mode == .none {
            warn("this terminal cannot show pictures (\(caps.notes.last ?? "no terminal")); use --blocks, --sixel, --kitty or --iterm")
            return
        }
        var c = caps
        if mode == .kitty || mode == .iterm {
            // tmux draws neither: the picture goes through to the outer terminal.
            if caps.multiplexer == .tmux { c.sixelPassthrough = .tmux }
            try printInline(image, mode: mode, capabilities: c, options: options)
            return
        }
        if mode == .sixel, options.mode == .sixel, caps.graphics != .sixel, caps.multiplexer != .none, caps.sixelPassthrough == .none {
            // Forced sixel inside a multiplexer that does not draw it: pass it through.
            c.sixelPassthrough = caps.multiplexer == .tmux ? .tmux : .screen
        }
        if mode == .sixel, c.sixelPassthrough == .tmux, isatty(STDOUT_FILENO) != 0 {
            try printThroughTmux(image, capabilities: c, options: options)
            return
        }
        let rendered: RenderedPicture
        do {
            rendered = try TerminalPicture.render(image, capabilities: c, mode: mode, maxColumns: options.width,
                                                  maxRows: options.height ?? max(4, caps.rows - 2), scale: options.scale)
        } catch {
            throw CLIError("cannot draw the picture: \(error)")
        }
        writeStdout(rendered.text + "\n")
    }

    /// kitty or iTerm2: the rows are reserved first (kitty keeps the cursor where it is, and in
    /// tmux the picture goes to the outer terminal at the pane's cursor), then the cursor moves
    /// below the picture. kitty gets a fresh image id, so earlier pictures stay.
    static func printInline(_ image: RGBImage, mode: GraphicsMode, capabilities caps: TerminalCapabilities, options: PictureOptions) throws {
        var inner = caps
        inner.sixelPassthrough = .none
        let r: RenderedPicture
        do {
            r = try TerminalPicture.render(image, capabilities: inner, mode: mode, maxColumns: options.width,
                                           maxRows: options.height ?? max(4, caps.rows - 2), scale: options.scale)
        } catch {
            throw CLIError("cannot draw the picture: \(error)")
        }
        guard let png = r.png else { return }
        let id = Int.random(in: 1...0x7FFF_FFFF)
        let tmux = caps.sixelPassthrough == .tmux
        let transmit = mode == .kitty ? InlineImages.kittyTransmit(png, id: id, passthrough: caps.sixelPassthrough) : ""
        let body = mode == .kitty ? InlineImages.kittyPlace(id: id) : InlineImages.iterm(png, width: r.pixelWidth, height: r.pixelHeight)
        writeStdout(String(repeating: "\n", count: r.rows) + "\u{1B}[\(r.rows)A")
        if tmux {
            writeStdout(transmit)
            let tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
            defer { if tty >= 0 { close(tty) } }
            if isatty(STDOUT_FILENO) != 0, tty >= 0, let pos = TerminalCapabilities.cursorPosition(fd: tty),
               let origin = TerminalCapabilities.tmuxPaneOrigin() {
                writeStdout(SixelEncoder.wrapForTmux(body, outerRow: origin.top + pos.row, outerColumn: origin.left + pos.col))
            } else {
                writeStdout(SixelEncoder.wrapForTmux(body))
            }
        } else {
            writeStdout(transmit + "\u{1B}7" + body + "\u{1B}8")
        }
        writeStdout(String(repeating: "\n", count: r.rows))
    }

    /// tmux without sixel of its own: reserve the rows in the pane, then pass the picture to the
    /// outer terminal positioned at those rows (pane origin from tmux, cursor from DSR).
    static func printThroughTmux(_ image: RGBImage, capabilities caps: TerminalCapabilities, options: PictureOptions) throws {
        var inner = caps
        inner.sixelPassthrough = .none
        let r: RenderedPicture
        do {
            r = try TerminalPicture.render(image, capabilities: inner, mode: .sixel, maxColumns: options.width,
                                           maxRows: options.height ?? max(4, caps.rows - 2), scale: options.scale)
        } catch {
            throw CLIError("cannot draw the picture: \(error)")
        }
        writeStdout(String(repeating: "\n", count: r.rows) + "\u{1B}[\(r.rows)A")
        let tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        defer { if tty >= 0 { close(tty) } }
        if tty >= 0, let pos = TerminalCapabilities.cursorPosition(fd: tty), let origin = TerminalCapabilities.tmuxPaneOrigin() {
            writeStdout(SixelEncoder.wrapForTmux(r.text, outerRow: origin.top + pos.row, outerColumn: origin.left + pos.col))
        } else {
            writeStdout(SixelEncoder.wrapForTmux(r.text))
        }
        writeStdout(String(repeating: "\n", count: r.rows))
    }

    /// The settings of a picture as labelled lines. Every value comes from a file that may come
    /// from anywhere, so each is made terminal-safe (newlines in prompts stay, indented).
    static func describe(_ s: GenerationSettings, source: MetadataSource, parameters: String?) -> String {
        var out: [String] = []
        func line(_ k: String, _ v: String) {
            let value = TerminalText.safe(v, keepNewlines: true).replacingOccurrences(of: "\n", with: "\n           ")
            out.append(TerminalText.safe(k).padding(toLength: 11, withPad: " ", startingAt: 0) + value)
        }
        let known = source != .none
        line("Prompt:", s.prompt.isEmpty ? "(none)" : s.prompt)
        if !s.negativePrompt.isEmpty { line("Negative:", s.negativePrompt) }
        if known {
            let sampler = s.samplerLabel == s.sampler ? s.sampler : "\(s.samplerLabel) (\(s.sampler))"
            line("Seed:", String(s.seed))
            line("Steps:", String(s.steps))
            line("CFG scale:", number(s.guidanceScale))
            line("Sampler:", sampler + (s.scheduler.map { ", schedule \($0)" } ?? ""))
        }
        line("Size:", "\(s.width)x\(s.height)")
        if let m = s.modelID { line("Model:", m + (s.modelHash.map { " [\($0)]" } ?? "")) }
        else if let h = s.modelHash { line("Model hash:", h) }
        if !s.fusionWeights.isEmpty {
            line("Fusion:", s.fusionWeights.sorted { $0.key < $1.key }.map { "\($0.key)=\(number($0.value))" }.joined(separator: ", "))
        }
        for (enc, t) in s.templates.sorted(by: { $0.key < $1.key }) {
            line("Template:", "\(enc): instruction \(t.instruction ? "on" : "off")" + (t.text.map { ", \"\($0)\"" } ?? ""))
        }
        if let l = s.layer { line("Layer:", String(l)) }
        if let r = s.guidanceRescale { line("CFG rescale:", number(r)) }
        if let g = s.guidanceInterval { line("CFG interval:", "\(number(g.runStart))–\(number(g.runEnd))") }
        if let sh = s.shift { line("Shift:", number(sh)) }
        if let v = s.variationSeed { line("Variation:", "seed \(v), strength \(s.variationStrength.map(number) ?? "?")") }
        if let d = s.denoisingStrength { line("Start:", "\(s.initImage ?? "?") at strength \(number(d))") }
        if let t = s.elapsedSeconds { line("Time:", String(format: "%.2f s", t)) }
        if s.created.timeIntervalSince1970 > 0 { line("Created:", ISO8601DateFormatter().string(from: s.created)) }
        if let v = s.appVersion { line("Version:", "lidit \(v)") }
        for (k, v) in s.extra.sorted(by: { $0.key < $1.key }) { line(k + ":", v) }
        line("Source:", source.rawValue)
        if let p = parameters, source != .lidit {
            out.append("Parameters text:")
            out.append(TerminalText.safe(p, keepNewlines: true))
        }
        return out.joined(separator: "\n")
    }

    static func number(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a PNG in the terminal (kitty or iTerm2 pictures, sixel, else half blocks).",
        discussion: """
            kitty's graphics protocol is used in kitty and Ghostty (TERM=xterm-kitty, KITTY_WINDOW_ID, \
            TERM_PROGRAM=ghostty), iTerm2's inline images in iTerm2 (TERM_PROGRAM=iTerm.app, \
            LC_TERMINAL=iTerm2), sixel where the terminal reports it. Detection can be overridden with \
            LIDIT_GRAPHICS=kitty|iterm|sixel|blocks|none, LIDIT_CELL_SIZE=WxH (pixels of one text cell) \
            and LIDIT_COLOR=truecolor|256. Inside tmux, kitty and iTerm2 pictures (and --sixel where tmux \
            has no sixel) pass through to the outer terminal (needs `set -g allow-passthrough on`).
            """
    )

    @Argument(help: "The PNG file.")
    var file: String

    @OptionGroup var picture: PictureOptions

    @Flag(help: "Also print the generation settings stored in the file.")
    var info = false

    func run() throws {
        let png: PNGFile
        do { png = try PNGFile.read(path: file) } catch { throw CLIError("cannot read \(error)") }
        if info {
            let meta = PictureMetadata.read(png)
            TerminalOutput.writeStdout(TerminalOutput.describe(meta.settings, source: meta.source, parameters: meta.parametersText) + "\n")
        }
        try TerminalOutput.printPicture(png.image, options: picture)
    }
}
