import Foundation
import Gallery
import ImageIO

/// What the worker needs from a model: the real one wraps `ImagePipeline`; tests use a fake.
/// Every call happens on the worker thread.
public protocol GenerationBackend: AnyObject {
    var info: ModelInfo { get }
    /// One picture per seed, each with the settings to store in the gallery. `onStep(step,
    /// total, pictures)` is called after each sampling step (step counts from 1) with the
    /// denoised estimates and returns false to cancel (then it throws CancellationError).
    func generate(_ spec: JobSpec, onStep: @escaping (Int, Int, [RGBImage]) -> Bool) throws
        -> (pictures: [(RGBImage, GenerationSettings)], warnings: [String])
    /// The same, also reporting each picture's attention maps (summed over the steps so far)
    /// after each step, before `onStep`. Backends without maps just generate.
    func generate(_ spec: JobSpec, onStep: @escaping (Int, Int, [RGBImage]) -> Bool,
                  onAttention: @escaping ([WordAttention]) -> Void) throws
        -> (pictures: [(RGBImage, GenerationSettings)], warnings: [String])
}

extension GenerationBackend {
    public func generate(_ spec: JobSpec, onStep: @escaping (Int, Int, [RGBImage]) -> Bool,
                         onAttention: @escaping ([WordAttention]) -> Void) throws
        -> (pictures: [(RGBImage, GenerationSettings)], warnings: [String]) {
        try generate(spec, onStep: onStep)
    }
}

/// The single background thread that loads the model and runs the queue. The UI thread talks to
/// it only through `submit`/`cancel…` (lock-protected) and reads its news from the inbox; no
/// curses call ever happens here.
///
/// Live previews (`submitLive`) have a slot of their own beside the queue: it holds only the
/// latest request, which runs when no real job is pending or running, and a real job submitted
/// while one runs stops it after its current step. Their pictures go to the inbox only, never
/// to the gallery.
public final class GenerationWorker: @unchecked Sendable {
    public let inbox: EventInbox
    private let load: () throws -> GenerationBackend
    private let modelDescription: String
    private let gallery: GalleryStore?
    private let cond = NSCondition()
    private var pending: [JobSpec] = []
    private var runningID: Int?
    /// The latest live request not yet started (a newer one replaces it).
    private var liveRequest: JobSpec?
    private var runningLiveID: Int?
    private var cancelRunningFlag = false
    private var stopping = false
    private var finishedThread = false
    private var thread: Thread?

    /// - Parameters:
    ///   - modelDescription: shown while loading ("loading model …").
    ///   - load: makes the backend (on the worker thread); its error text is shown in the UI.
    ///   - gallery: where finished pictures are saved (nil: not saved, for tests).
    public init(inbox: EventInbox, modelDescription: String, gallery: GalleryStore?, load: @escaping () throws -> GenerationBackend) {
        self.inbox = inbox
        self.modelDescription = modelDescription
        self.gallery = gallery
        self.load = load
    }

    public func start() {
        let t = Thread { [self] in self.main() }
        t.name = "lidit-generation"
        t.stackSize = 16 << 20
        thread = t
        t.start()
    }

    public func submit(_ spec: JobSpec) {
        cond.lock()
        pending.append(spec)
        // A running live preview stops at its next step boundary (its first when it is still
        // encoding the prompt, which nothing can interrupt), so the job waits at most that long.
        if runningLiveID != nil { cancelRunningFlag = true }
        cond.signal()
        cond.unlock()
    }

    /// Asks for a live preview: it replaces a live request that has not started, and runs once
    /// no real job is pending or running. Answered with `.liveDone`, `.liveFailed` or
    /// `.liveCancelled`; a replaced request is not answered.
    public func submitLive(_ spec: JobSpec) {
        cond.lock()
        liveRequest = spec
        cond.signal()
        cond.unlock()
    }

    /// Drops the waiting live request and stops the running one after its current step.
    public func cancelLive() {
        cond.lock()
        liveRequest = nil
        if runningLiveID != nil { cancelRunningFlag = true }
        cond.unlock()
    }

    /// Cancels a job: a pending one is dropped, the running one stops after its current step.
    public func cancel(id: Int) {
        cond.lock()
        var dropped = false
        if let i = pending.firstIndex(where: { $0.id == id }) {
            pending.remove(at: i)
            dropped = true
        } else if runningID == id {
            cancelRunningFlag = true
        }
        cond.unlock()
        if dropped { inbox.post(.jobCancelled(id: id)) }
    }

    /// Cancels the running job; returns its id (nil when idle).
    @discardableResult
    public func cancelRunning() -> Int? {
        cond.lock(); defer { cond.unlock() }
        if runningID != nil { cancelRunningFlag = true }
        return runningID
    }

