import Foundation
import Gallery
import ImageIO
import Sampling
import XCTest
@testable import Studio

func makeState(columns: Int = 120, rows: Int = 36, settings: StudioSettings = StudioSettings()) -> StudioState {
    var s = StudioState(settings: settings)
    s.columns = columns
    s.rows = rows
    return s
}

let testModel = ModelInfo(modelID: "tiny", path: "/tmp/tiny", encoders: [
    EncoderInfo(id: "smollm2", blockCount: 30, defaultLayer: -3),
    EncoderInfo(id: "gemma3", blockCount: 18, defaultLayer: -3),
], imageSize: 64)

extension StudioState {
    mutating func type(_ s: String) -> [Effect] {
        var out: [Effect] = []
        for c in s { out += handle(.char(c)) }
        return out
    }
}

final class StudioStateTests: XCTestCase {
    override func setUp() { TextWidth.prepareLocale() }

    func submitted(_ effects: [Effect]) -> JobSpec? {
        for e in effects { if case .submit(let s) = e { return s } }
        return nil
    }

    func testEnterQueuesAJobWithResolvedSeeds() {
        var st = StudioSettings()
        st.seedMode = .fixed
        st.seed = 7
        st.count = 3
        st.steps = 5
        var s = makeState(settings: st)
        _ = s.apply(.modelReady(testModel, seconds: 1))
        _ = s.type("a red circle")
        let effects = s.handle(.enter)
        let spec = try! XCTUnwrap(submitted(effects))
        XCTAssertEqual(spec.prompt, "a red circle")
        XCTAssertEqual(spec.seeds, [7, 8, 9])
        XCTAssertEqual(spec.sampler.steps, 5)
        XCTAssertTrue(effects.contains(.saveSettings))
        XCTAssertTrue(effects.contains(.saveHistory))
        XCTAssertEqual(s.jobs.count, 1)
        XCTAssertEqual(s.jobs[0].status, .pending)
        XCTAssertEqual(s.settings.seed, 7, "fixed keeps the seed")
        XCTAssertEqual(s.history.items.last?.prompt, "a red circle")
        XCTAssertEqual(s.prompt.text, "a red circle", "the prompt stays for the next run")
    }

    func testSeedModes() {
        var st = StudioSettings()
        st.seedMode = .increment
        st.seed = 100
        st.count = 2
        var s = makeState(settings: st)
        _ = s.type("x")
        XCTAssertEqual(submitted(s.handle(.enter))?.seeds, [100, 101])
        XCTAssertEqual(submitted(s.handle(.enter))?.seeds, [102, 103])
        s.settings.seedMode = .random
        let spec = submitted(s.handle(.enter))!
        XCTAssertEqual(s.settings.seed, spec.seeds[0], "the drawn seed is shown")
        XCTAssertLessThanOrEqual(spec.seeds[0], UInt64(UInt32.max))
    }

    func testEmptyPromptAndMissingModelDoNotQueue() {
        var s = makeState()
        XCTAssertNil(submitted(s.handle(.enter)))
        XCTAssertEqual(s.message.level, .warning)
        _ = s.apply(.modelUnavailable("model file not found: /x"))
        _ = s.type("a circle")
        XCTAssertNil(submitted(s.handle(.enter)))
        XCTAssertTrue(s.message.text.contains("model file not found"))
    }

    func testNewlineKeys() {
        var s = makeState()
        _ = s.type("a")
        _ = s.handle(.altEnter)
        _ = s.type("b")
        _ = s.handle(.ctrlJ)
        _ = s.type("c")
        XCTAssertEqual(s.prompt.text, "a\nb\nc")
        XCTAssertTrue(s.jobs.isEmpty)
    }

