import Foundation
import Gallery
import ImageIO
import Sampling
import XCTest
@testable import Studio

/// Like `FakeBackend`, and it records which prompts it was asked for and how many steps of each
/// it ran, so a test can tell a request that never ran from one that was stopped.
final class RecordingBackend: GenerationBackend, @unchecked Sendable {
    let info = testModel
    let stepDelay: Double
    private let lock = NSLock()
    private var runs: [(prompt: String, steps: Int)] = []

    init(stepDelay: Double) { self.stepDelay = stepDelay }

    /// The prompts asked for, in order, with the steps each ran.
    var log: [(prompt: String, steps: Int)] { lock.lock(); defer { lock.unlock() }; return runs }

    func generate(_ spec: JobSpec, onStep: @escaping (Int, Int, [RGBImage]) -> Bool) throws
        -> (pictures: [(RGBImage, GenerationSettings)], warnings: [String]) {
        lock.lock(); runs.append((spec.prompt, 0)); let run = runs.count - 1; lock.unlock()
        let total = spec.sampler.steps
        for step in 1...total {
            Thread.sleep(forTimeInterval: stepDelay)
            lock.lock(); runs[run].steps = step; lock.unlock()
            if !onStep(step, total, spec.seeds.map { _ in RGBImage(width: 4, height: 4, fill: UInt8(step)) }) { throw CancellationError() }
        }
        return (spec.seeds.map { seed in
            (RGBImage(width: 4, height: 4, fill: 200),
             GenerationSettings(prompt: spec.prompt, seed: seed, steps: total, sampler: spec.sampler.sampler.rawValue, width: 4, height: 4))
        }, [])
    }
}

final class LivePreviewWorkerTests: XCTestCase {
    func job(_ id: Int, steps: Int) -> JobSpec {
        JobSpec(id: id, prompt: "job \(id)", seeds: [UInt64(id)], sampler: SamplerSettings(steps: steps))
    }

    func live(_ id: Int, steps: Int = LivePreview.steps) -> JobSpec {
        JobSpec(id: id, prompt: "live \(id)", seeds: [7], sampler: SamplerSettings(steps: steps), previewEvery: 0)
    }

