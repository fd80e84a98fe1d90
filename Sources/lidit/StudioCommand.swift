import ArgumentParser
import Foundation
import Studio

struct StudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "studio",
        abstract: "Open the ncurses studio (the default command).",
        discussion: """
            Keys: Enter queues a generation, Alt+Enter or Ctrl+J inserts a newline, Tab / Shift+Tab \
            move between panes, Esc cancels the running job, g opens the gallery, F1 or ? shows every \
            key, Ctrl+Q quits.

            Environment: LIDIT_MODEL (model file), LIDIT_THEME (theme), LIDIT_GALLERY (gallery \
            folder), LIDIT_GRAPHICS=kitty|iterm|sixel|blocks|none (pictures), LIDIT_CELL_SIZE=WxH, \
            LIDIT_COLOR=truecolor|256 (picture colours), LIDIT_CONFIG (settings folder, else \
            $XDG_CONFIG_HOME/lidit, else ~/.config/lidit: studio.json, prompt-history.jsonl), LIDIT_THEMES \
            (own themes, else themes/ in the settings folder).
            """
    )

    @Option(help: "Colour theme: dark, light, high-contrast, or a file NAME.json in themes/ or your themes folder (LIDIT_THEMES, else themes/ in the settings folder; default: LIDIT_THEME, else the last one used).")
    var theme: String?

    @Option(help: "Model file (default: LIDIT_MODEL, else models/lidit-shapes.safetensors).")
    var model: String?

    @Option(help: "Most colours for the interface: truecolor, 256, 16, 8 or mono (default: what the terminal offers).")
    var colors: String?

    @Option(parsing: .unconditional, help: "Show a preview every N sampling steps (\(Bounds.previewEvery.text); 0 = none; default: the saved setting, 1).")
    var previewEvery: Int?

    @Option(parsing: .unconditional, help: "At most one preview per this many milliseconds (\(Bounds.previewInterval.text)), for slow links (default: the saved setting, 100).")
    var previewInterval: Int?

    func validate() throws {
        try Bounds.previewEvery.check(previewEvery)
        try Bounds.previewInterval.check(previewInterval)
        if let c = colors, ColorDepth(rawValue: c.lowercased()) == nil, c.lowercased() != "auto" {
            throw ValidationError("--colors must be truecolor, 256, 16, 8, mono or auto")
        }
    }

    func run() throws {
        let depth = colors.flatMap { ColorDepth(rawValue: $0.lowercased()) }
        let options = StudioOptions(theme: theme, modelPath: model ?? defaultModelPath(), appVersion: LIDiT.version,
                                    colors: depth, previewEvery: previewEvery, previewInterval: previewInterval)
        let app = StudioApp(options: options)
        do {
            try app.run()
        } catch let error as StudioError {
            throw CLIError(error.description)
        }
        // Left on a signal: the terminal is restored; exit as a shell reports that signal.
        if let sig = app.terminationSignal { throw ExitCode(128 + sig) }
    }
}
