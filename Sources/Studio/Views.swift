import Foundation
import Gallery

/// Draws the studio state into a canvas (pure: the same state gives the same screen).
public enum StudioView {
    public static func render(_ state: StudioState, now: Date = Date(), pictures: Bool = true) -> Canvas {
        var c = Canvas(width: state.columns, height: state.rows)
        if state.screen == .gallery, let g = state.galleryLayout {
            drawGallery(&c, state, g, pictures: pictures)
        } else if let l = state.layout {
            drawMain(&c, state, l, now: now, pictures: pictures)
        } else {
            drawTooSmall(&c, state)
            return c
        }
        if state.showHelp { drawHelp(&c, state) }
        return c
    }

    static func drawTooSmall(_ c: inout Canvas, _ s: StudioState) {
        let text = ["Terminal too small: \(s.columns)×\(s.rows).",
                    "The studio needs at least \(MainLayout.minimumColumns)×\(MainLayout.minimumRows).",
                    "Enlarge the window, or press Ctrl+Q to quit."]
        var lines: [(String, Role)] = []
        for (i, t) in text.enumerated() {
            for l in TextWidth.wrap(t, columns: max(1, s.columns - 2)) { lines.append((l.trimmingCharacters(in: .whitespaces), i == 0 ? .error : .base)) }
        }
        let top = max(0, (s.rows - lines.count) / 2)
        for (i, (l, role)) in lines.enumerated() {
            c.put(top + i, max(0, (s.columns - TextWidth.width(l)) / 2), l, role: role)
        }
    }

    // MARK: Bars

    static func titleBar(_ c: inout Canvas, _ s: StudioState, _ r: Rect, subtitle: String, now: Date) {
        c.fill(r, role: .title)
        c.put(r.y, 1, "LI-DiT Studio" + subtitle, role: .title)
        var right: String
        switch s.model {
        case .loading: right = "loading model…"
        case .ready(let info): right = "\(info.modelID) · \(info.encoders.map(\.id).joined(separator: "+"))"
        case .unavailable: right = "no model"
        }
        if let j = s.runningJob {
            var p = "▶ #\(j.id) \(j.step)/\(j.totalSteps)"
            if let eta = j.eta(now: now) { p += " ETA \(duration(eta))" }
            right = p + " │ " + right
        }
        right += " │ F1 help "
        let w = TextWidth.width(right)
        if w < r.width - 16 { c.put(r.y, r.width - w, right, role: .title) }
    }

    static func statusBar(_ c: inout Canvas, _ s: StudioState, _ r: Rect, hint: String) {
        c.fill(r, role: .status)
        let role: Role
        switch s.message.level {
        case .info: role = .status
        case .success: role = .success
        case .warning: role = .warning
        case .error: role = .error
        }
        let hw = TextWidth.width(hint)
        let room = r.width - 2 - (hw + 3 < r.width / 2 ? hw + 3 : 0)
        if let notice = s.notices.first {
            let more = s.notices.count > 1 ? " (+\(s.notices.count - 1))" : ""
            c.put(r.y, 1, TextWidth.truncate("⚠ " + notice.replacingOccurrences(of: "\n", with: " ") + more, to: room), role: .warning)
            if hw + 3 < r.width / 2 { c.put(r.y, r.width - hw - 1, hint, role: .status) }
            return
        }
        let msg = s.message.text.replacingOccurrences(of: "\n", with: " ")
        c.put(r.y, 1, TextWidth.truncate(msg, to: room), role: role)
        if hw + 3 < r.width / 2 { c.put(r.y, r.width - hw - 1, hint, role: .status) }
    }

    static func hint(_ s: StudioState) -> String {
        if s.showHelp { return "Esc closes help" }
        if !s.notices.isEmpty { return "F2 dismisses" }
        if s.gallery.confirmDelete != nil { return "y deletes · any other key keeps" }
        if s.edit != nil { return "Enter sets · Esc cancels" }
        if s.screen == .gallery {
            return s.gallery.searching ? "type to search · Enter results · Esc clears" : "r reuse · i start · v variations · d delete · / search · Esc back"
        }
        switch s.focus {
        case .prompt, .negative: return "Enter queue · Alt+Enter newline · Tab next · F1 help"
        case .settings, .encoders: return "←→ change · ↑↓ choose · ? help"
        case .queue: return "x cancel · r again · c clear · ? help"
        case .gallery: return "Enter browse · r reuse · i start · v variations · g gallery"
        }
    }

