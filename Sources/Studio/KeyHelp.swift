/// Every key of the studio, grouped as the help screen shows them (the README's table is checked
/// against this list by a test).
public enum KeyHelp {
    public struct Section: Sendable {
        public var title: String
        public var keys: [(keys: String, action: String)]
    }

    public static let sections: [Section] = [
        Section(title: "Everywhere", keys: [
            ("Ctrl+Q", "quit (settings and the prompt are kept for next time)"),
            ("F1, ?", "this help (? outside text fields)"),
            ("Tab / Shift+Tab", "next / previous pane"),
            ("Esc", "cancel the running job"),
            ("Ctrl+G, F5", "queue a generation from any pane"),
            ("Ctrl+X", "clear the queue (pending and finished jobs)"),
            ("g, F3", "open the gallery browser (g outside text fields)"),
            ("t", "next theme (outside text fields)"),
            ("Ctrl+L", "redraw the screen"),
            ("F2", "dismiss the warning on the status line (a broken theme or settings file)"),
            ("F6", "live preview on / off: after each pause in editing the prompt or settings, a \(LivePreview.steps)-step picture of it (not queued, not saved)"),
            ("F7", "heat map on / off: the preview shows a prompt word's attention map (the word under the prompt cursor, else F8's), with the branch and template shares"),
            ("F8", "heat map: next prompt word"),
        ]),
        Section(title: "Prompt and negative prompt", keys: [
            ("Enter", "queue a generation"),
            ("Alt+Enter, Ctrl+J", "new line"),
            ("Left / Right", "previous / next character"),
            ("Ctrl+Left / Ctrl+Right, Alt+B / Alt+F", "previous / next word"),
            ("Up / Down", "line above / below (wrapped lines count)"),
            ("Home / End, Ctrl+A / Ctrl+E", "start / end of the line"),
            ("Backspace / Delete", "delete a character"),
            ("Ctrl+W, Alt+Backspace", "delete the word before the cursor"),
            ("Ctrl+K / Ctrl+U", "delete to the end / start of the line"),
            ("Ctrl+Z / Ctrl+Y", "undo / redo"),
            ("Alt+Up / Alt+Down, Ctrl+P / Ctrl+N", "older / newer prompt from the history"),
        ]),
        Section(title: "Settings and encoders", keys: [
            ("Up / Down, k / j", "choose a setting"),
            ("Left / Right, h / l, - / +", "change it (PgUp / PgDn: bigger steps)"),
            ("Space", "next choice, or switch on / off (on Start strength / Variation str.: drop the start picture / variation seed)"),
            ("0-9, Enter", "type a value (- starts a negative layer): Enter sets it, Esc cancels"),
            ("r", "new random seed (seed row)"),
        ]),
        Section(title: "Queue", keys: [
            ("Up / Down", "choose a job (its picture shows in the preview)"),
            ("x, Delete", "cancel the chosen job"),
            ("r", "run the chosen job again"),
            ("c", "clear the queue (like Ctrl+X)"),
            ("a", "A/B compare: mark the chosen finished job (or gallery picture) as A, then another as B: side by side with the settings that differ; a again ends it"),
        ]),
        Section(title: "Gallery pane and gallery browser", keys: [
            ("arrows, h j k l, PgUp/PgDn, Home/End", "choose a picture"),
            ("Enter", "pane: open the browser; browser: reuse all parameters"),
            ("r", "reuse all parameters (prompts, seed, settings, encoders)"),
            ("p", "reuse the prompts only"),
            ("s", "reuse the seed (seed mode becomes fixed)"),
            ("i", "use this picture as the start of the next generations (img2img at Start strength; i again or Space on that setting removes it)"),
            ("v", "queue 4 variations of this picture (its parameters and seed, new variation seeds at Variation strength)"),
            ("d, Delete", "delete the picture (asks y / n; it goes to the gallery's trash)"),
            ("u", "undo the last delete"),
            ("a", "A/B compare with this picture (as in the queue)"),
            ("/", "search prompts (browser): type, then Enter or Down; Esc clears"),
            ("Esc, q, g", "close the browser"),
        ]),
    ]

    /// The help screen's lines: (text, role) runs per line.
    public static func lines(width: Int) -> [[(String, Role)]] {
        var out: [[(String, Role)]] = []
        let keyW = min(40, max(16, width * 40 / 100))
        for s in sections {
            if !out.isEmpty { out.append([]) }
            out.append([(s.title, .headingFocus)])
            for (k, a) in s.keys {
                let wrapped = TextWidth.wrap(a, columns: max(10, width - keyW - 2))
                let keyLines = TextWidth.wrap(k, columns: keyW - 2)
                for i in 0..<max(wrapped.count, keyLines.count) {
                    let kl = i < keyLines.count ? keyLines[i] : ""
                    let al = i < wrapped.count ? wrapped[i] : ""
                    out.append([("  " + TextWidth.pad(kl, to: keyW - 2), .key), (al, .help)])
                }
            }
        }
        return out
    }
}
