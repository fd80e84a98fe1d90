import Foundation

/// Live mode (F6, the "Live preview" setting): while the user edits the prompt, the negative
/// prompt or the settings, a cheap picture of the form refreshes by itself. It runs on the
/// worker's own live slot, never in the queue and never in the gallery.
public enum LivePreview {
    /// Steps of a live picture: enough for the composition and colours to show (the rectified-flow
    /// models converge on layout early), few enough that a picture costs a few hundred
    /// milliseconds and a real job submitted meanwhile waits at most one of them.
    public static let steps = 8

    /// Quiet time after the last edit before a live picture is asked for: longer than the gap
    /// between keys of someone typing a word, short enough to feel immediate when they pause.
    public static let debounce: TimeInterval = 0.35

    /// The live picture of a form: the job Enter would queue, reduced to one picture (the
    /// current seed) at `steps` steps, without step previews. `id` 0: what tells two forms
    /// apart is everything else.
    static func spec(of job: JobSpec) -> JobSpec {
        var live = job
        live.id = 0
        live.seeds = Array(job.seeds.prefix(1))
        live.variationSeeds = Array(job.variationSeeds.prefix(1))
        live.sampler.steps = min(job.sampler.steps, steps)
        live.previewEvery = 0
        live.previewMinInterval = 0
        return live
    }
}

/// What the studio remembers about live requests between ticks.
public struct LivePreviewState: Equatable, Sendable {
    /// The form (as a live spec) last seen by `StudioState.liveTick`; a change restarts the debounce.
    var lastForm: JobSpec?
    /// When the debounce of the last change ends.
    var due: Date?
    var nextID = 1
    /// The newest request sent to the worker that has not answered yet (the "drawing" marker).
    public var inFlight: Int?
    /// Requests with a smaller id were made before the latest real result: they must not
    /// replace it in the preview.
    var firstIDAfterRealResult = 1
    /// The newest live picture shown (an older one arriving late never replaces it).
    var lastShownID = 0
}