    func testFocusOrderAndTextFieldKeys() {
        var s = makeState()
        XCTAssertEqual(s.focus, .prompt)
        _ = s.type("g?t") // typed into the prompt, not commands
        XCTAssertEqual(s.prompt.text, "g?t")
        XCTAssertEqual(s.screen, .main)
        XCTAssertFalse(s.showHelp)
        var order: [Focus] = []
        for _ in 0..<6 { _ = s.handle(.tab); order.append(s.focus) }
        XCTAssertEqual(order, [.negative, .settings, .encoders, .queue, .gallery, .prompt])
        _ = s.handle(.backTab)
        XCTAssertEqual(s.focus, .gallery)
        // Outside text fields: ? is help, g the gallery, t the next theme.
        _ = s.handle(.char("?"))
        XCTAssertTrue(s.showHelp)
        _ = s.handle(.char("x"))
        XCTAssertTrue(s.showHelp, "help stays until closed")
        _ = s.handle(.escape)
        XCTAssertFalse(s.showHelp)
        XCTAssertEqual(s.handle(.char("g")), [.reloadGallery])
        XCTAssertEqual(s.screen, .gallery)
        _ = s.handle(.escape)
        XCTAssertEqual(s.screen, .main)
        XCTAssertEqual(s.handle(.char("t")), [.applyTheme("light"), .saveSettings])
        // F1 works in a text field too.
        s.focus = .prompt
        _ = s.handle(.function(1))
        XCTAssertTrue(s.showHelp)
        _ = s.handle(.function(1))
        XCTAssertFalse(s.showHelp)
        XCTAssertEqual(s.handle(.ctrl("q")), [.quit])
        XCTAssertTrue(s.quitRequested)
    }

    func testEscapeCancelsTheRunningJob() {
        var s = makeState()
        _ = s.type("x")
        let spec = submitted(s.handle(.enter))!
        XCTAssertEqual(s.handle(.escape), [], "nothing runs yet")
        _ = s.apply(.jobStarted(id: spec.id, at: Date()))
        XCTAssertEqual(s.handle(.escape), [.cancelRunning])
        _ = s.apply(.jobCancelled(id: spec.id))
        XCTAssertEqual(s.jobs[0].status, .cancelled)
    }

    func testProgressEtaAndDone() throws {
        var s = makeState()
        _ = s.type("x")
        let spec = submitted(s.handle(.enter))!
        let t0 = Date()
        _ = s.apply(.jobStarted(id: spec.id, at: t0))
        let img = RGBImage(width: 4, height: 4, fill: 128)
        _ = s.apply(.jobProgress(id: spec.id, step: 1, total: 10, preview: img, at: t0.addingTimeInterval(2)))
        _ = s.apply(.jobProgress(id: spec.id, step: 3, total: 10, preview: nil, at: t0.addingTimeInterval(4)))
        let job = s.jobs[0]
        XCTAssertEqual(job.status, .running)
        XCTAssertEqual(job.step, 3)
        XCTAssertEqual(try XCTUnwrap(job.eta(now: t0.addingTimeInterval(4))), 7, accuracy: 0.01) // 1 s per step, 7 left
        XCTAssertEqual(s.preview?.key, "job1-step1")
        let canvas = StudioView.render(s, now: t0.addingTimeInterval(4))
        XCTAssertTrue(canvas.text.contains("#1 running 3/10 ETA 7s"), canvas.text)
        let effects = s.apply(.jobDone(id: spec.id, entries: [], image: img, seconds: 5, warnings: []))
        XCTAssertEqual(effects, [.reloadGallery])
        XCTAssertEqual(s.jobs[0].status, .done)
        XCTAssertEqual(s.preview?.key, "job1-done")
    }

    func testQueueCancelAgainAndClear() {
        var s = makeState()
        _ = s.type("x")
        let a = submitted(s.handle(.enter))!
        let b = submitted(s.handle(.enter))!
        _ = s.apply(.jobStarted(id: a.id, at: Date()))
        s.focus = .queue
        _ = s.handle(.down) // the pending job
        XCTAssertEqual(s.selectedJobID, b.id)
        XCTAssertEqual(s.handle(.char("x")), [.cancelJob(b.id)])
        _ = s.apply(.jobCancelled(id: b.id))
        let again = submitted(s.handle(.char("r")))
        XCTAssertEqual(again?.prompt, "x")
        XCTAssertEqual(again?.seeds, b.seeds)
        XCTAssertEqual(s.handle(.ctrl("x")), [.clearPending])
        XCTAssertEqual(s.jobs.map(\.id), [a.id], "only the running job stays")
        _ = s.apply(.jobCancelled(id: again!.id)) // the worker's answer for a cleared job is ignored
        XCTAssertEqual(s.jobs.map(\.id), [a.id])
    }

