import ArgumentParser
import Pipeline
import Sampling

/// A numeric option's range, stated once: its `--help` text shows it and its check names it.
/// Numeric options are declared with `parsing: .unconditional`, so `--steps -1` reaches the
/// check (a range error) and `--layer -3` is a value, not an unknown option.
struct OptionBounds<T: Comparable & CustomStringConvertible> {
    let option: String
    let range: ClosedRange<T>

    init(_ option: String, _ range: ClosedRange<T>) { self.option = option; self.range = range }

    /// "1...1000", for help texts.
    var text: String { "\(range.lowerBound)...\(range.upperBound)" }

    func check(_ value: T?) throws {
        guard let value else { return }
        // NaN is in no range, so "--cfg nan" is refused here too.
        guard range.contains(value) else { throw ValidationError("\(option) must be \(text) (got \(value))") }
    }
}

/// Every bounded option of the command line.
enum Bounds {
    static let steps = OptionBounds("--steps", Schedule.stepRange)
    static let cfg = OptionBounds("--cfg", SamplerSettings.guidanceScaleRange)
    static let cfgRescale = OptionBounds("--cfg-rescale", SamplerSettings.guidanceRescaleRange)
    static let shift = OptionBounds("--shift", 0.01...20.0)
    static let count = OptionBounds("--count", 1...64)
    static let threads = OptionBounds("--threads", 1...1024)
    static let seeds = OptionBounds("--seeds", 1...1000)
    static let resolution = OptionBounds("--resolution", 16...1024)
    static let limit = OptionBounds("--limit", 1...1_000_000)
    static let minutes = OptionBounds("--minutes", 0.01...1_000_000.0)
    static let trainSteps = OptionBounds("--steps", 1...100_000_000)
    static let captions = OptionBounds("--captions", 1...1_000_000)
    static let batch = OptionBounds("--batch", 1...4096)
    static let scale = OptionBounds("--scale", 1...32)
    static let columns = OptionBounds("--width", 1...10_000)
    static let rows = OptionBounds("--height", 1...10_000)
    static let layer = OptionBounds("--layer", -1000...1000)
    static let repetitions = OptionBounds("--repeat", 1...10_000)
    static let tokens = OptionBounds("--tokens", 1...4096)
    static let textTokens = OptionBounds("--text-tokens", 1...4096)
    static let previewEvery = OptionBounds("--preview-every", 0...100)
    static let previewInterval = OptionBounds("--preview-interval", 0...5000)
    static let strength = OptionBounds("--strength", 0.0...1.0)
    static let variationStrength = OptionBounds("--variation-strength", 0.0...1.0)
    /// Prompts (generate, eval prompt files).
    static let promptBytes = GenerationRequest.maximumPromptBytes
}