    func tempGallery() throws -> (GalleryStore, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString)").path
        return (try GalleryStore(root: dir), dir)
    }

    /// Drains the inbox until `until` holds (or 20 s pass, for a loaded machine).
    func collect(_ inbox: EventInbox, into all: inout [WorkerEvent], until: ([WorkerEvent]) -> Bool) {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            all += inbox.drain()
            if until(all) { return }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    func waitUntil(_ what: String, _ ok: () -> Bool) {
        let deadline = Date().addingTimeInterval(20)
        while !ok() {
            guard Date() < deadline else { return XCTFail("timed out waiting for \(what)") }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    static func liveDone(_ e: WorkerEvent) -> Int? { if case .liveDone(let s, _, _) = e { return s.id }; return nil }
    static func liveCancelled(_ e: WorkerEvent) -> Int? { if case .liveCancelled(let id) = e { return id }; return nil }
    static func jobDone(_ e: WorkerEvent) -> Int? { if case .jobDone(let id, _, _, _, _) = e { return id }; return nil }

    func testANewerLiveRequestReplacesOneNotStarted() {
        let inbox = EventInbox()
        let backend = RecordingBackend(stepDelay: 0.001)
        let w = GenerationWorker(inbox: inbox, modelDescription: "fake", gallery: nil) { backend }
        // Asked for before the thread runs: only the last one may ever start.
        w.submitLive(live(1))
        w.submitLive(live(2))
        w.submitLive(live(3))
        w.start()
        defer { w.shutdown(timeout: 2) }
        var events: [WorkerEvent] = []
        collect(inbox, into: &events) { $0.contains { Self.liveDone($0) == 3 } }
        Thread.sleep(forTimeInterval: 0.05) // room for a wrongly kept older request to start
        events += inbox.drain()
        XCTAssertEqual(events.compactMap(Self.liveDone), [3])
        XCTAssertEqual(backend.log.map(\.prompt), ["live 3"])
        guard let done = events.first(where: { Self.liveDone($0) != nil }), case .liveDone(_, let image, _) = done else {
            return XCTFail("no live picture: \(events)")
        }
        XCTAssertEqual(image.pixels[0], 200, "the finished picture, not a step's estimate")
    }

    func testALiveRequestWaitsForTheRunningJobAndASupersededOneNeverRuns() throws {
        let (store, dir) = try tempGallery()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inbox = EventInbox()
        let backend = RecordingBackend(stepDelay: 0.01)
        let w = GenerationWorker(inbox: inbox, modelDescription: "fake", gallery: store) { backend }
        w.start()
        defer { w.shutdown(timeout: 2) }
        w.submit(job(1, steps: 40))
        w.submit(job(2, steps: 3))
        var events: [WorkerEvent] = []
        collect(inbox, into: &events) { $0.contains { if case .jobProgress(1, _, _, _, _) = $0 { return true }; return false } }
        w.submitLive(live(1))
        w.submitLive(live(2))
        collect(inbox, into: &events) { $0.contains { Self.liveDone($0) == 2 } }
        // The running job ran to its end (the live requests did not stop it), the pending one
        // went next, and then only the newest live request ran.
        XCTAssertEqual(backend.log.map(\.prompt), ["job 1", "job 2", "live 2"])
        XCTAssertEqual(backend.log.first?.steps, 40)
        let order = events.compactMap { e -> String? in
            if let id = Self.jobDone(e) { return "job \(id)" }
            if let id = Self.liveDone(e) { return "live \(id)" }
            return nil
        }
        XCTAssertEqual(order, ["job 1", "job 2", "live 2"])
        XCTAssertEqual(Set(try store.entries().map(\.settings.prompt)), ["job 1", "job 2"], "the live picture is not saved")
    }

    func testARealJobStopsARunningLivePreviewAfterOneStep() throws {
        let (store, dir) = try tempGallery()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inbox = EventInbox()
        let backend = RecordingBackend(stepDelay: 0.02)
        let w = GenerationWorker(inbox: inbox, modelDescription: "fake", gallery: store) { backend }
        w.start()
        defer { w.shutdown(timeout: 2) }
        // A long live request (20 s at full length) so that only a cancel can end it in time.
        w.submitLive(live(1, steps: 1000))
        waitUntil("the live preview to start") { backend.log.first.map { $0.steps >= 1 } ?? false }
        let submitted = Date()
        w.submit(job(9, steps: 3))
        var events: [WorkerEvent] = []
        collect(inbox, into: &events) { $0.contains { Self.jobDone($0) == 9 } }
        guard let started = events.lazy.compactMap({ e -> Date? in if case .jobStarted(9, let at) = e { return at }; return nil }).first else {
            return XCTFail("the real job never started: \(events)")
        }
        // One step is 20 ms; a generous bound for a loaded machine, far below the live run's 20 s.
        XCTAssertLessThan(started.timeIntervalSince(submitted), 2)
        XCTAssertEqual(events.compactMap(Self.liveCancelled), [1])
        XCTAssertTrue(events.compactMap(Self.liveDone).isEmpty)
        XCTAssertLessThan(backend.log[0].steps, 1000)
        XCTAssertEqual(backend.log.map(\.prompt), ["live 1", "job 9"])
        // Only the real job's picture is in the gallery.
        XCTAssertEqual(try store.entries().map(\.settings.prompt), ["job 9"])
        guard let done = events.first(where: { Self.jobDone($0) == 9 }), case .jobDone(_, let entries, _, _, _) = done else {
            return XCTFail("no result for the real job")
        }
        XCTAssertEqual(entries.count, 1)
    }

    func testLivePicturesNeverReachTheGallery() throws {
        let (store, dir) = try tempGallery()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inbox = EventInbox()
        let w = GenerationWorker(inbox: inbox, modelDescription: "fake", gallery: store) { RecordingBackend(stepDelay: 0.001) }
        w.start()
        defer { w.shutdown(timeout: 2) }
        var events: [WorkerEvent] = []
        for id in 1...3 {
            w.submitLive(live(id))
            collect(inbox, into: &events) { $0.contains { Self.liveDone($0) == id } }
        }
        XCTAssertEqual(events.compactMap(Self.liveDone), [1, 2, 3])
        XCTAssertTrue(try store.entries().isEmpty)
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasSuffix(".png") })
        XCTAssertFalse(events.contains { if case .jobStarted = $0 { return true }; return false }, "no job events for live pictures")
    }

    func testCancelLiveDropsTheWaitingRequestAndStopsTheRunningOne() {
        let inbox = EventInbox()
        let backend = RecordingBackend(stepDelay: 0.02)
        let w = GenerationWorker(inbox: inbox, modelDescription: "fake", gallery: nil) { backend }
        w.start()
        defer { w.shutdown(timeout: 2) }
        w.submitLive(live(1, steps: 1000))
        waitUntil("the live preview to start") { backend.log.first.map { $0.steps >= 1 } ?? false }
        w.submitLive(live(2))
        w.cancelLive()
        var events: [WorkerEvent] = []
        collect(inbox, into: &events) { $0.contains { Self.liveCancelled($0) == 1 } }
        Thread.sleep(forTimeInterval: 0.1)
        events += inbox.drain()
        XCTAssertEqual(events.compactMap(Self.liveCancelled), [1])
        XCTAssertEqual(backend.log.map(\.prompt), ["live 1"], "the waiting request was dropped")
        // Esc's cancel is for real jobs: with only a live preview running there is nothing to cancel.
        XCTAssertNil(w.cancelRunning())
    }

    func testWithoutAModelALiveRequestFails() {
        let inbox = EventInbox()
        let w = GenerationWorker(inbox: inbox, modelDescription: "none", gallery: nil) {
            try PipelineBackend(path: nil, appVersion: "test")
        }
        w.start()
        defer { w.shutdown(timeout: 2) }
        w.submitLive(live(4))
        var events: [WorkerEvent] = []
        collect(inbox, into: &events) { $0.contains { if case .liveFailed(4, _) = $0 { return true }; return false } }
        XCTAssertTrue(events.contains { if case .liveFailed(4, let m) = $0 { return m.contains("no model") }; return false }, "\(events)")
    }
}

