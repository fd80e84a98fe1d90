import Foundation
import Gallery
import ImageIO
import Sampling

/// Something the state machine asks the app to do (I/O stays out of `StudioState`).
public enum Effect: Equatable, Sendable {
    case submit(JobSpec)
    /// A live preview for the worker's live slot (replaces one that has not started).
    case submitLive(JobSpec)
    /// Drop the waiting live preview and stop the running one.
    case cancelLive
    case cancelJob(Int)
    case cancelRunning
    case clearPending
    case quit
    case saveSettings
    case saveHistory
    /// Re-read the gallery (with the current search).
    case reloadGallery
    case deleteEntry(GalleryEntry)
    case restoreEntry(String)
    case applyTheme(String)
    /// Repaint the whole terminal (Ctrl+L).
    case repaint
}

public enum ModelState: Equatable, Sendable {
    case loading(String)
    case ready(ModelInfo)
    case unavailable(String)
}

public enum MessageLevel: Sendable { case info, success, warning, error }

/// The rows of the settings pane.
public enum SettingRow: CaseIterable, Sendable {
    case sampler, steps, guidance, seedMode, seed, count, shift, rescale, intervalLow, intervalHigh, eta
    case startStrength, variationStrength
    case previewEvery, previewInterval, livePreview, theme

    public var label: String {
        switch self {
        case .sampler: return "Sampler"
        case .steps: return "Steps"
        case .guidance: return "CFG scale"
        case .seedMode: return "Seed mode"
        case .seed: return "Seed"
        case .count: return "Images"
        case .shift: return "Shift"
        case .rescale: return "CFG rescale"
        case .intervalLow: return "CFG from σ"
        case .intervalHigh: return "CFG to σ"
        case .eta: return "Eta"
        case .startStrength: return "Start strength"
        case .variationStrength: return "Variation str."
        case .previewEvery: return "Preview every"
        case .previewInterval: return "Preview gap"
        case .livePreview: return "Live preview"
        case .theme: return "Theme"
        }
    }

    /// Rows that take a typed number.
    public var isNumeric: Bool {
        switch self {
        case .sampler, .seedMode, .livePreview, .theme: return false
        default: return true
        }
    }
}

/// The knobs of one encoder in the encoder pane.
public enum EncoderField: CaseIterable, Sendable { case fusion, template, layer }

public struct ValueEdit: Equatable, Sendable {
    public enum Target: Equatable, Sendable {
        case setting(SettingRow)
        case encoder(Int, EncoderField)
    }
    public var target: Target
    public var buffer: String
}

/// The gallery as the studio shows it (the main screen's pane and the browser share it).
public struct GalleryState: Equatable, Sendable {
    public var entries: [GalleryEntry] = []
    public var selected = 0
    public var search = TextBuffer()
    public var searching = false
    /// The first grid row shown in the browser.
    public var firstRow = 0
    public var confirmDelete: GalleryEntry?
    /// Trash names of deleted pictures, most recent last (for undo).
    public var deleted: [String] = []
    public var loadError: String?

    public var current: GalleryEntry? { entries.indices.contains(selected) ? entries[selected] : nil }
}

/// What the preview pane shows while no gallery picture or finished job is chosen.
public struct PreviewState: Equatable, Sendable {
    public var image: RGBImage
    /// Identity of the pixels (changes with every new frame).
    public var key: String
    public var caption: String
}

/// A gallery picture chosen as the start of the next generations (img2img).
public struct StartPicture: Equatable, Sendable {
    public var path: String
    public var shortID: String
    public init(path: String, shortID: String) { self.path = path; self.shortID = shortID }
}

/// Variation seeds for the next generation (from reusing a variation picture): picture i gets
/// variation seed `seed + i`.
public struct PendingVariation: Equatable, Sendable {
    public var seed: UInt64
    public init(seed: UInt64) { self.seed = seed }
}

/// The whole UI state. Keys go in through `handle(_:)` and worker news through `apply(_:)`;
/// both return the effects for the app to carry out. No curses, files or threads here.
public struct StudioState {
    public var screen: Screen = .main
    public enum Screen: Equatable, Sendable { case main, gallery }
    public var showHelp = false
    public var helpScroll = 0
    public var focus: Focus = .prompt
    /// Which pane a stacked place shows (the last one focused).
    public var leftStack: Focus = .settings
    public var rightStack: Focus = .queue
    public var columns = 80
    public var rows = 24

    public var prompt = TextBuffer()
    public var negative = TextBuffer()
    public var settings: StudioSettings
    public var settingsRow = 0
    public var settingsScroll = 0
    public var encoderRow = 0
    public var edit: ValueEdit?
    public var model: ModelState = .loading("")
    public var history = PromptHistory()
    var historyIndex: Int?
    var historyDraft: (String, String) = ("", "")

    public var jobs: [Job] = []
    public var selectedJobID: Int?
    public var jobImages: [Int: RGBImage] = [:]
    public var nextJobID = 1
    public var preview: PreviewState?
    /// The job the preview belongs to (nil for a live-mode picture).
    public var previewJobID: Int?
    /// Live mode's requests (see `liveTick`).
    public var live = LivePreviewState()
    /// Heat-map view of the preview (F7): a prompt word's attention map over the picture.
    public var heatMap = false
    /// The word shown when the prompt editor's cursor is not on one of the picture's words (F8 cycles).
    public var heatWord = 0
    /// Attention maps per job (one per picture, live while it runs) and per gallery picture made
    /// in this session (by file name).
    public var jobAttention: [Int: [WordAttention]] = [:]
    public var galleryAttention: [String: WordAttention] = [:]
    /// Settings of each finished job's first picture (for A/B compare).
    public var jobSettings: [Int: GenerationSettings] = [:]
    /// A/B compare (`a` in the queue or gallery pane marks A, then B; `a` again ends it).
    public var compare: ABCompare?
    public var gallery = GalleryState()
    /// img2img start picture for the next generations (gallery `i`; Space on "Start strength" clears).
    public var startPicture: StartPicture?
    /// Variation seeds for the next generations (reusing a variation picture; Space on "Variation str." clears).
    public var variation: PendingVariation?
    public var themeNames: [String] = ["dark", "light", "high-contrast"]
    public var message: (text: String, level: MessageLevel) = ("", .info)
    /// Warnings that stay on the status line, ahead of `message`, until F2 dismisses them (a
    /// broken theme or settings file): shown for one frame, nobody could read them.
    public var notices: [String] = []
    public var quitRequested = false