    static func duration(_ s: Double) -> String {
        if s < 60 { return "\(Int(s.rounded()))s" }
        let m = Int(s) / 60, sec = Int(s) % 60
        return m < 60 ? "\(m)m\(String(format: "%02d", sec))s" : "\(m / 60)h\(String(format: "%02d", m % 60))m"
    }

    // MARK: Main screen

    static func drawMain(_ c: inout Canvas, _ s: StudioState, _ l: MainLayout, now: Date, pictures: Bool) {
        titleBar(&c, s, l.title, subtitle: "", now: now)
        statusBar(&c, s, l.status, hint: hint(s))
        drawTextField(&c, s, buffer: s.prompt, rect: l.prompt, title: "Prompt", focus: .prompt,
                      width: l.textWidth(.prompt), placeholder: "Describe a picture, e.g. a red circle above a blue square")
        drawTextField(&c, s, buffer: s.negative, rect: l.negative, title: "Negative prompt", focus: .negative,
                      width: l.textWidth(.negative), placeholder: "What to avoid (optional)")
        for (pane, rect) in l.panes {
            switch pane {
            case .settings: drawSettings(&c, s, rect, stacked: l.stacked.contains { $0.contains(.settings) })
            case .encoders: drawEncoders(&c, s, rect, stacked: l.stacked.contains { $0.contains(.encoders) })
            case .queue: drawQueue(&c, s, rect, now: now, stacked: l.stacked.contains { $0.contains(.queue) })
            case .gallery: drawGalleryPane(&c, s, rect, stacked: l.stacked.contains { $0.contains(.gallery) })
            default: break
            }
        }
        drawPreview(&c, s, l.preview, pictures: pictures)
    }

    static func stackHint(_ pane: Focus, _ stacked: Bool) -> String? {
        guard stacked else { return nil }
        switch pane {
        case .settings: return "Tab: encoders"
        case .encoders: return "Shift+Tab: settings"
        case .queue: return "Tab: gallery"
        case .gallery: return "Shift+Tab: queue"
        default: return nil
        }
    }

    static func drawTextField(_ c: inout Canvas, _ s: StudioState, buffer: TextBuffer, rect: Rect, title: String,
                              focus: Focus, width: Int, placeholder: String) {
        let focused = s.screen == .main && s.focus == focus && !s.showHelp && s.edit == nil
        let chars = buffer.chars
        let count = chars.count
        c.box(rect, title: title, focused: focused, extra: count > 0 ? "\(count) chars" : nil)
        let inner = rect.inner
        c.fill(inner, role: focused ? .fieldFocus : .field)
        guard inner.height > 0 else { return }
        if chars.isEmpty && !focused {
            c.put(inner.y, inner.x, TextWidth.truncate(placeholder, to: inner.width), role: .dim)
        } else if chars.isEmpty {
            c.put(inner.y, inner.x + 1, TextWidth.truncate(placeholder, to: inner.width - 1), role: .dim)
        }
        let lines = TextBuffer.layout(chars, width: width)
        let (row, col) = TextBuffer.position(of: buffer.cursor, in: lines, chars: chars)
        let first = max(0, row - inner.height + 1)
        for (i, line) in lines.enumerated().dropFirst(first).prefix(inner.height) {
            c.put(inner.y + i - first, inner.x, String(chars[line.start..<line.end]), role: focused ? .fieldFocus : .field,
                  maxWidth: inner.width)
        }
        if first > 0 { c.put(rect.y, rect.maxX - 3, "▲", role: .dim) }
        if first + inner.height < lines.count { c.put(rect.maxY - 1, rect.maxX - 3, "▼", role: .dim) }
        if focused { c.cursor = (inner.y + row - first, inner.x + min(col, inner.width - 1)) }
    }

