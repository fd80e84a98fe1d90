import Foundation

/// Errors of this module; each description is one line meant for the user.
public enum SamplingError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case unknownSampler(String)
    case invalidSetting(String)
    case invalidInput(String)
    case modelOutput(expected: Int, got: Int)

    public var description: String {
        switch self {
        case .unknownSampler(let name):
            "unknown sampler \"\(name)\"; valid samplers: \(SamplerKind.validNames)"
        case .invalidSetting(let message), .invalidInput(let message):
            message
        case .modelOutput(let expected, let got):
            "the model returned \(got) values, expected \(expected)"
        }
    }

    public var errorDescription: String? { description }
}

/// The σ range in which classifier-free guidance is applied (Kynkäänniemi et al. 2024, "Applying
/// Guidance in a Limited Interval Improves Sample and Distribution Quality"): guidance at high
/// noise hurts diversity, at low noise it does nothing useful, so outside the interval only the
/// conditional pass runs, which also saves the unconditional evaluations there.
public struct GuidanceInterval: Equatable, Sendable {
    public var low: Double
    public var high: Double

    /// Guidance at every step.
    public static let always = GuidanceInterval(low: 0, high: 1)

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }

    /// Closed on both ends, so `always` covers σ = 1.
    public func contains(_ sigma: Double) -> Bool { low <= sigma && sigma <= high }
}

/// Everything that decides how a sample is drawn, apart from the model and the seeds.
public struct SamplerSettings: Equatable, Sendable {
    public var sampler: SamplerKind
    public var steps: Int
    /// SD3 schedule shift; 1 = uniform sigmas.
    public var shift: Double
    /// Classifier-free guidance scale w in `x̂0 = u + w·(c − u)`; 1 = conditional only.
    public var guidanceScale: Double
    /// Guidance rescale φ (Lin et al. 2024): 0 = plain guidance, 1 = fully rescaled.
    public var guidanceRescale: Double
    public var guidanceInterval: GuidanceInterval
    /// Fresh-noise amount for `euler_a` and `ddim`; nil = the sampler's default.
    public var eta: Double?

    public static let guidanceScaleRange = 0.0...50.0
    public static let guidanceRescaleRange = 0.0...1.0

    public init(sampler: SamplerKind = .euler, steps: Int = 20, shift: Double = 1,
                guidanceScale: Double = 1, guidanceRescale: Double = 0,
                guidanceInterval: GuidanceInterval = .always, eta: Double? = nil) {
        self.sampler = sampler
        self.steps = steps
        self.shift = shift
        self.guidanceScale = guidanceScale
        self.guidanceRescale = guidanceRescale
        self.guidanceInterval = guidanceInterval
        self.eta = eta
    }

    /// η the sampler will use (ignored by samplers that take none).
    public var effectiveEta: Double { eta ?? sampler.defaultEta }

    /// Throws `SamplingError.invalidSetting` naming the first bad setting.
    /// (`contains` is false for NaN, so NaNs are rejected too.)
    public func validate() throws {
        func fail(_ message: String) -> SamplingError { .invalidSetting(message) }
        guard Schedule.stepRange.contains(steps) else {
            throw fail("steps must be in \(Schedule.stepRange) (got \(steps))")
        }
        guard Self.guidanceScaleRange.contains(guidanceScale) else {
            throw fail("guidance scale must be in 0...50 (got \(guidanceScale))")
        }
        guard shift > 0, shift.isFinite else {
            throw fail("shift must be a finite number > 0 (got \(shift))")
        }
        if let eta, !(eta >= 0 && eta.isFinite) {
            throw fail("eta must be a finite number ≥ 0 (got \(eta))")
        }
        guard Self.guidanceRescaleRange.contains(guidanceRescale) else {
            throw fail("guidance rescale must be in 0...1 (got \(guidanceRescale))")
        }
        let interval = guidanceInterval
        guard (0.0...1.0).contains(interval.low), (0.0...1.0).contains(interval.high) else {
            throw fail("guidance interval bounds must be sigmas in 0...1 (got \(interval.low)...\(interval.high))")
        }
        guard interval.low <= interval.high else {
            throw fail("guidance interval low (\(interval.low)) must not exceed high (\(interval.high))")
        }
    }
}