    func testSettingsPane() {
        var s = makeState()
        s.focus = .settings
        _ = s.handle(.right)
        XCTAssertEqual(s.settings.sampler, "euler_a")
        _ = s.handle(.down) // steps
        _ = s.handle(.right)
        XCTAssertEqual(s.settings.steps, 25)
        _ = s.handle(.pageDown)
        XCTAssertEqual(s.settings.steps, 15)
        // Typing a value.
        _ = s.type("8")
        XCTAssertNotNil(s.edit)
        XCTAssertTrue(s.inTextField)
        _ = s.type("0")
        _ = s.handle(.enter)
        XCTAssertNil(s.edit)
        XCTAssertEqual(s.settings.steps, 80)
        _ = s.type("999")
        _ = s.handle(.enter)
        XCTAssertEqual(s.settings.steps, StudioSettings.stepsRange.upperBound, "clamped")
        _ = s.type("5")
        _ = s.handle(.escape)
        XCTAssertEqual(s.settings.steps, 200, "Esc cancels the edit")
        XCTAssertTrue(s.jobs.isEmpty)
        // Seed mode and seed.
        _ = s.handle(.down); _ = s.handle(.down)
        _ = s.handle(.right)
        XCTAssertEqual(s.settings.seedMode, .fixed)
        _ = s.handle(.down)
        _ = s.type("12345")
        _ = s.handle(.enter)
        XCTAssertEqual(s.settings.seed, 12345)
        // Guidance interval stays ordered.
        s.settingsRow = SettingRow.allCases.firstIndex(of: .intervalLow)!
        for _ in 0..<30 { _ = s.handle(.right) }
        XCTAssertEqual(s.settings.guidanceLow, s.settings.guidanceHigh)
        // Theme row cycles themes.
        s.settingsRow = SettingRow.allCases.firstIndex(of: .theme)!
        XCTAssertEqual(s.handle(.right), [.applyTheme("light"), .saveSettings])
    }

    func testEncoderPane() {
        var s = makeState()
        s.focus = .encoders
        XCTAssertEqual(s.handle(.right), [], "nothing to change before the model loads")
        _ = s.apply(.modelReady(testModel, seconds: 1))
        _ = s.handle(.left) // smollm2 fusion 1.0 → 0.9
        XCTAssertEqual(s.settings.fusionWeights["smollm2"]!, 0.9, accuracy: 1e-9)
        _ = s.handle(.down)
        _ = s.handle(.char(" ")) // template off
        XCTAssertEqual(s.settings.templateEnabled["smollm2"], false)
        _ = s.handle(.down)
        _ = s.type("-5")
        _ = s.handle(.enter)
        XCTAssertEqual(s.settings.layers["smollm2"], -5)
        _ = s.handle(.down) // gemma3 fusion
        _ = s.type("0")
        _ = s.handle(.enter)
        XCTAssertEqual(s.settings.fusionWeights["gemma3"], 0)
        _ = s.handle(.down); _ = s.handle(.down)
        _ = s.type("99")
        _ = s.handle(.enter)
        XCTAssertNil(s.settings.layers["gemma3"], "out of range is refused")
        XCTAssertEqual(s.message.level, .error)
        s.focus = .prompt
        _ = s.type("x")
        let spec = submitted(s.handle(.enter))!
        XCTAssertEqual(spec.fusionWeights["gemma3"], 0)
        XCTAssertEqual(spec.templateEnabled["smollm2"], false)
        XCTAssertEqual(spec.layers["smollm2"], -5)
    }

    func testPromptHistory() {
        var s = StudioState(history: PromptHistory(items: [.init(prompt: "one"), .init(prompt: "two", negative: "blur")]))
        s.columns = 120; s.rows = 36
        _ = s.type("draft")
        _ = s.handle(.altUp)
        XCTAssertEqual(s.prompt.text, "two")
        XCTAssertEqual(s.negative.text, "blur")
        _ = s.handle(.ctrl("p"))
        XCTAssertEqual(s.prompt.text, "one")
        _ = s.handle(.altUp)
        XCTAssertEqual(s.prompt.text, "one")
        _ = s.handle(.altDown)
        _ = s.handle(.ctrl("n"))
        XCTAssertEqual(s.prompt.text, "draft")
        XCTAssertEqual(s.negative.text, "")
        _ = s.handle(.ctrl("z"))
        XCTAssertEqual(s.prompt.text, "two", "loading from history is undoable")
    }

