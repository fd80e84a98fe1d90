import Foundation
import Gallery
import ImageIO
import Sampling

/// One queued generation, fully resolved (seeds drawn) when it is queued, so what the queue
/// shows is exactly what runs.
public struct JobSpec: Equatable, Sendable {
    public var id: Int
    public var prompt: String
    public var negativePrompt: String
    /// One picture per seed.
    public var seeds: [UInt64]
    public var sampler: SamplerSettings
    /// Per encoder id; encoders not named use 1 / their model defaults.
    public var fusionWeights: [String: Double]
    public var templateEnabled: [String: Bool]
    public var layers: [String: Int]
    /// A preview every N steps (0 = none) and at most one per this many milliseconds.
    public var previewEvery: Int
    public var previewMinInterval: Int
    /// img2img: the start picture's path and the strength (1 = from pure noise).
    public var initImage: String?
    public var strength: Double
    /// Variations: one variation seed per seed (empty: none), and how far to move towards it.
    public var variationSeeds: [UInt64]
    public var variationStrength: Double

    public init(id: Int, prompt: String, negativePrompt: String = "", seeds: [UInt64], sampler: SamplerSettings,
                fusionWeights: [String: Double] = [:], templateEnabled: [String: Bool] = [:], layers: [String: Int] = [:],
                previewEvery: Int = 1, previewMinInterval: Int = 0, initImage: String? = nil, strength: Double = 1,
                variationSeeds: [UInt64] = [], variationStrength: Double = 0) {
        self.id = id; self.prompt = prompt; self.negativePrompt = negativePrompt; self.seeds = seeds
        self.sampler = sampler; self.fusionWeights = fusionWeights; self.templateEnabled = templateEnabled
        self.layers = layers; self.previewEvery = previewEvery; self.previewMinInterval = previewMinInterval
        self.initImage = initImage; self.strength = strength
        self.variationSeeds = variationSeeds; self.variationStrength = variationStrength
    }
}

public enum JobStatus: String, Equatable, Sendable {
    case pending, running, done, failed, cancelled

    public var isFinished: Bool { self == .done || self == .failed || self == .cancelled }
}

/// A job as the queue pane shows it.
public struct Job: Equatable, Sendable {
    public var spec: JobSpec
    public var status: JobStatus = .pending
    /// Steps finished and the total (0/0 while the prompt is being encoded).
    public var step = 0
    public var totalSteps = 0
    public var started: Date?
    /// When the first sampling step finished (the ETA is measured from here).
    public var firstStep: Date?
    public var lastStep: Date?
    public var finished: Date?
    public var message: String?
    /// Gallery file names of the results.
    public var results: [String] = []

    public init(spec: JobSpec) { self.spec = spec }

    public var id: Int { spec.id }

    /// Seconds left, from the average time of the steps so far.
    public func eta(now: Date) -> Double? {
        guard status == .running, totalSteps > 0, step >= 1, let first = firstStep, let last = lastStep else { return nil }
        let remaining = totalSteps - step
        if remaining <= 0 { return 0 }
        if step >= 2 {
            let perStep = last.timeIntervalSince(first) / Double(step - 1)
            return max(0, perStep * Double(remaining) - now.timeIntervalSince(last))
        }
        guard let s = started else { return nil }
        // One step so far: its time includes the prompt encoding, so this overestimates.
        return max(0, last.timeIntervalSince(s) * Double(remaining) - now.timeIntervalSince(last))
    }

    public var progress: Double {
        guard totalSteps > 0 else { return 0 }
        return Double(step) / Double(totalSteps)
    }
}

/// What the loaded model offers the encoder panel.
public struct EncoderInfo: Equatable, Sendable {
    public var id: String
    /// Transformer blocks in the LLM (the layer knob runs over 0…blockCount and -1…-(blockCount+1)).
    public var blockCount: Int
    /// The layer the model was trained with.
    public var defaultLayer: Int
    public var templateText: String
    public var templateEnabledByDefault: Bool

    public init(id: String, blockCount: Int, defaultLayer: Int, templateText: String = "", templateEnabledByDefault: Bool = true) {
        self.id = id; self.blockCount = blockCount; self.defaultLayer = defaultLayer
        self.templateText = templateText; self.templateEnabledByDefault = templateEnabledByDefault
    }
}