    public init(settings: StudioSettings = StudioSettings(), history: PromptHistory = PromptHistory()) {
        self.settings = settings
        self.history = history
        prompt = TextBuffer(settings.lastPrompt)
        negative = TextBuffer(settings.lastNegativePrompt)
    }

    // MARK: Derived

    public var layout: MainLayout? {
        MainLayout.compute(columns: columns, rows: rows, leftStack: leftStack, rightStack: rightStack)
    }

    public var galleryLayout: GalleryLayout? { GalleryLayout.compute(columns: columns, rows: rows) }

    /// True when typed characters go into a text (prompt, negative, search, value being typed).
    public var inTextField: Bool {
        if showHelp { return false }
        if edit != nil { return true }
        if screen == .gallery { return gallery.searching }
        return focus.isTextField
    }

    public var runningJob: Job? { jobs.first { $0.status == .running } }

    public var modelInfo: ModelInfo? {
        if case .ready(let i) = model { return i }
        return nil
    }

    /// Jobs in the order the queue pane lists them: running, pending (oldest first), then
    /// finished (newest first).
    public var orderedJobs: [Job] {
        jobs.filter { $0.status == .running } + jobs.filter { $0.status == .pending }.sorted { $0.id < $1.id }
            + jobs.filter { $0.status.isFinished }.sorted { $0.id > $1.id }
    }

    mutating func say(_ text: String, _ level: MessageLevel = .info) { message = (text, level) }

    /// The attention maps of what the preview pane shows (one per picture of a batch), if any.
    public func attention(for ref: PictureRef) -> [WordAttention]? {
        switch ref {
        case .preview: return previewJobID.flatMap { jobAttention[$0] }
        case .job(let id): return jobAttention[id]
        case .galleryImage(let name): return galleryAttention[name].map { [$0] }
        default: return nil
        }
    }

    /// The word the heat map shows for `a`: the one under the prompt editor's cursor when the
    /// editor holds the picture's prompt, else `heatWord` (cycled by F8).
    public func heatWordIndex(_ a: WordAttention) -> Int? {
        guard !a.words.isEmpty else { return nil }
        if focus == .prompt, prompt.text == a.prompt {
            let offset = prompt.chars[..<min(prompt.cursor, prompt.chars.count)].reduce(0) { $0 + String($1).utf8.count }
            if let w = a.word(atByte: offset) { return w }
        }
        return heatWord % a.words.count
    }

    /// A warning that stays until dismissed.
    public mutating func notice(_ text: String) { notices.append(text) }

    // MARK: Keys

    public mutating func handle(_ key: Key) -> [Effect] {
        if key == .resize { return [] }
        if key == .ctrl("q") { quitRequested = true; return [.quit] }
        if key == .ctrl("l") { return [.repaint] }
        if key == .function(2), !notices.isEmpty { notices.removeFirst(); return [] }
        if showHelp { return handleHelp(key) }
        if let confirm = gallery.confirmDelete { return handleConfirmDelete(key, confirm) }
        if edit != nil { return handleEdit(key) }
        if key == .function(1) || (key == .char("?") && !inTextField) {
            showHelp = true; helpScroll = 0
            return []
        }
        if key == .ctrl("g") || key == .function(5) { return queueGeneration() }
        if key == .ctrl("x") { return clearQueue() }
        if key == .function(3) || (key == .char("g") && !inTextField) {
            if screen == .gallery { screen = .main; return [] }
            return openGallery()
        }
        if key == .char("t") && !inTextField { return nextTheme() }
        if key == .function(7) {
            heatMap.toggle()
            say(heatMap ? "Heat map on: the prompt word under the cursor (F8: next word) over the picture." : "Heat map off.")
            return []
        }
        if key == .function(8) {
            heatWord += 1
            if !heatMap { heatMap = true }
            return []
        }
        if key == .function(6) { return setLivePreview(!settings.livePreview) }
        if key == .ctrl("c") {
            if runningJob != nil { return cancelRunning() }
            say("Ctrl+Q quits; Esc cancels the running job.", .warning)
            return []
        }
        if screen == .gallery { return handleGalleryBrowser(key) }
        switch key {
        case .tab: moveFocus(1); return []
        case .backTab: moveFocus(-1); return []
        case .escape: return cancelRunning()
        default: break
        }
        switch focus {
        case .prompt, .negative: return handleText(key)
        case .settings: return handleSettings(key)
        case .encoders: return handleEncoders(key)
        case .queue: return handleQueue(key)
        case .gallery: return handleGalleryPane(key)
        }
    }

    public mutating func moveFocus(_ delta: Int) {
        let all = Focus.allCases
        let i = all.firstIndex(of: focus)!
        focus = all[(i + delta + all.count) % all.count]
        if focus == .settings || focus == .encoders { leftStack = focus }
        if focus == .queue || focus == .gallery { rightStack = focus }
    }

    mutating func cancelRunning() -> [Effect] {
        guard let job = runningJob else {
            say("Nothing is running.", .info)
            return []
        }
        say("Cancelling #\(job.id)…", .warning)
        return [.cancelRunning]
    }

    mutating func clearQueue() -> [Effect] {
        let pending = jobs.filter { $0.status == .pending }.count
        let finished = jobs.filter { $0.status.isFinished }.count
        jobs.removeAll { $0.status.isFinished || $0.status == .pending }
        for id in jobImages.keys where !jobs.contains(where: { $0.id == id }) { jobImages[id] = nil }
        if let s = selectedJobID, !jobs.contains(where: { $0.id == s }) { selectedJobID = nil }
        say("Queue cleared (\(pending) pending cancelled, \(finished) finished removed).", .info)
        return pending > 0 ? [.clearPending] : []
    }