    func testGalleryReuseDeleteAndSearch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("studio-gallery-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try GalleryStore(root: dir)
        var g = GenerationSettings(prompt: "a blue square", negativePrompt: "blur", seed: 99, steps: 12, guidanceScale: 3.5,
                                   sampler: "heun", width: 4, height: 4)
        g.fusionWeights = ["smollm2": 0.5, "gemma3": 1]
        g.templates = ["smollm2": PromptTemplateSetting(instruction: false), "gemma3": PromptTemplateSetting(instruction: true)]
        g.layer = -2
        g.shift = 2
        g.guidanceRescale = 0.3
        g.guidanceInterval = GuidanceInterval(runStart: 0.2, runEnd: 0.9)
        let entry = try store.save(image: RGBImage(width: 4, height: 4, fill: 10), settings: g)

        var s = makeState()
        s.focus = .gallery
        XCTAssertEqual(s.handle(.char("g")), [.reloadGallery])
        s.setGallery(try store.entries())
        XCTAssertEqual(s.gallery.current?.name, entry.name)
        let canvas = StudioView.render(s)
        XCTAssertTrue(canvas.text.contains("Details"))
        XCTAssertTrue(canvas.text.contains("a blue square"))
        XCTAssertEqual(canvas.pictures.count, 2, "thumbnail and details picture")
        _ = s.handle(.char("r"))
        XCTAssertEqual(s.screen, .main)
        XCTAssertEqual(s.focus, .prompt)
        XCTAssertEqual(s.prompt.text, "a blue square")
        XCTAssertEqual(s.negative.text, "blur")
        XCTAssertEqual(s.settings.seed, 99)
        XCTAssertEqual(s.settings.seedMode, .fixed)
        XCTAssertEqual(s.settings.steps, 12)
        XCTAssertEqual(s.settings.guidanceScale, 3.5)
        XCTAssertEqual(s.settings.sampler, "heun")
        XCTAssertEqual(s.settings.shift, 2)
        XCTAssertEqual(s.settings.guidanceRescale, 0.3)
        XCTAssertEqual(s.settings.guidanceLow, 0.1, accuracy: 1e-9)
        XCTAssertEqual(s.settings.guidanceHigh, 0.8, accuracy: 1e-9)
        XCTAssertEqual(s.settings.fusionWeights["smollm2"], 0.5)
        XCTAssertEqual(s.settings.templateEnabled["smollm2"], false)
        XCTAssertEqual(s.settings.layers["gemma3"], -2)

        // Delete asks first.
        s.focus = .gallery
        XCTAssertEqual(s.handle(.char("d")), [])
        XCTAssertNotNil(s.gallery.confirmDelete)
        XCTAssertEqual(s.handle(.char("n")), [])
        _ = s.handle(.char("d"))
        XCTAssertEqual(s.handle(.char("y")), [.deleteEntry(entry)])
        s.didDelete(entry, trashName: "t1")
        XCTAssertEqual(s.handle(.char("u")), [.restoreEntry("t1")])

        // Search in the browser: typed text goes to the search field.
        _ = s.handle(.char("g"))
        _ = s.handle(.char("/"))
        XCTAssertTrue(s.inTextField)
        XCTAssertEqual(s.type("blue"), [.reloadGallery, .reloadGallery, .reloadGallery, .reloadGallery])
        XCTAssertEqual(s.gallery.search.text, "blue")
        XCTAssertEqual(s.screen, .gallery)
        _ = s.handle(.escape) // clears the search
        XCTAssertEqual(s.gallery.search.text, "")
        _ = s.handle(.escape) // closes the browser
        XCTAssertEqual(s.screen, .main)
    }

    func testInboxCoalescesPreviews() {
        let inbox = EventInbox()
        let img = RGBImage(width: 1, height: 1, fill: 0)
        inbox.post(.jobStarted(id: 1, at: Date()))
        for step in 1...5 { inbox.post(.jobProgress(id: 1, step: step, total: 5, preview: step == 2 ? img : nil, at: Date())) }
        let events = inbox.drain()
        XCTAssertEqual(events.count, 2)
        guard case .jobProgress(_, let step, _, let preview, _) = events[1] else { return XCTFail() }
        XCTAssertEqual(step, 5)
        XCTAssertNotNil(preview, "the last preview is kept")
        XCTAssertTrue(inbox.drain().isEmpty)
    }

    func testKeyDecoding() {
        XCTAssertEqual(Key.fromCharacter(13), .enter)
        XCTAssertEqual(Key.fromCharacter(10), .ctrlJ)
        XCTAssertEqual(Key.fromCharacter(17), .ctrl("q"))
        XCTAssertEqual(Key.fromCharacter(127), .backspace)
        XCTAssertEqual(Key.fromCharacter(9), .tab)
        XCTAssertEqual(Key.fromCharacter(0x732B), .char("猫"))
        XCTAssertEqual(Key.altChord(.enter), .altEnter)
        XCTAssertEqual(Key.altChord(.char("b")), .alt("b"))
        XCTAssertEqual(Key.altChord(.up), .altUp)
    }
}
