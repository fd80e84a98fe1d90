/// The noise levels a sampler walks through.
///
/// Rectified-flow convention used throughout this module: `x_σ = (1−σ)·x0 + σ·ε`, with σ = 1 pure
/// noise and σ = 0 clean data. A schedule of N steps has N+1 sigmas: uniform in σ, optionally bent
/// by SD3's resolution shift `σ' = s·σ / (1 + (s−1)·σ)` (s > 1 spends more steps at high noise,
/// which larger images need because more pixels carry more redundant signal).
public struct Schedule: Equatable, Sendable {
    public let steps: Int
    public let shift: Double
    /// `steps + 1` strictly decreasing values, exactly 1 first and exactly 0 last.
    public let sigmas: [Double]

    public static let stepRange = 1...1000

    public init(steps: Int, shift: Double = 1) throws {
        guard Self.stepRange.contains(steps) else {
            throw SamplingError.invalidSetting("steps must be in \(Self.stepRange) (got \(steps))")
        }
        guard shift > 0, shift.isFinite else {
            throw SamplingError.invalidSetting("shift must be a finite number > 0 (got \(shift))")
        }
        self.steps = steps
        self.shift = shift
        // The ends are pinned rather than computed: `s/(1+(s−1))` is not exactly 1 for every s in
        // floating point, and the last step must land on clean data, not next to it.
        sigmas = (0...steps).map { i in
            if i == 0 { return 1 }
            if i == steps { return 0 }
            return Self.shifted(1 - Double(i) / Double(steps), by: shift)
        }
    }

    /// SD3's shift (Esser et al. 2024, §5.3.2). Maps [0, 1] onto itself and keeps the order.
    public static func shifted(_ sigma: Double, by shift: Double) -> Double {
        shift * sigma / (1 + (shift - 1) * sigma)
    }
}
