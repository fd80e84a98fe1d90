import Kernels

/// What the network's output means.
public enum Prediction: String, CaseIterable, Codable, Sendable {
    /// v = ε − x0, the rectified-flow target (minRF, SD3).
    case velocity
    /// x0 itself (JiT, "Back to Basics": x-prediction stays on the data manifold).
    case cleanImage

    /// The clean estimate x̂0 from one output value: `x − σ·v̂` or the output as is.
    /// Both are well-defined for every σ in [0, 1], which is why samplers work in x̂0.
    @inline(__always)
    public func cleanEstimate(output: Float, x: Float, sigma: Float) -> Float {
        switch self {
        case .velocity: x - sigma * output
        case .cleanImage: output
        }
    }
}

/// One network evaluation.
///
/// Rows are `[rows, elementsPerRow]`, row-major. Without guidance the rows are the `batch`
/// samples, conditional. With guidance (`includesUnconditional`) there are `2·batch` rows: the
/// samples' conditional rows first, then the same samples again, to be run unconditionally
/// (with the null prompt), in the same order — one call with twice the rows, because a bigger
/// batch uses the CPU's GEMMs better than two calls.
public struct DenoiserInput {
    public let x: [Float]
    /// The noise level of every row.
    public let sigma: Double
    public let batch: Int
    public let elementsPerRow: Int
    public let includesUnconditional: Bool

    public init(x: [Float], sigma: Double, batch: Int, elementsPerRow: Int, includesUnconditional: Bool) {
        self.x = x
        self.sigma = sigma
        self.batch = batch
        self.elementsPerRow = elementsPerRow
        self.includesUnconditional = includesUnconditional
    }

    public var rows: Int { includesUnconditional ? 2 * batch : batch }

    /// Whether row `row` must be computed without the prompt.
    public func isUnconditional(row: Int) -> Bool { includesUnconditional && row >= batch }
}

/// The network as the samplers see it: a closure returning its raw prediction for every row of
/// the input, plus what that prediction means. Samplers only use `cleanEstimate(_:)`.
public struct Denoiser {
    public let prediction: Prediction
    private let network: (DenoiserInput) throws -> [Float]

    public init(prediction: Prediction, network: @escaping (DenoiserInput) throws -> [Float]) {
        self.prediction = prediction
        self.network = network
    }

    /// x̂0 for every row of the input.
    public func cleanEstimate(_ input: DenoiserInput) throws -> [Float] {
        var out = try network(input)
        guard out.count == input.x.count else {
            throw SamplingError.modelOutput(expected: input.x.count, got: out.count)
        }
        if prediction == .velocity {
            // x̂0 = x − σ·v̂, in place: out ← x + (−σ)·out.
            out.withUnsafeMutableBufferPointer { o in
                input.x.withUnsafeBufferPointer { x in
                    scale(o.baseAddress!, by: -Float(input.sigma), into: o.baseAddress!, count: o.count)
                    add(o.baseAddress!, x.baseAddress!, into: o.baseAddress!, count: o.count)
                }
            }
        }
        return out
    }
}

/// Classifier-free guidance with rescale and interval.
struct Guidance {
    let scale: Double
    let rescale: Double
    let interval: GuidanceInterval

    /// A scale of 1 is the conditional prediction exactly, so its unconditional pass is skipped.
    func isActive(at sigma: Double) -> Bool { scale != 1 && interval.contains(sigma) }

    /// Guided x̂0 for rows of `x` from the conditional and unconditional estimates.
    ///
    /// `u + w·(c − u)` is the same on x̂0 and on v for fixed x and σ (both are affine in the
    /// output). Rescale is not: Lin et al. match the std of the guided *velocity* to the
    /// conditional one (ComfyUI converts to v before rescaling for the same reason), and since
    /// `v = (x − x̂0)/σ`, the std ratio of velocities is that of `x − x̂0`, with no division by σ.
    func combine(conditional c: ArraySlice<Float>, unconditional u: ArraySlice<Float>,
                 x: [Float], rows: Int, elementsPerRow n: Int) -> [Float] {
        let w = Float(scale)
        var out = [Float](repeating: 0, count: rows * n)
        for i in 0..<out.count {
            let cu = c[c.startIndex + i], uu = u[u.startIndex + i]
            out[i] = uu + w * (cu - uu)
        }
        guard rescale > 0 else { return out }
        for r in 0..<rows {
            let range = r * n..<(r + 1) * n
            let conditionalStd = standardDeviation(range.lazy.map { Double(x[$0]) - Double(c[c.startIndex + $0]) })
            let guidedStd = standardDeviation(range.lazy.map { Double(x[$0]) - Double(out[$0]) })
            guard guidedStd > 0 else { continue }
            // v_final = φ·v_cfg·(std_c/std_cfg) + (1−φ)·v_cfg, written on x − x̂0.
            let factor = Float(rescale * conditionalStd / guidedStd + (1 - rescale))
            for i in range { out[i] = x[i] - (x[i] - out[i]) * factor }
        }
        return out
    }
}

/// Population standard deviation, summed in order (deterministic).
func standardDeviation<S: Collection>(_ values: S) -> Double where S.Element == Double {
    guard !values.isEmpty else { return 0 }
    let mean = values.reduce(0, +) / Double(values.count)
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
    return variance.squareRoot()
}