public struct ModelInfo: Equatable, Sendable {
    public var modelID: String
    public var path: String
    public var encoders: [EncoderInfo]
    public var imageSize: Int

    public init(modelID: String, path: String, encoders: [EncoderInfo], imageSize: Int) {
        self.modelID = modelID; self.path = path; self.encoders = encoders; self.imageSize = imageSize
    }
}

/// What the generation worker tells the UI (through the inbox).
public enum WorkerEvent: Sendable {
    case modelLoading(path: String)
    case modelReady(ModelInfo, seconds: Double)
    case modelUnavailable(String)
    case jobStarted(id: Int, at: Date)
    /// A sampling step finished; `preview` is the denoised estimate when one is due.
    case jobProgress(id: Int, step: Int, total: Int, preview: RGBImage?, at: Date)
    /// Each picture's attention maps so far (after a step; the last one holds every step).
    case jobAttention(id: Int, [WordAttention])
    case jobDone(id: Int, entries: [GalleryEntry], image: RGBImage, seconds: Double, warnings: [String])
    case jobFailed(id: Int, message: String)
    case jobCancelled(id: Int)
    /// A live preview (`GenerationWorker.submitLive`) finished: its picture (never saved).
    case liveDone(JobSpec, image: RGBImage, seconds: Double)
    case liveFailed(id: Int, message: String)
    /// Stopped by a real job, by `cancelLive` or on shutdown.
    case liveCancelled(id: Int)

    var jobID: Int? {
        switch self {
        case .jobStarted(let id, _), .jobProgress(let id, _, _, _, _), .jobAttention(let id, _), .jobDone(let id, _, _, _, _),
             .jobFailed(let id, _), .jobCancelled(let id): return id
        default: return nil
        }
    }
}

/// A lock-protected mailbox from the worker to the UI thread. Previews are coalesced: when a
/// newer step of the same job arrives before the UI drained the older one, the older preview
/// is dropped (its step count is superseded anyway), so a slow UI or link never falls behind.
public final class EventInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [WorkerEvent] = []

    public init() {}

    public func post(_ e: WorkerEvent) {
        lock.lock(); defer { lock.unlock() }
        // Attention maps are cumulative: a newer set for a job replaces one not yet drained.
        if case .jobAttention(let id, _) = e {
            events.removeAll { if case .jobAttention(let j, _) = $0 { return j == id } else { return false } }
            events.append(e)
            return
        }
        // The last event before any trailing attention of the same job.
        var i = events.count - 1
        while i >= 0, case .jobAttention(let j, _) = events[i], j == e.jobID { i -= 1 }
        if case .jobProgress(let id, _, _, let preview, _) = e, i >= 0,
           case .jobProgress(let lastID, _, _, let lastPreview, _) = events[i], lastID == id {
            // Keep a preview when the newer step carries none.
            if preview == nil, let lp = lastPreview, case .jobProgress(_, let s, let t, _, let at) = e {
                events[i] = .jobProgress(id: id, step: s, total: t, preview: lp, at: at)
            } else {
                events[i] = e
            }
            return
        }
        events.append(e)
    }

    public func drain() -> [WorkerEvent] {
        lock.lock(); defer { lock.unlock() }
        let out = events
        events.removeAll(keepingCapacity: true)
        return out
    }
}

/// Lays pictures of equal size out in a grid (for the preview of a batch).
public enum PictureGrid {
    public static func make(_ images: [RGBImage], gap: Int = 2) -> RGBImage? {
        guard let first = images.first else { return nil }
        if images.count == 1 { return first }
        let n = images.count
        let cols = Int(Double(n).squareRoot().rounded(.up))
        let rows = (n + cols - 1) / cols
        let w = first.width, h = first.height
        let W = cols * w + (cols - 1) * gap, H = rows * h + (rows - 1) * gap
        var px = [UInt8](repeating: 0, count: W * H * 3)
        for (i, img) in images.enumerated() {
            let ox = (i % cols) * (w + gap), oy = (i / cols) * (h + gap)
            for y in 0..<min(h, img.height) {
                for x in 0..<min(w, img.width) {
                    let (r, g, b) = img.rgb(x: x, y: y)
                    let o = ((oy + y) * W + ox + x) * 3
                    px[o] = r; px[o + 1] = g; px[o + 2] = b
                }
            }
        }
        return RGBImage(width: W, height: H, channels: 3, pixels: px)
    }
}