    mutating func nextTheme() -> [Effect] {
        guard !themeNames.isEmpty else { return [] }
        let i = themeNames.firstIndex(of: settings.theme) ?? -1
        settings.theme = themeNames[(i + 1) % themeNames.count]
        say("Theme: \(settings.theme)")
        return [.applyTheme(settings.theme), .saveSettings]
    }

    mutating func openGallery() -> [Effect] {
        screen = .gallery
        gallery.searching = false
        gallery.confirmDelete = nil
        return [.reloadGallery]
    }

    // MARK: Help

    mutating func handleHelp(_ key: Key) -> [Effect] {
        switch key {
        case .escape, .function(1), .char("?"), .char("q"), .enter: showHelp = false
        case .down, .char("j"): helpScroll += 1
        case .up, .char("k"): helpScroll = max(0, helpScroll - 1)
        case .pageDown, .char(" "): helpScroll += max(1, rows - 4)
        case .pageUp: helpScroll = max(0, helpScroll - max(1, rows - 4))
        case .home: helpScroll = 0
        default: break
        }
        return []
    }

    // MARK: Text fields

    mutating func withField(_ body: (inout TextBuffer, Int) -> Void) {
        let w = layout?.textWidth(focus) ?? 40
        if focus == .negative { body(&negative, w) } else { body(&prompt, w) }
    }

    mutating func handleText(_ key: Key) -> [Effect] {
        switch key {
        case .enter: return queueGeneration()
        case .altEnter, .ctrlJ: withField { b, _ in b.insertNewline() }
        case .char(let c): withField { b, _ in b.insert(String(c)) }
        case .backspace: withField { b, _ in b.deleteBackward() }
        case .delete, .ctrl("d"): withField { b, _ in b.deleteForward() }
        case .left, .ctrl("b"): withField { b, _ in b.moveLeft() }
        case .right, .ctrl("f"): withField { b, _ in b.moveRight() }
        case .ctrlLeft, .alt("b"): withField { b, _ in b.moveWordLeft() }
        case .ctrlRight, .alt("f"): withField { b, _ in b.moveWordRight() }
        case .up: withField { b, w in b.moveUp(width: w) }
        case .down: withField { b, w in b.moveDown(width: w) }
        case .home, .ctrl("a"): withField { b, w in b.moveToLineStart(width: w) }
        case .end, .ctrl("e"): withField { b, w in b.moveToLineEnd(width: w) }
        case .ctrlUp, .pageUp: withField { b, _ in b.moveToStart() }
        case .ctrlDown, .pageDown: withField { b, _ in b.moveToEnd() }
        case .ctrl("w"): withField { b, _ in b.deleteWordBackward() }
        case .ctrl("k"): withField { b, _ in b.killToLineEnd() }
        case .ctrl("u"): withField { b, _ in b.killToLineStart() }
        case .ctrl("z"): withField { b, _ in b.undo() }
        case .ctrl("y"): withField { b, _ in b.redo() }
        case .altUp, .ctrl("p"): historyStep(-1)
        case .altDown, .ctrl("n"): historyStep(1)
        default: break
        }
        return []
    }

    mutating func historyStep(_ delta: Int) {
        let items = history.items
        guard !items.isEmpty else { say("The prompt history is empty.", .info); return }
        if delta < 0 {
            let i = (historyIndex ?? items.count) - 1
            guard i >= 0 else { say("Oldest prompt in the history.", .info); return }
            if historyIndex == nil { historyDraft = (prompt.text, negative.text) }
            historyIndex = i
            prompt.setText(items[i].prompt)
            negative.setText(items[i].negative)
            say("History \(i + 1)/\(items.count)")
        } else {
            guard let cur = historyIndex else { return }
            let i = cur + 1
            if i >= items.count {
                historyIndex = nil
                prompt.setText(historyDraft.0)
                negative.setText(historyDraft.1)
                say("Back to your draft.")
            } else {
                historyIndex = i
                prompt.setText(items[i].prompt)
                negative.setText(items[i].negative)
                say("History \(i + 1)/\(items.count)")
            }
        }
    }

