import CNcursesW
import CShims
import Foundation
import Gallery
import ImageIO
import TerminalGraphics

/// The signal that asked the studio to leave (0: none); set from signal handlers, polled by the
/// UI loop at least every 50 ms, which then leaves curses cleanly.
nonisolated(unsafe) private var terminationRequested: sig_atomic_t = 0

/// How the studio was started (`lidit studio` flags and the environment).
public struct StudioOptions: Sendable {
    /// Theme name from `--theme` (wins over `LIDIT_THEME` and the saved choice).
    public var theme: String?
    /// The model file (nil: none found; the studio still opens for the gallery).
    public var modelPath: String?
    public var appVersion: String
    /// The most colours to use (`--colors`).
    public var colors: ColorDepth?
    /// Preview throttling overrides (`--preview-every`, `--preview-interval`).
    public var previewEvery: Int?
    public var previewInterval: Int?
    public var environment: [String: String]

    public init(theme: String? = nil, modelPath: String?, appVersion: String, colors: ColorDepth? = nil,
                previewEvery: Int? = nil, previewInterval: Int? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.theme = theme; self.modelPath = modelPath; self.appVersion = appVersion; self.colors = colors
        self.previewEvery = previewEvery; self.previewInterval = previewInterval; self.environment = environment
    }
}

/// The studio: owns the terminal (curses on entry, restored on every exit path), runs the UI loop
/// on the calling thread and the generation worker on its own.
public final class StudioApp {
    let options: StudioOptions
    var state: StudioState
    let paths: StudioPaths
    let themes: ThemeLibrary
    var gallery: GalleryStore?
    var terminal: CursesTerminal?
    var worker: GenerationWorker?
    let inbox = EventInbox()
    var fullImages: [String: RGBImage] = [:]
    var thumbnails: [String: RGBImage] = [:]
    var pendingRepaint = true
    var startupNotes: [String] = []
    /// The signal that ended the last `run()` (SIGTERM, SIGINT, SIGHUP), nil when the user quit:
    /// the command exits with 128 + it, as a shell reports a process killed by it.
    public private(set) var terminationSignal: Int32?

    public init(options: StudioOptions) {
        self.options = options
        let env = options.environment
        paths = StudioPaths.standard(environment: env)
        themes = ThemeLibrary.standard(paths: paths)
        var (settings, note) = paths.loadSettings()
        if let note { startupNotes.append(note) }
        if let t = options.theme ?? env["LIDIT_THEME"].flatMap({ $0.isEmpty ? nil : $0 }) { settings.theme = t }
        if let p = options.previewEvery { settings.previewEvery = p }
        if let p = options.previewInterval { settings.previewMinInterval = p }
        settings.clamp()
        state = StudioState(settings: settings, history: PromptHistory.load(path: paths.historyFile))
        state.themeNames = themes.names()
    }