/// Live mode in the state machine: the setting, the debounce, what is asked for, and which
/// picture the preview pane keeps.
final class LivePreviewStateTests: XCTestCase {
    override func setUp() { TextWidth.prepareLocale() }

    func liveRequests(_ effects: [Effect]) -> [JobSpec] {
        effects.compactMap { if case .submitLive(let s) = $0 { return s }; return nil }
    }

    func readyState(live: Bool = true) -> StudioState {
        var st = StudioSettings()
        st.seedMode = .fixed
        st.seed = 31
        st.steps = 30
        st.count = 4
        st.livePreview = live
        var s = makeState(settings: st)
        _ = s.apply(.modelReady(testModel, seconds: 1))
        return s
    }

    func testTheSettingIsOffByDefaultPersistedAndToggledByF6() throws {
        XCTAssertFalse(StudioSettings().livePreview)
        XCTAssertFalse(try JSONDecoder().decode(StudioSettings.self, from: Data("{}".utf8)).livePreview, "old files: off")
        var on = StudioSettings()
        on.livePreview = true
        let data = try JSONEncoder().encode(on)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"livePreview\":true"))
        XCTAssertTrue(try JSONDecoder().decode(StudioSettings.self, from: data).livePreview)
        XCTAssertFalse(try JSONDecoder().decode(StudioSettings.self, from: Data(#"{"livePreview": "yes"}"#.utf8)).livePreview,
                       "a wrong type falls back to off")

        var s = readyState(live: false)
        XCTAssertFalse(StudioView.render(s).text.contains("Preview · live"))
        // F6 works while typing in the prompt (the field is unchanged).
        _ = s.type("a cat")
        let effects = s.handle(.function(6))
        XCTAssertTrue(s.settings.livePreview)
        XCTAssertTrue(effects.contains(.saveSettings))
        XCTAssertEqual(s.prompt.text, "a cat")
        XCTAssertTrue(StudioView.render(s).text.contains("Preview · live"), "the preview pane is marked")
        XCTAssertTrue(KeyHelp.sections.flatMap(\.keys).contains { $0.keys == "F6" })
        // Off again: the worker's live slot is emptied.
        let off = s.handle(.function(6))
        XCTAssertFalse(s.settings.livePreview)
        XCTAssertTrue(off.contains(.cancelLive) && off.contains(.saveSettings))
        XCTAssertFalse(StudioView.render(s).text.contains("Preview · live"))
        // The settings pane's row toggles it too.
        s.focus = .settings
        s.settingsRow = SettingRow.allCases.firstIndex(of: .livePreview)!
        _ = s.handle(.char(" "))
        XCTAssertTrue(s.settings.livePreview)
        XCTAssertTrue(StudioView.render(s).text.contains("on (F6)"))
    }

    func testEditsAreDebouncedIntoOneCheapPictureOfTheForm() {
        var s = readyState()
        let t0 = Date()
        XCTAssertTrue(s.liveTick(now: t0).isEmpty, "an empty prompt asks for nothing")
        _ = s.type("a red")
        XCTAssertTrue(s.liveTick(now: t0).isEmpty)
        XCTAssertTrue(s.liveTick(now: t0.addingTimeInterval(LivePreview.debounce * 0.9)).isEmpty, "still typing")
        // Another key before the pause ends restarts it.
        let t1 = t0.addingTimeInterval(LivePreview.debounce * 0.9)
        _ = s.type(" circle")
        XCTAssertTrue(s.liveTick(now: t1).isEmpty)
        XCTAssertTrue(s.liveTick(now: t1.addingTimeInterval(LivePreview.debounce * 0.9)).isEmpty)
        let requests = liveRequests(s.liveTick(now: t1.addingTimeInterval(LivePreview.debounce)))
        XCTAssertEqual(requests.count, 1)
        let r = requests[0]
        XCTAssertEqual(r.prompt, "a red circle")
        XCTAssertEqual(r.seeds, [31], "one picture, the current seed")
        XCTAssertEqual(r.sampler.steps, LivePreview.steps)
        XCTAssertEqual(r.sampler.guidanceScale, s.settings.guidanceScale)
        XCTAssertEqual(r.previewEvery, 0)
        XCTAssertEqual(s.live.inFlight, r.id)
        // Asked once: no repeat while the form stays the same.
        XCTAssertTrue(s.liveTick(now: t1.addingTimeInterval(10)).isEmpty)
        // Nothing went to the queue or the prompt history.
        XCTAssertTrue(s.jobs.isEmpty)
        XCTAssertTrue(s.history.items.isEmpty)
        // The negative prompt counts as an edit too.
        s.focus = .negative
        _ = s.type("blur")
        let t2 = t1.addingTimeInterval(20)
        XCTAssertTrue(s.liveTick(now: t2).isEmpty)
        let again = liveRequests(s.liveTick(now: t2.addingTimeInterval(LivePreview.debounce)))
        XCTAssertEqual(again.map(\.negativePrompt), ["blur"])
        XCTAssertGreaterThan(again[0].id, r.id)
        // Fewer steps than the live count are kept as they are.
        s.settings.steps = 3
        let t3 = t2.addingTimeInterval(20)
        _ = s.liveTick(now: t3)
        XCTAssertEqual(liveRequests(s.liveTick(now: t3.addingTimeInterval(LivePreview.debounce))).map(\.sampler.steps), [3])
    }

    func testOffOrWithoutAModelNothingIsAskedFor() {
        var s = readyState(live: false)
        _ = s.type("a cat")
        _ = s.liveTick(now: Date())
        XCTAssertTrue(s.liveTick(now: Date().addingTimeInterval(5)).isEmpty)
        var broken = readyState()
        _ = broken.apply(.modelUnavailable("gone"))
        _ = broken.type("a cat")
        _ = broken.liveTick(now: Date())
        XCTAssertTrue(broken.liveTick(now: Date().addingTimeInterval(5)).isEmpty)
    }

    func testEnterBeforeThePauseEndsMakesNoLivePicture() {
        var s = readyState()
        _ = s.type("a cat")
        let t0 = Date()
        _ = s.liveTick(now: t0)
        XCTAssertEqual(s.handle(.enter).compactMap { if case .submit(let j) = $0 { return j.id }; return nil }, [1])
        XCTAssertTrue(s.liveTick(now: t0.addingTimeInterval(5)).isEmpty, "the queued job draws this form")
        XCTAssertEqual(s.jobs.count, 1)
    }

    func testTheLivePictureIsShownButNeverReplacesALaterRealResult() {
        var s = readyState()
        _ = s.type("a cat")
        let t0 = Date()
        _ = s.liveTick(now: t0)
        let first = liveRequests(s.liveTick(now: t0.addingTimeInterval(1)))[0]
        _ = s.apply(.liveDone(first, image: RGBImage(width: 4, height: 4, fill: 10), seconds: 0.2))
        XCTAssertNil(s.live.inFlight)
        XCTAssertEqual(s.preview?.image.pixels[0], 10)
        XCTAssertNil(s.previewJobID)
        let screen = StudioView.render(s).text
        XCTAssertTrue(screen.contains("live · 8 steps · seed 31"), screen)
        XCTAssertTrue(screen.contains("Empty."), "the queue stays empty")

        // The user keeps typing: a new live request goes out, then a real job finishes first.
        _ = s.type(" and a dog")
        _ = s.liveTick(now: t0.addingTimeInterval(2))
        let second = liveRequests(s.liveTick(now: t0.addingTimeInterval(3)))[0]
        _ = s.handle(.ctrl("g"))
        let jobID = s.jobs[0].id
        _ = s.apply(.jobStarted(id: jobID, at: Date()))
        let done = s.apply(.jobDone(id: jobID, entries: [], image: RGBImage(width: 4, height: 4, fill: 99), seconds: 1, warnings: []))
        XCTAssertTrue(done.contains(.cancelLive), "the live request made before the result is no longer wanted")
        XCTAssertNil(s.live.inFlight)
        // Its picture, arriving anyway, does not cover the job's.
        _ = s.apply(.liveDone(second, image: RGBImage(width: 4, height: 4, fill: 20), seconds: 0.2))
        XCTAssertEqual(s.preview?.image.pixels[0], 99)
        XCTAssertEqual(s.previewJobID, jobID)

        // Requests made after the result are shown again, the newest last: an older live
        // picture arriving after a newer one is not shown over it.
        _ = s.type("s")
        _ = s.liveTick(now: t0.addingTimeInterval(4))
        let third = liveRequests(s.liveTick(now: t0.addingTimeInterval(5)))[0]
        _ = s.type("!")
        _ = s.liveTick(now: t0.addingTimeInterval(6))
        let fourth = liveRequests(s.liveTick(now: t0.addingTimeInterval(7)))[0]
        _ = s.apply(.liveDone(fourth, image: RGBImage(width: 4, height: 4, fill: 40), seconds: 0.2))
        XCTAssertEqual(s.preview?.image.pixels[0], 40)
        _ = s.apply(.liveDone(third, image: RGBImage(width: 4, height: 4, fill: 30), seconds: 0.2))
        XCTAssertEqual(s.preview?.image.pixels[0], 40)
        XCTAssertEqual(s.jobs.count, 1, "live pictures never enter the queue")
    }

    func testTheMarkerShowsARequestInFlightAndAFailureIsReported() {
        var s = readyState()
        _ = s.type("a cat")
        _ = s.liveTick(now: Date())
        let r = liveRequests(s.liveTick(now: Date().addingTimeInterval(1)))[0]
        XCTAssertTrue(StudioView.render(s).text.contains("Preview · live…"))
        _ = s.apply(.liveFailed(id: r.id, message: "start picture missing"))
        XCTAssertNil(s.live.inFlight)
        XCTAssertTrue(s.message.text.contains("start picture missing"))
        let text = StudioView.render(s).text
        XCTAssertTrue(text.contains("Preview · live") && !text.contains("Preview · live…"))
    }
}