    /// Enter: resolves the seeds now (so the queue shows the exact seeds that run), queues the
    /// job and remembers the prompt.
    public mutating func queueGeneration() -> [Effect] {
        let text = prompt.text
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            say("Type a prompt first.", .warning)
            return []
        }
        guard text.utf8.count <= 20_000, negative.text.utf8.count <= 20_000 else {
            say("The prompt is longer than 20000 bytes.", .error)
            return []
        }
        if case .unavailable(let why) = model {
            say("Cannot generate: \(why)", .error)
            return []
        }
        let base: UInt64
        switch settings.seedMode {
        case .random:
            base = UInt64.random(in: 0...UInt64(UInt32.max))
            settings.seed = base
        case .fixed:
            base = settings.seed
        case .increment:
            base = settings.seed
            settings.seed = settings.seed &+ UInt64(settings.count)
        }
        let seeds = (0..<settings.count).map { base &+ UInt64($0) }
        let spec = formJob(id: nextJobID, seeds: seeds)
        nextJobID += 1
        jobs.append(Job(spec: spec))
        // This job draws the form in full: no live picture of it is wanted until the next edit.
        live.lastForm = liveForm()
        live.due = nil
        settings.lastPrompt = text
        settings.lastNegativePrompt = negative.text
        var effects: [Effect] = [.submit(spec), .saveSettings]
        if history.add(.init(prompt: text, negative: negative.text)) { effects.append(.saveHistory) }
        historyIndex = nil
        let seedText = seeds.count == 1 ? "seed \(base)" : "seeds \(base)…\(seeds.last!)"
        let waiting: String
        if case .loading = model { waiting = " (starts when the model has loaded)" } else { waiting = "" }
        let from = startPicture.map { " from \($0.shortID) at strength \(Self.number(settings.startStrength))" } ?? ""
        say("Queued #\(spec.id): \(seedText)\(from)\(waiting)", .info)
        return effects
    }

    /// The job the form describes (prompts, settings, encoder knobs, start picture, variation).
    func formJob(id: Int, seeds: [UInt64]) -> JobSpec {
        JobSpec(id: id, prompt: prompt.text, negativePrompt: negative.text, seeds: seeds,
                sampler: settings.samplerSettings, fusionWeights: settings.fusionWeights,
                templateEnabled: settings.templateEnabled, layers: settings.layers,
                previewEvery: settings.previewEvery, previewMinInterval: settings.previewMinInterval,
                initImage: startPicture?.path, strength: startPicture == nil ? 1 : settings.startStrength,
                variationSeeds: variation.map { v in seeds.indices.map { v.seed &+ UInt64($0) } } ?? [],
                variationStrength: variation == nil ? 0 : settings.variationStrength)
    }

    // MARK: Live mode

    /// The live picture of the form as it stands (the seed in the settings), or nil when there
    /// is nothing to draw (no prompt, or no model).
    public func liveForm() -> JobSpec? {
        let text = prompt.text
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
              text.utf8.count <= 20_000, negative.text.utf8.count <= 20_000 else { return nil }
        if case .unavailable = model { return nil }
        return LivePreview.spec(of: formJob(id: 0, seeds: [settings.seed]))
    }

    /// F6 and the "Live preview" setting.
    public mutating func setLivePreview(_ on: Bool) -> [Effect] {
        settings.livePreview = on
        live.due = nil
        if on {
            // The form as it stands gets its picture after the usual pause.
            live.lastForm = nil
            say("Live preview on: a \(LivePreview.steps)-step picture of the prompt whenever you pause (F6 turns it off).")
            return [.saveSettings]
        }
        live.lastForm = nil
        live.inFlight = nil
        say("Live preview off.")
        return [.cancelLive, .saveSettings]
    }

    /// Called on every pass of the UI loop (after its keys and worker events, at least every
    /// 50 ms): a change of the form restarts the debounce, and when it ends the live picture is
    /// asked for.
    public mutating func liveTick(now: Date) -> [Effect] {
        guard settings.livePreview else { return [] }
        let form = liveForm()
        if form != live.lastForm {
            live.lastForm = form
            live.due = form == nil ? nil : now.addingTimeInterval(LivePreview.debounce)
            return []
        }
        guard let due = live.due, now >= due, var spec = form else { return [] }
        live.due = nil
        spec.id = live.nextID
        live.nextID += 1
        live.inFlight = spec.id
        return [.submitLive(spec)]
    }

    // MARK: Settings pane

    public func settingValue(_ row: SettingRow) -> String {
        let s = settings
        switch row {
        case .sampler: return "\(s.samplerKind.displayName) (\(s.samplerKind.rawValue))"
        case .steps: return "\(s.steps)"
        case .guidance: return Self.number(s.guidanceScale)
        case .seedMode: return s.seedMode.rawValue
        case .seed: return "\(s.seed)"
        case .count: return "\(s.count)"
        case .shift: return Self.number(s.shift)
        case .rescale: return Self.number(s.guidanceRescale)
        case .intervalLow: return Self.number(s.guidanceLow)
        case .intervalHigh: return Self.number(s.guidanceHigh)
        case .eta:
            guard s.samplerKind.usesEta else { return "n/a (\(s.samplerKind.rawValue))" }
            return s.eta.map(Self.number) ?? "auto (\(Self.number(s.samplerKind.defaultEta)))"
        case .startStrength: return Self.number(s.startStrength) + (startPicture.map { " from \($0.shortID)" } ?? " (no start)")
        case .variationStrength: return Self.number(s.variationStrength) + (variation.map { " seed \($0.seed)" } ?? "")
        case .previewEvery: return s.previewEvery == 0 ? "off" : s.previewEvery == 1 ? "every step" : "\(s.previewEvery) steps"
        case .previewInterval: return "\(s.previewMinInterval) ms"
        case .livePreview: return s.livePreview ? "on (F6)" : "off (F6)"
        case .theme: return s.theme
        }
    }

    static func number(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e9 { return String(format: "%.1f", d) }
        var t = String(format: "%.3f", d)
        while t.hasSuffix("0") { t.removeLast() }
        return t
    }

    mutating func handleSettings(_ key: Key) -> [Effect] {
        let rows = SettingRow.allCases
        let row = rows[settingsRow]
        switch key {
        case .up, .char("k"): settingsRow = max(0, settingsRow - 1)
        case .down, .char("j"): settingsRow = min(rows.count - 1, settingsRow + 1)
        case .home: settingsRow = 0
        case .end: settingsRow = rows.count - 1
        case .left, .char("h"), .char("-"): return adjust(row, by: -1)
        case .right, .char("l"), .char("+"), .char("="): return adjust(row, by: 1)
        case .pageDown: return adjust(row, by: -10)
        case .pageUp: return adjust(row, by: 10)
        case .char(" ") where row == .startStrength:
            startPicture = nil
            say("No start picture: generations start from noise.")
        case .char(" ") where row == .variationStrength:
            variation = nil
            say("No variation seed.")
        case .char(" "): return adjust(row, by: 1)
        case .char("r") where row == .seed:
            settings.seed = UInt64.random(in: 0...UInt64(UInt32.max))
            say("New seed \(settings.seed)")
            return [.saveSettings]
        case .enter:
            if row.isNumeric { edit = ValueEdit(target: .setting(row), buffer: editText(row)) } else { return adjust(row, by: 1) }
        case .char(let c) where row.isNumeric && (c.isNumber || c == "."):
            edit = ValueEdit(target: .setting(row), buffer: String(c))
        default: break
        }
        return []
    }

    func editText(_ row: SettingRow) -> String {
        switch row {
        case .eta: return settings.eta.map { Self.number($0) } ?? ""
        case .startStrength: return Self.number(settings.startStrength)
        case .variationStrength: return Self.number(settings.variationStrength)
        case .previewInterval: return "\(settings.previewMinInterval)"
        case .previewEvery: return "\(settings.previewEvery)"
        default: return settingValue(row)
        }
    }

    public mutating func adjust(_ row: SettingRow, by n: Int) -> [Effect] {
        let big = abs(n) >= 10
        let dir = n < 0 ? -1.0 : 1.0
        switch row {
        case .sampler:
            let all = SamplerKind.allCases
            let i = all.firstIndex(of: settings.samplerKind)!
            settings.sampler = all[(i + (n < 0 ? -1 : 1) + all.count) % all.count].rawValue
        case .steps: settings.steps += big ? Int(dir) * 10 : Int(dir)
        case .guidance: settings.guidanceScale = ((settings.guidanceScale + dir * (big ? 5 : 0.5)) * 2).rounded() / 2
        case .seedMode:
            let all = SeedMode.allCases
            let i = all.firstIndex(of: settings.seedMode)!
            settings.seedMode = all[(i + (n < 0 ? -1 : 1) + all.count) % all.count]
        case .seed:
            let d = UInt64(big ? 10 : 1)
            settings.seed = n < 0 ? (settings.seed >= d ? settings.seed - d : 0) : settings.seed &+ d
        case .count: settings.count += Int(dir)
        case .shift: settings.shift = max(0.1, ((settings.shift + dir * (big ? 1 : 0.1)) * 10).rounded() / 10)
        case .rescale: settings.guidanceRescale = ((settings.guidanceRescale + dir * (big ? 0.25 : 0.05)) * 100).rounded() / 100
        case .intervalLow:
            settings.guidanceLow = ((settings.guidanceLow + dir * (big ? 0.25 : 0.05)) * 100).rounded() / 100
            settings.guidanceLow = min(max(0, settings.guidanceLow), settings.guidanceHigh)
        case .intervalHigh:
            settings.guidanceHigh = ((settings.guidanceHigh + dir * (big ? 0.25 : 0.05)) * 100).rounded() / 100
            settings.guidanceHigh = max(min(1, settings.guidanceHigh), settings.guidanceLow)
        case .eta:
            guard settings.samplerKind.usesEta else { say("\(settings.samplerKind.displayName) takes no eta.", .info); return [] }
            let cur = settings.eta ?? settings.samplerKind.defaultEta
            let next = ((cur + dir * (big ? 0.5 : 0.1)) * 10).rounded() / 10
            settings.eta = next < 0 ? nil : next
        case .startStrength: settings.startStrength = ((settings.startStrength + dir * (big ? 0.25 : 0.05)) * 100).rounded() / 100
        case .variationStrength: settings.variationStrength = ((settings.variationStrength + dir * (big ? 0.25 : 0.05)) * 100).rounded() / 100
        case .previewEvery: settings.previewEvery += Int(dir) * (big ? 5 : 1)
        case .previewInterval: settings.previewMinInterval += Int(dir) * (big ? 500 : 50)
        case .livePreview: return setLivePreview(!settings.livePreview)
        case .theme:
            guard !themeNames.isEmpty else { return [] }
            let i = themeNames.firstIndex(of: settings.theme) ?? 0
            settings.theme = themeNames[(i + (n < 0 ? -1 : 1) + themeNames.count) % themeNames.count]
            return [.applyTheme(settings.theme), .saveSettings]
        }
        settings.clamp()
        return [.saveSettings]
    }

    // MARK: Value editing (settings and encoders)

    mutating func handleEdit(_ key: Key) -> [Effect] {
        guard var e = edit else { return [] }
        switch key {
        case .char(let c) where c.isNumber || c == "." || c == "-":
            if e.buffer.count < 24 { e.buffer.append(c) }
            edit = e
        case .backspace:
            if !e.buffer.isEmpty { e.buffer.removeLast() }
            edit = e
        case .escape:
            edit = nil
            say("Edit cancelled.")
        case .enter, .tab, .backTab, .up, .down:
            let effects = commitEdit(e)
            edit = nil
            if key == .tab { moveFocus(1) } else if key == .backTab { moveFocus(-1) } else if key == .up || key == .down {
                return effects + (focus == .settings ? handleSettings(key) : handleEncoders(key))
            }
            return effects
        default: break
        }
        return []
    }

    mutating func commitEdit(_ e: ValueEdit) -> [Effect] {
        let t = e.buffer.trimmingCharacters(in: .whitespaces)
        func bad() -> [Effect] { say("'\(t)' is not a valid value.", .error); return [] }
        switch e.target {
        case .setting(let row):
            switch row {
            case .steps, .count, .previewEvery, .previewInterval:
                guard let v = Int(t) else { return bad() }
                if row == .steps { settings.steps = v } else if row == .count { settings.count = v }
                else if row == .previewEvery { settings.previewEvery = v } else { settings.previewMinInterval = v }
            case .seed:
                guard let v = UInt64(t) else { return bad() }
                settings.seed = v
            case .eta:
                if t.isEmpty { settings.eta = nil } else {
                    guard let v = Double(t), v.isFinite, v >= 0 else { return bad() }
                    settings.eta = v
                }
            case .guidance, .shift, .rescale, .intervalLow, .intervalHigh, .startStrength, .variationStrength:
                guard let v = Double(t), v.isFinite else { return bad() }
                switch row {
                case .guidance: settings.guidanceScale = v
                case .startStrength: settings.startStrength = v
                case .variationStrength: settings.variationStrength = v
                case .shift: settings.shift = v
                case .rescale: settings.guidanceRescale = v
                case .intervalLow: settings.guidanceLow = min(v, settings.guidanceHigh)
                default: settings.guidanceHigh = max(v, settings.guidanceLow)
                }
            default: return []
            }
            settings.clamp()
            say("\(row.label): \(settingValue(row))")
            return [.saveSettings]
        case .encoder(let i, let field):
            guard let info = modelInfo, info.encoders.indices.contains(i) else { return [] }
            let enc = info.encoders[i]
            switch field {
            case .fusion:
                guard let v = Double(t), v.isFinite else { return bad() }
                settings.fusionWeights[enc.id] = min(max(v, 0), 4)
            case .layer:
                guard let v = Int(t), v >= -(enc.blockCount + 1), v <= enc.blockCount else {
                    say("Layer must be 0…\(enc.blockCount) or -1…-\(enc.blockCount + 1).", .error)
                    return []
                }
                settings.layers[enc.id] = v
            case .template: return []
            }
            return [.saveSettings]
        }
    }

    // MARK: Encoders pane

    public var encoderRows: [(Int, EncoderField)] {
        guard let info = modelInfo else { return [] }
        return info.encoders.indices.flatMap { i in EncoderField.allCases.map { (i, $0) } }
    }

    public func fusion(_ e: EncoderInfo) -> Double { settings.fusionWeights[e.id] ?? 1 }
    public func templateOn(_ e: EncoderInfo) -> Bool { settings.templateEnabled[e.id] ?? e.templateEnabledByDefault }
    public func layer(_ e: EncoderInfo) -> Int { settings.layers[e.id] ?? e.defaultLayer }

    mutating func handleEncoders(_ key: Key) -> [Effect] {
        let rows = encoderRows
        guard !rows.isEmpty, let info = modelInfo else {
            if case .char = key { say("The encoder settings appear when the model has loaded.", .info) }
            return []
        }
        encoderRow = min(encoderRow, rows.count - 1)
        let (i, field) = rows[encoderRow]
        let enc = info.encoders[i]
        func change(_ n: Int) -> [Effect] {
            switch field {
            case .fusion:
                let step = abs(n) >= 10 ? 1.0 : 0.1
                let v = ((fusion(enc) + (n < 0 ? -step : step)) * 10).rounded() / 10
                settings.fusionWeights[enc.id] = min(max(v, 0), 4)
            case .template:
                settings.templateEnabled[enc.id] = !templateOn(enc)
            case .layer:
                var v = layer(enc) + (n < 0 ? -1 : 1)
                v = min(max(v, -(enc.blockCount + 1)), enc.blockCount)
                settings.layers[enc.id] = v
            }
            return [.saveSettings]
        }
        if case .char("-") = key, field == .layer {
            // Layers count from the end with negative numbers: "-" starts typing one.
            edit = ValueEdit(target: .encoder(i, field), buffer: "-")
            return []
        }
        switch key {
        case .up, .char("k"): encoderRow = max(0, encoderRow - 1)
        case .down, .char("j"): encoderRow = min(rows.count - 1, encoderRow + 1)
        case .home: encoderRow = 0
        case .end: encoderRow = rows.count - 1
        case .left, .char("h"), .char("-"): return change(-1)
        case .right, .char("l"), .char("+"), .char("="), .char(" "): return change(1)
        case .pageUp: return change(10)
        case .pageDown: return change(-10)
        case .enter:
            if field == .template { return change(1) }
            edit = ValueEdit(target: .encoder(i, field), buffer: field == .fusion ? Self.number(fusion(enc)) : "\(layer(enc))")
        case .char(let c) where field != .template && (c.isNumber || c == "." || (c == "-" && field == .layer)):
            edit = ValueEdit(target: .encoder(i, field), buffer: String(c))
        default: break
        }
        return []
    }

    // MARK: Queue pane

    mutating func handleQueue(_ key: Key) -> [Effect] {
        let list = orderedJobs
        guard !list.isEmpty else { return [] }
        var idx = list.firstIndex { $0.id == selectedJobID } ?? 0
        switch key {
        case .up, .char("k"): idx = max(0, idx - 1)
        case .down, .char("j"): idx = min(list.count - 1, idx + 1)
        case .home: idx = 0
        case .end: idx = list.count - 1
        case .char("x"), .delete:
            let job = list[idx]
            selectedJobID = job.id
            switch job.status {
            case .pending, .running:
                say("Cancelling #\(job.id)…", .warning)
                return [.cancelJob(job.id)]
            default:
                say("#\(job.id) has already \(job.status == .done ? "finished" : job.status.rawValue == "failed" ? "failed" : "been cancelled").")
                return []
            }
        case .char("r"):
            let job = list[idx]
            var spec = job.spec
            spec.id = nextJobID
            nextJobID += 1
            jobs.append(Job(spec: spec))
            say("Queued #\(spec.id) (again #\(job.id)).")
            return [.submit(spec)]
        case .char("c"): return clearQueue()
        case .char("a"):
            let job = list[idx]
            selectedJobID = job.id
            guard job.status == .done, let settings = jobSettings[job.id], jobImages[job.id] != nil else {
                say("A/B compare takes finished jobs whose pictures were saved.", .warning)
                return []
            }
            return markCompare(ABCompare.Side(label: "#\(job.id)", ref: .job(job.id), settings: settings))
        default: break
        }
        selectedJobID = list[idx].id
        return []
    }

    /// `a` on a picture: A when nothing is marked, B after A, and a third `a` ends the compare.
    mutating func markCompare(_ side: ABCompare.Side) -> [Effect] {
        if var c = compare, c.b == nil {
            guard c.a.ref != side.ref else { say("Choose another picture for B, then a."); return [] }
            c.b = side
            compare = c
            let n = ABCompare.differences(c.a.settings, side.settings).count
            say("A/B: \(c.a.label) | \(side.label), \(n) setting\(n == 1 ? "" : "s") differ (a ends the compare).")
        } else if compare != nil {
            compare = nil
            say("A/B compare ended.")
        } else {
            compare = ABCompare(a: side)
            say("A = \(side.label); choose another picture and press a for B.")
        }
        return []
    }

    // MARK: Gallery

    mutating func moveGallery(_ key: Key, columns: Int, pageRows: Int) -> Bool {
        let n = gallery.entries.count
        guard n > 0 else { return false }
        var i = gallery.selected
        switch key {
        case .left, .char("h"): i -= 1
        case .right, .char("l"): i += 1
        case .up, .char("k"): i -= columns
        case .down, .char("j"): i += columns
        case .pageUp: i -= columns * pageRows
        case .pageDown: i += columns * pageRows
        case .home: i = 0
        case .end: i = n - 1
        default: return false
        }
        gallery.selected = min(max(0, i), n - 1)
        return true
    }

    mutating func handleGalleryPane(_ key: Key) -> [Effect] {
        if moveGallery(key == .left ? .up : key == .right ? .down : key, columns: 1, pageRows: 5) { return [] }
        switch key {
        case .enter:
            screen = .gallery
            return [.reloadGallery]
        default: return handleGalleryActions(key)
        }
    }

    mutating func handleGalleryBrowser(_ key: Key) -> [Effect] {
        if gallery.searching {
            switch key {
            case .escape:
                gallery.searching = false
                if !gallery.search.isEmpty {
                    gallery.search = TextBuffer()
                    gallery.selected = 0
                    return [.reloadGallery]
                }
                return []
            case .enter, .down, .tab:
                gallery.searching = false
                return []
            case .char(let c):
                gallery.search.insert(String(c))
            case .backspace: gallery.search.deleteBackward()
            case .delete: gallery.search.deleteForward()
            case .left: gallery.search.moveLeft()
            case .right: gallery.search.moveRight()
            case .home, .ctrl("a"): gallery.search.moveToStart()
            case .end, .ctrl("e"): gallery.search.moveToEnd()
            case .ctrl("w"): gallery.search.deleteWordBackward()
            case .ctrl("u"): gallery.search.killToLineStart()
            case .ctrl("z"): gallery.search.undo()
            default: return []
            }
            gallery.selected = 0
            gallery.firstRow = 0
            return [.reloadGallery]
        }
        let cols = galleryLayout?.gridColumns ?? 1
        let pageRows = galleryLayout?.gridRows ?? 1
        if moveGallery(key, columns: cols, pageRows: pageRows) { return [] }
        switch key {
        case .escape, .char("q"):
            screen = .main
            return []
        case .char("/"), .tab:
            gallery.searching = true
            return []
        case .enter: return reuse(.all)
        default: return handleGalleryActions(key)
        }
    }

    public enum ReuseKind: Sendable { case all, prompts, seed }

    mutating func handleGalleryActions(_ key: Key) -> [Effect] {
        switch key {
        case .char("a"):
            guard let e = gallery.current else { return [] }
            return markCompare(ABCompare.Side(label: e.shortID, ref: .galleryImage(e.name), settings: e.settings))
        case .char("r"): return reuse(.all)
        case .char("p"): return reuse(.prompts)
        case .char("s"): return reuse(.seed)
        case .char("i"): return useAsStart()
        case .char("v"): return queueVariations()
        case .char("d"), .delete:
            guard let e = gallery.current else { return [] }
            gallery.confirmDelete = e
            say("Delete \(e.name)? y / n", .warning)
        case .char("u"):
            guard let last = gallery.deleted.popLast() else { say("Nothing to undo."); return [] }
            return [.restoreEntry(last)]
        default: break
        }
        return []
    }

    mutating func handleConfirmDelete(_ key: Key, _ entry: GalleryEntry) -> [Effect] {
        gallery.confirmDelete = nil
        if key == .char("y") || key == .char("Y") {
            return [.deleteEntry(entry)]
        }
        say("Kept \(entry.name).")
        return []
    }

    /// `i`: the chosen picture becomes the start of the next generations (img2img at the
    /// "Start strength" setting); `i` on the same picture again removes it.
    public mutating func useAsStart() -> [Effect] {
        guard let e = gallery.current else { say("No picture chosen.", .warning); return [] }
        if startPicture?.path == e.path {
            startPicture = nil
            say("No start picture: generations start from noise.")
            return []
        }
        startPicture = StartPicture(path: e.path, shortID: e.shortID)
        say("Start picture \(e.shortID) at strength \(Self.number(settings.startStrength)) (Start strength; Space there removes it). Enter generates from it.", .success)
        return []
    }

    /// `v`: four variations of the chosen picture, queued at once: its parameters, its seed, and
    /// four fresh variation seeds blended in at the "Variation str." setting (the form is kept).
    public mutating func queueVariations() -> [Effect] {
        guard let e = gallery.current else { say("No picture chosen.", .warning); return [] }
        if case .unavailable(let why) = model { say("Cannot generate: \(why)", .error); return [] }
        let s = e.settings
        var form = settings
        Self.load(s, into: &form)
        let first = UInt64.random(in: 0...UInt64(UInt32.max))
        let spec = JobSpec(id: nextJobID, prompt: s.prompt, negativePrompt: s.negativePrompt, seeds: Array(repeating: s.seed, count: 4),
                           sampler: form.samplerSettings, fusionWeights: form.fusionWeights,
                           templateEnabled: form.templateEnabled, layers: form.layers,
                           previewEvery: settings.previewEvery, previewMinInterval: settings.previewMinInterval,
                           initImage: s.initImage, strength: s.initImage == nil ? 1 : s.denoisingStrength ?? 1,
                           variationSeeds: (0..<4).map { first &+ UInt64($0) }, variationStrength: settings.variationStrength)
        nextJobID += 1
        jobs.append(Job(spec: spec))
        say("Queued #\(spec.id): 4 variations of \(e.shortID) (seed \(s.seed), strength \(Self.number(settings.variationStrength))).", .info)
        return [.submit(spec)]
    }

    /// A picture's generation settings in the form's terms (what `r` loads).
    static func load(_ s: GenerationSettings, into settings: inout StudioSettings) {
        settings.seed = s.seed
        settings.seedMode = .fixed
        settings.steps = s.steps
        settings.guidanceScale = s.guidanceScale
        if let k = try? SamplerKind(parsing: s.sampler) { settings.sampler = k.rawValue }
        if let sh = s.shift { settings.shift = sh }
        settings.guidanceRescale = s.guidanceRescale ?? 0
        if let gi = s.guidanceInterval {
            settings.guidanceLow = gi.low
            settings.guidanceHigh = gi.high
        } else {
            settings.guidanceLow = 0; settings.guidanceHigh = 1
        }
        settings.eta = s.extra["Eta"].flatMap(Double.init)
        settings.count = 1
        for (id, w) in s.fusionWeights { settings.fusionWeights[id] = w }
        for (id, t) in s.templates { settings.templateEnabled[id] = t.instruction }
        if let l = s.layer {
            for id in Set(s.templates.keys).union(s.fusionWeights.keys) { settings.layers[id] = l }
        }
        if let layers = s.extra["Layers"] {
            for part in layers.split(separator: ",") {
                let kv = part.split(separator: "=")
                if kv.count == 2, let v = Int(kv[1]) { settings.layers[String(kv[0])] = v }
            }
        }
        if let d = s.denoisingStrength, s.initImage != nil { settings.startStrength = d }
        if let v = s.variationStrength, s.variationSeed != nil { settings.variationStrength = v }
        settings.clamp()
    }

    /// Loads a gallery picture's parameters into the form and returns to the main screen.
    public mutating func reuse(_ kind: ReuseKind) -> [Effect] {
        guard let e = gallery.current else { say("No picture chosen.", .warning); return [] }
        let s = e.settings
        switch kind {
        case .prompts:
            prompt.setText(s.prompt)
            negative.setText(s.negativePrompt)
            say("Prompts of \(e.shortID) loaded.")
        case .seed:
            settings.seed = s.seed
            settings.seedMode = .fixed
            say("Seed \(s.seed) (fixed) from \(e.shortID).")
        case .all:
            prompt.setText(s.prompt)
            negative.setText(s.negativePrompt)
            Self.load(s, into: &settings)
            // The start picture and variation seed too, so Enter makes the same picture again.
            startPicture = s.initImage.map { path in
                StartPicture(path: path, shortID: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent.split(separator: "-").last.map(String.init) ?? path)
            }
            variation = s.variationSeed.map { PendingVariation(seed: $0) }
            var also = ""
            if let p = startPicture { also += ", start picture \(p.shortID) at \(Self.number(settings.startStrength))" }
            if let v = variation { also += ", variation seed \(v.seed) at \(Self.number(settings.variationStrength))" }
            say("Parameters of \(e.shortID) loaded (seed \(s.seed), fixed\(also)). Enter generates it again.", .success)
        }
        screen = .main
        focus = .prompt
        return [.saveSettings]
    }

    /// The gallery list was (re)read.
    public mutating func setGallery(_ entries: [GalleryEntry], error: String? = nil) {
        let keep = gallery.current?.name
        gallery.entries = entries
        gallery.loadError = error
        if let keep, let i = entries.firstIndex(where: { $0.name == keep }) { gallery.selected = i }
        gallery.selected = min(gallery.selected, max(0, entries.count - 1))
    }

    // MARK: Worker events

    mutating func updateJob(_ id: Int, _ body: (inout Job) -> Void) {
        if let i = jobs.firstIndex(where: { $0.id == id }) { body(&jobs[i]) }
    }

    public mutating func apply(_ event: WorkerEvent) -> [Effect] {
        switch event {
        case .modelLoading(let path):
            model = .loading(path)
            say("Loading model…")
        case .modelReady(let info, let secs):
            model = .ready(info)
            say(String(format: "Model %@ ready (%@) in %.1f s.", info.modelID, info.encoders.map(\.id).joined(separator: " + "), secs), .success)
        case .modelUnavailable(let why):
            model = .unavailable(why)
            say("No model: \(why). The gallery still works.", .error)
        case .jobStarted(let id, let at):
            updateJob(id) { $0.status = .running; $0.started = at; $0.step = 0; $0.totalSteps = $0.spec.sampler.steps }
            say("Running #\(id)…")
        case .jobProgress(let id, let step, let total, let image, let at):
            updateJob(id) { j in
                j.step = step; j.totalSteps = total
                if step == 1 || j.firstStep == nil { j.firstStep = at }
                j.lastStep = at
            }
            if let image {
                preview = PreviewState(image: image, key: "job\(id)-step\(step)", caption: "#\(id) step \(step)/\(total)")
                previewJobID = id
            }
        case .jobAttention(let id, let maps):
            jobAttention[id] = maps
            if jobAttention.count > 64, let oldest = jobAttention.keys.min() { jobAttention[oldest] = nil }
        case .jobDone(let id, let entries, let image, let secs, let warnings):
            updateJob(id) { j in
                j.status = .done; j.finished = Date(); j.step = j.totalSteps; j.results = entries.map(\.name)
            }
            jobImages[id] = image
            if jobImages.count > 64, let oldest = jobImages.keys.min() { jobImages[oldest] = nil }
            // Live pictures asked for before this result must not replace it.
            live.firstIDAfterRealResult = live.nextID
            var effects: [Effect] = [.reloadGallery]
            if live.inFlight != nil {
                live.inFlight = nil
                effects.append(.cancelLive)
            }
            preview = PreviewState(image: image, key: "job\(id)-done", caption: "#\(id) done")
            previewJobID = id
            if let first = entries.first { jobSettings[id] = first.settings }
            if let maps = jobAttention[id] {
                for (e, m) in zip(entries, maps) { galleryAttention[e.name] = m }
            }
            let names = entries.map(\.shortID).joined(separator: ", ")
            let warn = warnings.isEmpty ? "" : " (\(warnings.joined(separator: "; ")))"
            say(String(format: "Done #%d in %.1f s: %d picture%@ saved %@%@", id, secs, entries.count,
                       entries.count == 1 ? "" : "s", names, warn), warnings.isEmpty ? .success : .warning)
            return effects
        case .jobFailed(let id, let message):
            updateJob(id) { $0.status = .failed; $0.finished = Date(); $0.message = message }
            say("#\(id) failed: \(message)", .error)
        case .jobCancelled(let id):
            // Jobs removed by clearing the queue are gone already.
            guard jobs.contains(where: { $0.id == id }) else { return [] }
            updateJob(id) { $0.status = .cancelled; $0.finished = Date() }
            say("Cancelled #\(id).", .warning)
        case .liveDone(let spec, let image, _):
            if live.inFlight == spec.id { live.inFlight = nil }
            guard spec.id >= live.firstIDAfterRealResult, spec.id > live.lastShownID else { return [] }
            live.lastShownID = spec.id
            preview = PreviewState(image: image, key: "live\(spec.id)",
                                   caption: "live · \(spec.sampler.steps) steps · seed \(spec.seeds.first ?? 0)")
            previewJobID = nil
        case .liveFailed(let id, let message):
            if live.inFlight == id { live.inFlight = nil }
            say("Live preview failed: \(message)", .warning)
        case .liveCancelled(let id):
            if live.inFlight == id { live.inFlight = nil }
        }
        return []
    }

    /// A gallery picture was deleted (its trash name is kept for undo).
    public mutating func didDelete(_ entry: GalleryEntry, trashName: String) {
        gallery.deleted.append(trashName)
        say("Deleted \(entry.shortID) (u undoes).", .warning)
    }
}