    static func listRow(_ c: inout Canvas, y: Int, rect: Rect, selected: Bool, focused: Bool, label: String, value: String,
                        labelWidth: Int, valueRole: Role = .value) {
        let inner = rect.inner
        let rowRole: Role? = selected ? (focused ? .selection : .selectionInactive) : nil
        if let rowRole { c.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), role: rowRole) }
        c.put(y, inner.x + 1, TextWidth.pad(label, to: labelWidth), role: rowRole ?? .label, maxWidth: inner.width - 1)
        c.put(y, inner.x + 1 + labelWidth + 1, value, role: rowRole ?? valueRole, maxWidth: max(0, inner.width - labelWidth - 3))
    }

    static func drawSettings(_ c: inout Canvas, _ s: StudioState, _ rect: Rect, stacked: Bool) {
        let focused = s.screen == .main && s.focus == .settings && !s.showHelp
        c.box(rect, title: "Settings", focused: focused, extra: stackHint(.settings, stacked))
        let inner = rect.inner
        guard inner.height > 0 else { return }
        let rows = SettingRow.allCases
        let first = max(0, min(s.settingsRow - inner.height / 2, rows.count - inner.height))
        let labelW = min(14, max(8, inner.width / 2 - 2))
        for (i, row) in rows.enumerated().dropFirst(first).prefix(inner.height) {
            let y = inner.y + i - first
            var value = s.settingValue(row)
            var vrole: Role = .value
            if row == .seed && s.settings.seedMode == .random { value += "  (random next)"; vrole = .value }
            if row == .eta && !s.settings.samplerKind.usesEta { vrole = .dim }
            if row == .sampler || row == .seedMode || row == .theme { value = "◂ \(value) ▸" }
            if let e = s.edit, e.target == .setting(row) {
                value = e.buffer
                listRow(&c, y: y, rect: rect, selected: true, focused: true, label: row.label, value: value, labelWidth: labelW)
                c.cursor = (y, min(inner.maxX - 1, inner.x + 2 + labelW + TextWidth.width(e.buffer)))
                continue
            }
            listRow(&c, y: y, rect: rect, selected: i == s.settingsRow, focused: focused, label: row.label, value: value,
                    labelWidth: labelW, valueRole: vrole)
        }
        if first > 0 { c.put(rect.y, rect.maxX - 3, "▲", role: .dim) }
        if first + inner.height < rows.count { c.put(rect.maxY - 1, rect.maxX - 3, "▼", role: .dim) }
    }

    static func drawEncoders(_ c: inout Canvas, _ s: StudioState, _ rect: Rect, stacked: Bool) {
        let focused = s.screen == .main && s.focus == .encoders && !s.showHelp
        c.box(rect, title: "Encoders", focused: focused, extra: stackHint(.encoders, stacked))
        let inner = rect.inner
        guard inner.height > 0 else { return }
        guard let info = s.modelInfo else {
            let text: String, role: Role
            switch s.model {
            case .loading: text = "Loading the model and its LLMs…"; role = .dim
            case .unavailable(let why): text = "No model: \(why)"; role = .error
            case .ready: text = ""; role = .dim
            }
            for (i, line) in TextWidth.wrap(text, columns: max(1, inner.width - 2)).prefix(inner.height).enumerated() {
                c.put(inner.y + i, inner.x + 1, line, role: role)
            }
            return
        }
        // Lines: a heading per encoder, then its three knobs.
        var lines: [(label: String, value: String, row: Int?, role: Role)] = []
        var r = 0
        // Branch shares of the previewed picture's cross-attention (heat-map maps), when known.
        let shownMaps = previewContent(s).flatMap { s.attention(for: $0.ref)?.first }
        for e in info.encoders {
            lines.append((e.id, "\(e.blockCount) blocks", nil, .accent))
            if let a = shownMaps, let i = a.branches.firstIndex(of: e.id) {
                lines.append(("  attention", String(format: "%.0f%%", 100 * a.branchShares[i]), nil, .dim))
            }
            for f in EncoderField.allCases {
                switch f {
                case .fusion: lines.append(("  fusion", String(format: "%.1f", s.fusion(e)) + (s.fusion(e) == 0 ? " (off)" : ""), r, .value))
                case .template: lines.append(("  template", s.templateOn(e) ? "on" : "off", r, .value))
                case .layer:
                    let l = s.layer(e)
                    lines.append(("  layer", "\(l)" + (l == e.defaultLayer ? " (trained)" : ""), r, .value))
                }
                r += 1
            }
        }
        let selLine = lines.firstIndex { $0.row == s.encoderRow } ?? 0
        let first = max(0, min(selLine - inner.height / 2, lines.count - inner.height))
        let labelW = min(12, max(8, inner.width / 2 - 2))
        for (i, line) in lines.enumerated().dropFirst(first).prefix(inner.height) {
            let y = inner.y + i - first
            guard let row = line.row else {
                c.put(y, inner.x + 1, line.label, role: .accent)
                c.put(y, inner.x + 1 + TextWidth.width(line.label) + 1, line.value, role: .dim, maxWidth: inner.width - TextWidth.width(line.label) - 3)
                continue
            }
            if let e = s.edit, case .encoder(let ei, let ef) = e.target, s.encoderRows.indices.contains(row),
               s.encoderRows[row].0 == ei, s.encoderRows[row].1 == ef {
                listRow(&c, y: y, rect: rect, selected: true, focused: true, label: line.label, value: e.buffer, labelWidth: labelW)
                c.cursor = (y, min(inner.maxX - 1, inner.x + 2 + labelW + TextWidth.width(e.buffer)))
                continue
            }
            listRow(&c, y: y, rect: rect, selected: row == s.encoderRow, focused: focused, label: line.label,
                    value: line.value, labelWidth: labelW)
        }
    }

    static func statusIcon(_ st: JobStatus) -> (String, Role) {
        switch st {
        case .pending: return ("·", .dim)
        case .running: return ("▶", .running)
        case .done: return ("✓", .success)
        case .failed: return ("✗", .error)
        case .cancelled: return ("⊘", .warning)
        }
    }

    static func drawQueue(_ c: inout Canvas, _ s: StudioState, _ rect: Rect, now: Date, stacked: Bool) {
        let focused = s.screen == .main && s.focus == .queue && !s.showHelp
        let list = s.orderedJobs
        let pending = list.filter { $0.status == .pending }.count
        var extra = pending > 0 ? "\(pending) pending" : nil
        if let h = stackHint(.queue, stacked) { extra = extra.map { "\($0) · \(h)" } ?? h }
        c.box(rect, title: "Queue", focused: focused, extra: extra)
        let inner = rect.inner
        guard inner.height > 0 else { return }
        if list.isEmpty {
            c.put(inner.y, inner.x + 1, TextWidth.truncate("Empty. Enter in the prompt queues a job.", to: inner.width - 2), role: .dim)
            return
        }
        var lines: [(job: Job, bar: Bool)] = []
        for j in list {
            lines.append((j, false))
            if j.status == .running { lines.append((j, true)) }
        }
        let selID = s.selectedJobID ?? list.first?.id
        let selLine = lines.firstIndex { $0.job.id == selID && !$0.bar } ?? 0
        let first = max(0, min(selLine - inner.height / 2, lines.count - inner.height))
        for (i, line) in lines.enumerated().dropFirst(first).prefix(inner.height) {
            let y = inner.y + i - first
            let j = line.job
            if line.bar {
                let barW = max(4, inner.width - 12)
                let filled = Int((j.progress * Double(barW)).rounded(.down))
                c.put(y, inner.x + 3, String(repeating: "█", count: filled), role: .progress)
                c.put(y, inner.x + 3 + filled, String(repeating: "░", count: barW - filled), role: .progressEmpty)
                c.put(y, inner.x + 4 + barW, String(format: "%3d%%", Int(j.progress * 100)), role: .dim)
                continue
            }
            let selected = j.id == selID
            let rowRole: Role? = selected ? (focused ? .selection : .selectionInactive) : nil
            if let rowRole { c.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), role: rowRole) }
            let (icon, irole) = statusIcon(j.status)
            var x = inner.x + 1
            x += c.put(y, x, icon + " ", role: rowRole ?? irole)
            var info = "#\(j.id) "
            switch j.status {
            case .pending: info += "pending"
            case .running:
                info += j.totalSteps > 0 && j.step > 0 ? "running \(j.step)/\(j.totalSteps)" : "running (encoding)"
                if let eta = j.eta(now: now) { info += " ETA \(duration(eta))" }
            case .done:
                info += "done"
                if let st = j.started, let f = j.finished { info += " " + String(format: "%.1fs", f.timeIntervalSince(st)) }
            case .failed: info += "failed"
            case .cancelled: info += "cancelled"
            }
            x += c.put(y, x, info + "  ", role: rowRole ?? (j.status == .failed ? .error : .value), maxWidth: inner.maxX - x)
            let detail = j.status == .failed ? (j.message ?? "") : j.spec.prompt.replacingOccurrences(of: "\n", with: " ")
            c.put(y, x, TextWidth.truncate(detail, to: max(0, inner.maxX - x - 1)), role: rowRole ?? (j.status == .failed ? .error : .dim))
        }
    }

    static func drawGalleryPane(_ c: inout Canvas, _ s: StudioState, _ rect: Rect, stacked: Bool) {
        let focused = s.screen == .main && s.focus == .gallery && !s.showHelp
        var extra = "\(s.gallery.entries.count) picture\(s.gallery.entries.count == 1 ? "" : "s")"
        if let h = stackHint(.gallery, stacked) { extra += " · \(h)" }
        c.box(rect, title: "Gallery", focused: focused, extra: extra)
        let inner = rect.inner
        guard inner.height > 0 else { return }
        if let err = s.gallery.loadError {
            c.put(inner.y, inner.x + 1, TextWidth.truncate(err, to: inner.width - 2), role: .error)
            return
        }
        if s.gallery.entries.isEmpty {
            let msg = s.gallery.search.isEmpty ? "No pictures yet. Finished jobs appear here." : "No pictures match the search."
            c.put(inner.y, inner.x + 1, TextWidth.truncate(msg, to: inner.width - 2), role: .dim)
            return
        }
        let n = s.gallery.entries.count
        let first = max(0, min(s.gallery.selected - inner.height / 2, n - inner.height))
        for (i, e) in s.gallery.entries.enumerated().dropFirst(first).prefix(inner.height) {
            let y = inner.y + i - first
            let selected = i == s.gallery.selected
            let rowRole: Role? = selected ? (focused ? .selection : .selectionInactive) : nil
            if let rowRole { c.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), role: rowRole) }
            var x = inner.x + 1
            x += c.put(y, x, e.shortID + "  ", role: rowRole ?? .accent)
            let p = e.settings.prompt.isEmpty ? "(no prompt)" : e.settings.prompt.replacingOccurrences(of: "\n", with: " ")
            c.put(y, x, TextWidth.truncate(p, to: max(0, inner.maxX - x - 1)), role: rowRole ?? .base)
        }
    }

    /// What the preview pane shows: the chosen gallery picture or finished job, else the live preview.
    static func previewContent(_ s: StudioState) -> (ref: PictureRef, key: String, caption: String)? {
        if s.focus == .gallery, let e = s.gallery.current {
            return (.galleryImage(e.name), "gallery:" + e.name, "\(e.shortID) · seed \(e.settings.seed)")
        }
        if s.focus == .queue, let id = s.selectedJobID ?? s.orderedJobs.first?.id,
           let job = s.jobs.first(where: { $0.id == id }), job.status == .done, s.jobImages[id] != nil {
            return (.job(id), "job\(id)-done", "#\(id) done · seed \(job.spec.seeds.first ?? 0)")
        }
        if let p = s.preview { return (.preview, p.key, p.caption) }
        return nil
    }

    /// The heat map the preview shows (F7): the maps of the content and the chosen word.
    static func heatMapContent(_ s: StudioState, _ ref: PictureRef) -> (maps: [WordAttention], word: Int)? {
        guard s.heatMap, let maps = s.attention(for: ref), let first = maps.first, let w = s.heatWordIndex(first) else { return nil }
        return (maps, w)
    }

    static func drawPreview(_ c: inout Canvas, _ s: StudioState, _ rect: Rect, pictures: Bool) {
        if let compare = s.compare, let b = compare.b {
            drawCompare(&c, compare.a, b, rect, pictures: pictures)
            return
        }
        var content = previewContent(s)
        var heat: (maps: [WordAttention], word: Int)?
        if let current = content, s.heatMap {
            heat = heatMapContent(s, current.ref)
            if let heat {
                let a = heat.maps[0]
                let progress = a.step < a.totalSteps ? " (step \(a.step)/\(a.totalSteps))" : ""
                content = (.heatMap(current.ref, word: heat.word), current.key + "-heat-\(heat.word)-\(a.step)",
                           current.caption + " · heat: \(a.words[heat.word])" + progress)
            } else {
                content?.caption += " · heat: no maps"
            }
        }
        // Live mode is marked where its pictures appear; "…" while one is being drawn.
        let title = s.settings.livePreview ? (s.live.inFlight == nil ? "Preview · live" : "Preview · live…") : "Preview"
        c.box(rect, title: title, focused: false, extra: content?.caption)
        let inner = rect.inner
        guard inner.height > 0, inner.width > 0 else { return }
        guard let content else {
            let hint = s.settings.livePreview ? "No picture yet. Type a prompt: a live preview follows when you pause."
                                              : "No picture yet. Type a prompt and press Enter."
            let lines = TextWidth.wrap(hint, columns: max(1, inner.width - 2))
            for (i, l) in lines.prefix(inner.height).enumerated() {
                c.put(inner.y + inner.height / 2 - lines.count / 2 + i, inner.x + max(1, (inner.width - TextWidth.width(l)) / 2), l, role: .dim)
            }
            return
        }
        var area = inner
        if let heat, inner.height > 2 {
            // The branch and template shares on the pane's last line (the maps' own numbers).
            let a = heat.maps[0]
            let shares = zip(a.branches, a.branchShares).map { String(format: "%@ %.0f%%", $0, 100 * $1) }.joined(separator: " · ")
                + String(format: " · template %.0f%%", 100 * a.templateShare)
            c.put(inner.maxY - 1, inner.x + 1, TextWidth.truncate(shares, to: max(0, inner.width - 2)), role: .dim)
            area.height -= 1
        }
        if pictures {
            c.pictures.append(PictureSlot(ref: content.ref, key: content.key, rect: area))
        } else if let heat {
            // Plain mode: a coarse character map of the first picture's map.
            let side = min(area.height, max(1, (area.width - 2) / 2))
            let lines = HeatMap.characterMap(heat.maps[0], word: heat.word, columns: 2 * side, rows: side)
            for (i, l) in lines.enumerated() {
                c.put(inner.y + i, inner.x + max(0, (inner.width - 2 * side) / 2), l, role: .accent)
            }
        } else {
            let l = TextWidth.truncate("(pictures are off in this terminal)", to: inner.width - 2)
            c.put(inner.y + inner.height / 2, inner.x + max(1, (inner.width - TextWidth.width(l)) / 2), l, role: .dim)
        }
    }

    /// A/B compare: both pictures side by side, the settings that differ below them.
    static func drawCompare(_ c: inout Canvas, _ a: ABCompare.Side, _ b: ABCompare.Side, _ rect: Rect, pictures: Bool) {
        c.box(rect, title: "Preview", focused: false, extra: "A \(a.label) | B \(b.label) · a ends")
        let inner = rect.inner
        guard inner.height > 0, inner.width > 0 else { return }
        var lines = ABCompare.differences(a.settings, b.settings)
        if lines.isEmpty { lines = ["no settings differ"] }
        let shown = pictures ? min(lines.count, max(1, inner.height / 3)) : min(lines.count, inner.height)
        let textTop = inner.maxY - shown
        for (i, l) in lines.prefix(shown).enumerated() {
            let more = i == shown - 1 && lines.count > shown ? " (+\(lines.count - shown) more)" : ""
            c.put(textTop + i, inner.x + 1, TextWidth.truncate(l + more, to: max(0, inner.width - 2)), role: i == 0 ? .value : .dim)
        }
        if pictures, textTop > inner.y {
            c.pictures.append(PictureSlot(ref: .pair(a.ref, b.ref), key: "ab:\(a.ref):\(b.ref)",
                                          rect: Rect(x: inner.x, y: inner.y, width: inner.width, height: textTop - inner.y)))
        }
    }

    // MARK: Gallery browser

    static func drawGallery(_ c: inout Canvas, _ s: StudioState, _ g: GalleryLayout, pictures: Bool) {
        titleBar(&c, s, g.title, subtitle: " — Gallery", now: Date())
        statusBar(&c, s, g.status, hint: hint(s))
        // Search line.
        let searching = s.gallery.searching && !s.showHelp
        c.fill(g.search, role: .base)
        let label = " Search: "
        c.put(g.search.y, 0, label, role: searching ? .headingFocus : .label)
        let fieldX = TextWidth.width(label)
        let fieldW = max(10, g.search.width - fieldX - 30)
        c.fill(Rect(x: fieldX, y: g.search.y, width: fieldW, height: 1), role: searching ? .fieldFocus : .field)
        let text = s.gallery.search.text
        if text.isEmpty && !searching {
            c.put(g.search.y, fieldX, "press / to search prompts", role: .dim)
        } else {
            let before = TextWidth.width(s.gallery.search.chars[..<s.gallery.search.cursor].map(String.init).joined())
            let shift = max(0, before - fieldW + 1)
            var shown = ""
            var skipped = 0
            for ch in text {
                if skipped < shift { skipped += TextWidth.width(ch); continue }
                shown.append(ch)
            }
            c.put(g.search.y, fieldX, shown, role: searching ? .fieldFocus : .field, maxWidth: fieldW)
            if searching { c.cursor = (g.search.y, fieldX + before - shift) }
        }
        let entries = s.gallery.entries
        let count = "\(entries.count) picture\(entries.count == 1 ? "" : "s")" + (text.isEmpty ? "" : " match")
        c.put(g.search.y, g.search.width - TextWidth.width(count) - 1, count, role: .dim)

        // Grid.
        c.box(g.grid, title: "Pictures", focused: !searching, extra: nil)
        let inner = g.grid.inner
        if entries.isEmpty {
            let msg = s.gallery.loadError ?? (text.isEmpty ? "The gallery is empty. Pictures appear here when a job finishes."
                                                            : "No pictures match \"\(text)\".")
            for (i, l) in TextWidth.wrap(msg, columns: max(1, inner.width - 4)).prefix(inner.height).enumerated() {
                c.put(inner.y + 1 + i, inner.x + 2, l, role: s.gallery.loadError == nil ? .dim : .error)
            }
        } else {
            let selRow = s.gallery.selected / g.gridColumns
            let firstRow = (selRow / g.gridRows) * g.gridRows
            for i in (firstRow * g.gridColumns)..<min(entries.count, (firstRow + g.gridRows) * g.gridColumns) {
                guard let cell = g.cell(i, firstRow: firstRow) else { continue }
                let e = entries[i]
                let selected = i == s.gallery.selected
                let frame = Rect(x: cell.x, y: cell.y, width: cell.width - 1, height: cell.height)
                if selected { c.box(frame, title: "", focused: true) }
                let pic = Rect(x: frame.x + 1, y: frame.y + 1, width: frame.width - 2, height: frame.height - 3)
                if pictures {
                    c.pictures.append(PictureSlot(ref: .galleryThumbnail(e.name), key: "thumb:" + e.name, rect: pic))
                } else {
                    for (k, l) in TextWidth.wrap(e.settings.prompt, columns: max(1, pic.width)).prefix(pic.height).enumerated() {
                        c.put(pic.y + k, pic.x, l, role: .dim)
                    }
                }
                let cap = TextWidth.pad(e.shortID, to: frame.width - 2)
                c.put(frame.maxY - 2, frame.x + 1, cap, role: selected ? (searching ? .selectionInactive : .selection) : .label)
            }
            let pages = (entries.count + g.gridColumns * g.gridRows - 1) / (g.gridColumns * g.gridRows)
            if pages > 1 {
                let p = " page \(firstRow / g.gridRows + 1)/\(pages) "
                c.put(g.grid.maxY - 1, g.grid.maxX - TextWidth.width(p) - 2, p, role: .dim)
            }
        }
        drawDetails(&c, s, g.details, pictures: pictures)
    }

    static func detailLines(_ e: GalleryEntry) -> [(String, String)] {
        let st = e.settings
        var out: [(String, String)] = []
        out.append(("Prompt", st.prompt.isEmpty ? "(none)" : st.prompt))
        if !st.negativePrompt.isEmpty { out.append(("Negative", st.negativePrompt)) }
        out.append(("Seed", "\(st.seed)"))
        out.append(("Steps", "\(st.steps)"))
        out.append(("CFG scale", StudioState.number(st.guidanceScale)))
        out.append(("Sampler", st.samplerLabel == st.sampler ? st.sampler : "\(st.samplerLabel) (\(st.sampler))"))
        out.append(("Size", "\(st.width)×\(st.height)"))
        if let m = st.modelID { out.append(("Model", m)) }
        if !st.fusionWeights.isEmpty {
            out.append(("Fusion", st.fusionWeights.sorted { $0.key < $1.key }.map { "\($0.key)=\(StudioState.number($0.value))" }.joined(separator: ", ")))
        }
        if !st.templates.isEmpty {
            out.append(("Template", st.templates.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.instruction ? "on" : "off")" }.joined(separator: ", ")))
        }
        if let l = st.layer { out.append(("Layer", "\(l)")) }
        if let r = st.guidanceRescale { out.append(("CFG rescale", StudioState.number(r))) }
        if let gi = st.guidanceInterval { out.append(("CFG interval", "\(StudioState.number(gi.runStart))–\(StudioState.number(gi.runEnd)) of the run")) }
        if let sh = st.shift { out.append(("Shift", StudioState.number(sh))) }
        if let t = st.elapsedSeconds { out.append(("Time", String(format: "%.1f s", t))) }
        if st.created.timeIntervalSince1970 > 0 {
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd HH:mm:ss"
            out.append(("Created", f.string(from: st.created)))
        }
        for (k, v) in st.extra.sorted(by: { $0.key < $1.key }) { out.append((k, v)) }
        out.append(("File", e.name))
        return out
    }

    static func drawDetails(_ c: inout Canvas, _ s: StudioState, _ rect: Rect, pictures: Bool) {
        c.box(rect, title: "Details", focused: false, extra: nil)
        let inner = rect.inner
        guard inner.height > 2, let e = s.gallery.current else { return }
        let picH = min(inner.height / 2, max(4, inner.width / 2 - 2))
        if pictures {
            c.pictures.append(PictureSlot(ref: .galleryImage(e.name), key: "gallery:" + e.name,
                                          rect: Rect(x: inner.x + 1, y: inner.y, width: inner.width - 2, height: picH)))
        }
        var y = inner.y + (pictures ? picH + 1 : 0)
        let labelW = 13
        for (k, v) in detailLines(e) {
            let lines = TextWidth.wrap(v, columns: max(4, inner.width - labelW - 2))
            for (i, l) in lines.enumerated() {
                guard y < inner.maxY - 1 else { break }
                if i == 0 { c.put(y, inner.x + 1, k, role: .label) }
                c.put(y, inner.x + 1 + labelW, l, role: k == "Prompt" ? .value : .base, maxWidth: inner.width - labelW - 2)
                y += 1
            }
        }
        c.put(inner.maxY - 1, inner.x + 1, TextWidth.truncate("r reuse · p prompts · s seed · i start · v variations · d delete · u undo", to: inner.width - 2), role: .dim)
    }

    // MARK: Help

    static func drawHelp(_ c: inout Canvas, _ s: StudioState) {
        let w = min(s.columns - 4, 104)
        let h = s.rows - 2
        let r = Rect(x: (s.columns - w) / 2, y: 1, width: w, height: h)
        c.pictures.removeAll { $0.rect.intersects(r) }
        c.fill(r, role: .help)
        c.box(r, title: "Help: keys", focused: true, extra: "Esc closes · ↑↓ scroll")
        let inner = r.inner
        let lines = KeyHelp.lines(width: inner.width - 2)
        let maxScroll = max(0, lines.count - inner.height)
        let first = min(s.helpScroll, maxScroll)
        for (i, line) in lines.dropFirst(first).prefix(inner.height).enumerated() {
            var x = inner.x + 1
            for (text, role) in line { x += c.put(inner.y + i, x, text, role: role, maxWidth: inner.maxX - x) }
        }
        if first < maxScroll { c.put(r.maxY - 1, r.maxX - 12, " ↓ more ", role: .dim) }
        c.cursor = nil
    }
}
