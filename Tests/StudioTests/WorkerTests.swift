import Foundation
import Gallery
import ImageIO
import Sampling
import XCTest
@testable import Studio

/// A backend that "samples" by sleeping a little per step and returns flat grey pictures.
final class FakeBackend: GenerationBackend {
    let info = testModel
    let stepDelay: Double
    init(stepDelay: Double = 0.005) { self.stepDelay = stepDelay }

    func generate(_ spec: JobSpec, onStep: @escaping (Int, Int, [RGBImage]) -> Bool) throws
        -> (pictures: [(RGBImage, GenerationSettings)], warnings: [String]) {
        let total = spec.sampler.steps
        for step in 1...total {
            Thread.sleep(forTimeInterval: stepDelay)
            let imgs = spec.seeds.map { _ in RGBImage(width: 4, height: 4, fill: UInt8(step)) }
            if !onStep(step, total, imgs) { throw CancellationError() }
        }
        return (spec.seeds.map { seed in
            (RGBImage(width: 4, height: 4, fill: 200),
             GenerationSettings(prompt: spec.prompt, seed: seed, steps: total, sampler: spec.sampler.sampler.rawValue, width: 4, height: 4))
        }, [])
    }
}

final class WorkerTests: XCTestCase {
    func spec(_ id: Int, steps: Int, seeds: [UInt64] = [1], every: Int = 1, gap: Int = 0) -> JobSpec {
        JobSpec(id: id, prompt: "p\(id)", seeds: seeds, sampler: SamplerSettings(steps: steps), previewEvery: every, previewMinInterval: gap)
    }

    /// Collects events until `until` says stop (or 10 s pass).
    func collect(_ inbox: EventInbox, until: ([WorkerEvent]) -> Bool) -> [WorkerEvent] {
        var all: [WorkerEvent] = []
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            all += inbox.drain()
            if until(all) { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return all
    }

    func finished(_ events: [WorkerEvent], _ ids: [Int]) -> Bool {
        let done = events.compactMap { e -> Int? in
            switch e {
            case .jobDone(let id, _, _, _, _), .jobFailed(let id, _), .jobCancelled(let id): return id
            default: return nil
            }
        }
        return ids.allSatisfy(done.contains)
    }

    func testRunsJobsInOrderAndSavesToTheGallery() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wg-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try GalleryStore(root: dir)
        let inbox = EventInbox()
        let w = GenerationWorker(inbox: inbox, modelDescription: "fake", gallery: store) { FakeBackend() }
        w.submit(spec(1, steps: 4, seeds: [5, 6], every: 2))
        w.submit(spec(2, steps: 3))
        w.start()
        defer { w.shutdown(timeout: 2) }
        let events = collect(inbox) { finished($0, [1, 2]) }
        guard case .modelLoading = events.first else { return XCTFail("\(events)") }
        guard case .modelReady = events[1] else { return XCTFail("\(events)") }
        var previews: [Int] = []
        var doneOrder: [Int] = []
        for e in events {
            // The inbox coalesces consecutive progress events and keeps the last preview, so the
            // step a preview was drawn at is read from its pixels (the fake backend fills with the step).
            if case .jobProgress(1, _, _, let p, _) = e, let p {
                previews.append(Int(p.pixels[0]))
                XCTAssertEqual(p.width, 4 * 2 + 2, "a batch preview is a grid")
            }
            if case .jobDone(let id, let entries, _, _, _) = e {
                doneOrder.append(id)
                XCTAssertEqual(entries.count, id == 1 ? 2 : 1)
            }
        }
        XCTAssertEqual(doneOrder, [1, 2])
        XCTAssertTrue(previews.allSatisfy { $0 % 2 == 0 || $0 == 4 }, "previews every 2 steps: \(previews)")
        XCTAssertEqual(try store.entries().count, 3)
        XCTAssertEqual(Set(try store.entries().map(\.settings.seed)), [5, 6, 1])
    }

    func testCancelRunningPendingAndClear() throws {
        let inbox = EventInbox()
        let w = GenerationWorker(inbox: inbox, modelDescription: "fake", gallery: nil) { FakeBackend(stepDelay: 0.02) }
        w.start()
        defer { w.shutdown(timeout: 2) }
        w.submit(spec(1, steps: 500))
        w.submit(spec(2, steps: 5))
        w.submit(spec(3, steps: 5))
        w.submit(spec(4, steps: 5))
        _ = collect(inbox) { $0.contains { if case .jobProgress(1, _, _, _, _) = $0 { return true }; return false } }
        w.cancel(id: 2)
        XCTAssertEqual(w.cancelRunning(), 1)
        w.clearPending()
        let events = collect(inbox) { finished($0, [1, 2, 3, 4]) }
        var cancelled: [Int] = []
        for e in events { if case .jobCancelled(let id) = e { cancelled.append(id) } }
        XCTAssertEqual(Set(cancelled), [1, 2, 3, 4])
        XCTAssertFalse(events.contains { if case .jobDone = $0 { return true }; return false })
        // The worker is still alive for the next job.
        w.submit(spec(5, steps: 2))
        XCTAssertTrue(finished(collect(inbox) { finished($0, [5]) }, [5]))
    }

    func testPreviewGapThrottles() {
        let inbox = EventInbox()
        let w = GenerationWorker(inbox: inbox, modelDescription: "fake", gallery: nil) { FakeBackend(stepDelay: 0.01) }
        w.start()
        defer { w.shutdown(timeout: 2) }
        w.submit(spec(1, steps: 30, every: 1, gap: 100_000))
        var previews = 0
        let deadline = Date().addingTimeInterval(10)
        var done = false
        while !done && Date() < deadline {
            for e in inbox.drain() {
                if case .jobProgress(_, _, _, let p, _) = e, p != nil { previews += 1 }
                if case .jobDone = e { done = true }
            }
            Thread.sleep(forTimeInterval: 0.001)
        }
        XCTAssertTrue(done)
        XCTAssertLessThanOrEqual(previews, 2, "the first step and the last one only")
    }

    func testMissingModelFailsJobsButKeepsRunning() {
        let inbox = EventInbox()
        let w = GenerationWorker(inbox: inbox, modelDescription: "none", gallery: nil) {
            try PipelineBackend(path: nil, appVersion: "test")
        }
        w.start()
        defer { w.shutdown(timeout: 2) }
        w.submit(spec(1, steps: 2))
        let events = collect(inbox) { finished($0, [1]) }
        XCTAssertTrue(events.contains { if case .modelUnavailable(let m) = $0 { return m.contains("no trained model") }; return false })
        XCTAssertTrue(events.contains { if case .jobFailed(1, let m) = $0 { return m.contains("no model") }; return false })
        var s = makeState()
        for e in events { _ = s.apply(e) }
        XCTAssertTrue(StudioView.render(s).text.contains("No model"), "the encoder pane explains")
    }
}