    public func run() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw StudioError(description: "the studio needs an interactive terminal (stdin and stdout must be a TTY); `lidit generate` works without one")
        }
        let term = options.environment["TERM"] ?? ""
        guard !term.isEmpty, term != "dumb" else {
            throw StudioError(description: "the studio needs a cursor-addressable terminal (TERM is '\(term)'); `lidit generate` works without one")
        }
        TextWidth.prepareLocale()
        let theme: Theme
        do { theme = try themes.load(state.settings.theme) } catch {
            startupNotes.append("\(error); using dark")
            theme = (try? themes.load("dark")) ?? BuiltinThemes.all[0]
            state.settings.theme = theme.name
        }
        do {
            gallery = try GalleryStore(root: GalleryStore.defaultRoot(environment: options.environment))
        } catch {
            state.gallery.loadError = "Gallery unavailable: \(error)"
        }
        // The terminal is asked about pictures before curses owns it.
        var caps = TerminalCapabilities.detect(timeout: 0.5, environment: options.environment)
        // Half blocks need at least 256 colours to be recognisable.
        if caps.graphics == .blocks, ColorDepth.from(colors: 256, cap: options.colors) != .ansi256 { caps.graphics = .none }

        let t = try CursesTerminal(capabilities: caps, colorCap: options.colors)
        terminal = t
        defer { t.end() }
        signal(SIGTERM) { terminationRequested = $0 }
        signal(SIGINT) { terminationRequested = $0 }
        signal(SIGHUP) { terminationRequested = $0 }
        signal(SIGPIPE, SIG_IGN)
        t.applyTheme(theme)
        state.columns = t.columns
        state.rows = t.rows
        reloadGallery()

        let modelPath = options.modelPath
        let version = options.appVersion
        let w = GenerationWorker(inbox: inbox, modelDescription: modelPath ?? "(none)", gallery: gallery) {
            try PipelineBackend(path: modelPath, appVersion: version)
        }
        worker = w
        w.start()
        // Startup problems stay on the status line until dismissed (F2): "Loading model…" and
        // every later message would otherwise replace them within milliseconds.
        for note in startupNotes { state.notice(note) }

        var lastTick = Date()
        loop: while terminationRequested == 0 {
            if pendingRepaint || Date().timeIntervalSince(lastTick) >= 1 {
                draw()
                lastTick = Date()
            }
            // Keys: wait up to 50 ms for the first, then take whatever else is queued (a paste)
            // before drawing again.
            var key = t.readKey(timeout: 50)
            var handled = 0
            while let k = key {
                if k == .resize {
                    t.resized()
                    state.columns = t.columns
                    state.rows = t.rows
                    pendingRepaint = true
                    forceFull = true
                }
                perform(state.handle(k))
                pendingRepaint = true
                if state.quitRequested { break loop }
                handled += 1
                key = handled < 4096 ? t.readKey(timeout: 0) : nil
            }
            for e in inbox.drain() {
                perform(state.apply(e))
                pendingRepaint = true
            }
            let live = state.liveTick(now: Date())
            if !live.isEmpty {
                perform(live)
                pendingRepaint = true
            }
        }
        // Leave: remember the prompt and settings, stop the worker, restore the terminal.
        if terminationRequested != 0 { terminationSignal = terminationRequested }
        saveSettings()
        t.end()
        w.shutdown(timeout: 1.5)
    }

    var forceFull = true

    func draw() {
        guard let t = terminal else { return }
        let canvas = StudioView.render(state, now: Date(), pictures: t.capabilities.graphics != .none)
        t.present(canvas, full: forceFull) { [self] ref in image(for: ref) }
        forceFull = false
        pendingRepaint = false
    }

    /// `image` resized (nearest) to `other`'s size, so two pictures of a pair share a cell size.
    static func scaled(_ image: RGBImage, to other: RGBImage) -> RGBImage {
        var px = [UInt8](repeating: 0, count: other.width * other.height * 3)
        for y in 0..<other.height {
            for x in 0..<other.width {
                let (r, g, b) = image.rgb(x: x * image.width / other.width, y: y * image.height / other.height)
                let o = (y * other.width + x) * 3
                px[o] = r; px[o + 1] = g; px[o + 2] = b
            }
        }
        return RGBImage(width: other.width, height: other.height, pixels: px)
    }

    func image(for ref: PictureRef) -> RGBImage? {
        switch ref {
        case .preview: return state.preview?.image
        case .job(let id): return state.jobImages[id]
        case .galleryImage(let name):
            if let i = fullImages[name] { return i }
            guard let g = gallery, let e = state.gallery.entries.first(where: { $0.name == name }),
                  let img = try? g.image(for: e) else { return nil }
            if fullImages.count > 64 { fullImages.removeAll() }
            fullImages[name] = img
            return img
        case .heatMap(let base, let word):
            guard let picture = image(for: base) else { return nil }
            guard let maps = state.attention(for: base) else { return picture }
            return HeatMap.overlay(picture, maps, word: word)
        case .pair(let a, let b):
            guard let x = image(for: a), let y = image(for: b) else { return nil }
            return PictureGrid.make([x, y].map { $0.width == y.width && $0.height == y.height ? $0 : Self.scaled($0, to: y) })
        case .galleryThumbnail(let name):
            if let i = thumbnails[name] { return i }
            guard let g = gallery, let e = state.gallery.entries.first(where: { $0.name == name }),
                  let img = try? g.thumbnail(for: e, maxSide: 64) else { return nil }
            if thumbnails.count > 512 { thumbnails.removeAll() }
            thumbnails[name] = img
            return img
        }
    }

    func perform(_ effects: [Effect]) {
        for e in effects {
            switch e {
            case .submit(let spec): worker?.submit(spec)
            case .submitLive(let spec): worker?.submitLive(spec)
            case .cancelLive: worker?.cancelLive()
            case .cancelJob(let id): worker?.cancel(id: id)
            case .cancelRunning: worker?.cancelRunning()
            case .clearPending: worker?.clearPending()
            case .quit: break
            case .saveSettings: saveSettings()
            case .saveHistory:
                do { try state.history.save(path: paths.historyFile) } catch {
                    state.say("Cannot save the prompt history: \(error.localizedDescription)", .error)
                }
            case .reloadGallery: reloadGallery()
            case .deleteEntry(let entry):
                guard let g = gallery else { continue }
                do {
                    let t = try g.delete(entry)
                    fullImages[entry.name] = nil
                    thumbnails[entry.name] = nil
                    state.didDelete(entry, trashName: t.trashName)
                } catch {
                    state.say("Cannot delete \(entry.name): \(error)", .error)
                }
                reloadGallery()
            case .restoreEntry(let trashName):
                guard let g = gallery else { continue }
                do {
                    let e = try g.restore(trashName)
                    state.say("Restored \(e.shortID).", .success)
                } catch {
                    state.say("Cannot restore: \(error)", .error)
                }
                reloadGallery()
            case .applyTheme(let name):
                do {
                    let theme = try themes.load(name)
                    terminal?.applyTheme(theme)
                    forceFull = true
                } catch {
                    state.say("\(error)", .error)
                }
            case .repaint: forceFull = true
            }
        }
    }

    func saveSettings() {
        var s = state.settings
        s.lastPrompt = state.prompt.text
        s.lastNegativePrompt = state.negative.text
        state.settings.lastPrompt = s.lastPrompt
        state.settings.lastNegativePrompt = s.lastNegativePrompt
        do { try paths.saveSettings(s) } catch {
            state.say("Cannot save settings to \(paths.settingsFile): \(error.localizedDescription)", .error)
        }
    }

    func reloadGallery() {
        guard let g = gallery else { return }
        do {
            let q = state.gallery.search.text.trimmingCharacters(in: .whitespaces)
            let entries = q.isEmpty ? try g.entries(limit: 5000) : try g.search(q, limit: 5000)
            state.setGallery(entries)
        } catch {
            state.setGallery([], error: "Gallery unavailable: \(error)")
        }
    }
}