    /// Drops every pending job (the running one keeps going).
    public func clearPending() {
        cond.lock()
        let ids = pending.map(\.id)
        pending.removeAll()
        cond.unlock()
        for id in ids { inbox.post(.jobCancelled(id: id)) }
    }

    /// Stops after the current step and waits (at most `timeout` seconds) for the thread to end.
    public func shutdown(timeout: Double) {
        cond.lock()
        stopping = true
        cancelRunningFlag = true
        pending.removeAll()
        liveRequest = nil
        cond.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while !finishedThread, thread != nil {
            if !cond.wait(until: deadline) { break }
        }
        cond.unlock()
    }

    private func main() {
        inbox.post(.modelLoading(path: modelDescription))
        let t0 = Date()
        var backend: GenerationBackend?
        var unavailable = ""
        do {
            let b = try load()
            backend = b
            inbox.post(.modelReady(b.info, seconds: Date().timeIntervalSince(t0)))
        } catch {
            unavailable = "\(error)"
            inbox.post(.modelUnavailable(unavailable))
        }
        while true {
            cond.lock()
            while pending.isEmpty && liveRequest == nil && !stopping { cond.wait() }
            if stopping {
                finishedThread = true
                cond.broadcast()
                cond.unlock()
                return
            }
            // Real jobs first: a live request only runs when none is waiting.
            if !pending.isEmpty {
                let spec = pending.removeFirst()
                runningID = spec.id
                cancelRunningFlag = false
                cond.unlock()
                if let backend {
                    run(spec, on: backend)
                } else {
                    inbox.post(.jobFailed(id: spec.id, message: "no model: \(unavailable)"))
                }
            } else if let spec = liveRequest {
                liveRequest = nil
                runningLiveID = spec.id
                cancelRunningFlag = false
                cond.unlock()
                if let backend {
                    runLive(spec, on: backend)
                } else {
                    inbox.post(.liveFailed(id: spec.id, message: "no model: \(unavailable)"))
                }
            } else {
                cond.unlock()
            }
            cond.lock()
            runningID = nil
            runningLiveID = nil
            cancelRunningFlag = false
            cond.unlock()
        }
    }

    private var shouldContinue: Bool {
        cond.lock(); defer { cond.unlock() }
        return !cancelRunningFlag
    }

    private func run(_ spec: JobSpec, on backend: GenerationBackend) {
        let start = Date()
        inbox.post(.jobStarted(id: spec.id, at: start))
        var lastPreview = Date.distantPast
        let minGap = Double(spec.previewMinInterval) / 1000
        do {
            let (pictures, warnings) = try backend.generate(spec, onStep: { [self] step, total, images in
                let now = Date()
                var preview: RGBImage? = nil
                if spec.previewEvery > 0 {
                    let due = step % spec.previewEvery == 0 || step == total
                    if due && (now.timeIntervalSince(lastPreview) >= minGap || step == total) {
                        preview = PictureGrid.make(images)
                        lastPreview = now
                    }
                }
                inbox.post(.jobProgress(id: spec.id, step: step, total: total, preview: preview, at: now))
                return shouldContinue
            }, onAttention: { [inbox] maps in inbox.post(.jobAttention(id: spec.id, maps)) })
            if !shouldContinue { throw CancellationError() }
            var entries: [GalleryEntry] = []
            if let gallery {
                for (image, settings) in pictures { entries.append(try gallery.save(image: image, settings: settings)) }
            }
            let grid = PictureGrid.make(pictures.map(\.0)) ?? RGBImage(width: 1, height: 1, fill: 0)
            inbox.post(.jobDone(id: spec.id, entries: entries, image: grid, seconds: Date().timeIntervalSince(start), warnings: warnings))
        } catch is CancellationError {
            inbox.post(.jobCancelled(id: spec.id))
        } catch {
            inbox.post(.jobFailed(id: spec.id, message: "\(error)"))
        }
    }

    /// A live preview: one picture, no step previews, no attention maps (nobody reads them), not
    /// saved anywhere.
    private func runLive(_ spec: JobSpec, on backend: GenerationBackend) {
        let start = Date()
        do {
            let (pictures, _) = try backend.generate(spec, onStep: { [self] _, _, _ in shouldContinue })
            if !shouldContinue { throw CancellationError() }
            guard let picture = PictureGrid.make(pictures.map(\.0)) else { throw StudioModelError("the model made no picture") }
            inbox.post(.liveDone(spec, image: picture, seconds: Date().timeIntervalSince(start)))
        } catch is CancellationError {
            inbox.post(.liveCancelled(id: spec.id))
        } catch {
            inbox.post(.liveFailed(id: spec.id, message: "\(error)"))
        }
    }
}
