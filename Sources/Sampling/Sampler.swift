import Foundation
import Kernels

/// What a step callback sees, after step `step` has moved the sample from `sigma` to `nextSigma`.
public struct StepInfo: Sendable {
    /// 0-based index of the step just finished.
    public let step: Int
    public let steps: Int
    public let sigma: Double
    public let nextSigma: Double
    /// The (guided) clean estimate x̂0 the step was taken with (Heun: the first of its two),
    /// `[rows, elementsPerRow]`: what a preview should show, since the noisy sample itself looks
    /// like static for most steps. After the last step it equals the result.
    public let denoised: [Float]
    public let rows: Int
    public let elementsPerRow: Int
}

/// Called once per step, in order; return false to cancel.
public typealias StepCallback = (StepInfo) -> Bool

/// Draws samples with one configured sampler.
///
/// Sampling starts from pure noise at σ = 1, one row per seed. Every sampler updates in terms of
/// the model's clean estimate x̂0 and ratios of sigmas, never dividing a model output by σ, so
/// velocity and clean-image models are both handled at every σ.
///
/// Randomness: row r's starting noise is `RandomGenerator(seed: seeds[r])` from counter 0, and the
/// fresh noise of step i (ancestral samplers) comes from the same seed at counter `(i+1)·B`,
/// `B = ⌈elementsPerRow/4⌉` blocks (one row's worth). Each image is thus a function of its own
/// seed only — the same alone or in any batch, and for any thread count.
///
/// Cancellation: when the step callback returns false, `sample` throws `CancellationError`.
public struct Sampler {
    public let settings: SamplerSettings
    public let schedule: Schedule

    public init(settings: SamplerSettings) throws {
        try settings.validate()
        self.settings = settings
        schedule = try Schedule(steps: settings.steps, shift: settings.shift)
    }

    /// Starting noise ε ~ N(0, I), one row per seed.
    public static func noise(seeds: [UInt64], elementsPerRow: Int) -> [Float] {
        var out = [Float](repeating: 0, count: seeds.count * elementsPerRow)
        fillNoise(&out, seeds: seeds, elementsPerRow: elementsPerRow, block: 0)
        return out
    }

    /// Fills each row r with normals from `seeds[r]`, starting at row-sized block `block`.
    static func fillNoise(_ out: inout [Float], seeds: [UInt64], elementsPerRow n: Int, block: Int) {
        let blocksPerRow = UInt64((n + 3) / 4)
        out.withUnsafeMutableBufferPointer { buffer in
            for (r, seed) in seeds.enumerated() {
                var generator = RandomGenerator(seed: seed, counter: UInt64(block) * blocksPerRow)
                generator.fillNormal(UnsafeMutableBufferPointer(rebasing: buffer[r * n..<(r + 1) * n]))
            }
        }
    }

    /// A1111's variation seed ("Variation seed", "Variation seed strength"): each row's noise is
    /// the spherical interpolation from the noise of `seeds[r]` towards that of `variationSeeds[r]`
    /// by `strength` (0 = the seed's own noise, bit for bit; 1 = the variation seed's). The angle
    /// is taken between the whole rows, so the result keeps a noise-like norm.
    public static func variationNoise(seeds: [UInt64], variationSeeds: [UInt64], strength: Double, elementsPerRow n: Int) -> [Float] {
        precondition(seeds.count == variationSeeds.count, "one variation seed per seed")
        var out = noise(seeds: seeds, elementsPerRow: n)
        guard strength != 0 else { return out }
        let other = noise(seeds: variationSeeds, elementsPerRow: n)
        for r in 0..<seeds.count {
            let range = (r * n)..<((r + 1) * n)
            var dot = 0.0, la = 0.0, lb = 0.0
            for i in range {
                let (a, b) = (Double(out[i]), Double(other[i]))
                dot += a * b; la += a * a; lb += b * b
            }
            let cosine = dot / max(1e-30, (la * lb).squareRoot())
            let (wa, wb): (Double, Double)
            if cosine > 0.9995 {
                (wa, wb) = (1 - strength, strength)
            } else {
                let omega = acos(max(-1, min(1, cosine))), so = sin(omega)
                (wa, wb) = (sin((1 - strength) * omega) / so, sin(strength * omega) / so)
            }
            for i in range { out[i] = Float(wa * Double(out[i]) + wb * Double(other[i])) }
        }
        return out
    }

    /// img2img: the index of the schedule's first step for `strength` (1 = step 0, pure noise;
    /// 0 = `steps`, nothing to do). As diffusers and A1111 do, a strength runs that share of the
    /// steps (rounded), the last ones.
    public func startStep(strength: Double) -> Int {
        let s = min(1, max(0, strength.isFinite ? strength : 1))
        return settings.steps - Int((Double(settings.steps) * s).rounded())
    }

    /// Rectified-flow noising of clean rows to noise level σ: `(1 − σ)·x0 + σ·ε`.
    public static func noised(_ clean: [Float], noise: [Float], sigma: Double) -> [Float] {
        combination(1 - sigma, clean, sigma, noise)
    }

    /// Samples one image per seed, starting from `Sampler.noise(seeds:elementsPerRow:)`.
    public func sample(_ denoiser: Denoiser, seeds: [UInt64], elementsPerRow: Int,
                       onStep: StepCallback? = nil) throws -> [Float] {
        try sample(denoiser, from: Self.noise(seeds: seeds, elementsPerRow: elementsPerRow),
                   seeds: seeds, elementsPerRow: elementsPerRow, onStep: onStep)
    }

    /// Samples from a given start: noise at σ = 1, or (img2img) a sample already at
    /// `schedule.sigmas[startStep]`, from which only the remaining steps run (the step callback
    /// counts them from 0). `seeds` still drive the ancestral noise.
    public func sample(_ denoiser: Denoiser, from noise: [Float], seeds: [UInt64], elementsPerRow: Int,
                       startStep: Int = 0, onStep: StepCallback? = nil) throws -> [Float] {
        guard (0..<settings.steps).contains(startStep) else {
            throw SamplingError.invalidInput("start step \(startStep) is not in 0..<\(settings.steps)")
        }
        guard !seeds.isEmpty, elementsPerRow > 0 else {
            throw SamplingError.invalidInput("need at least one seed and one element per row")
        }
        guard noise.count == seeds.count * elementsPerRow else {
            throw SamplingError.invalidInput(
                "starting noise has \(noise.count) values, expected \(seeds.count) rows × \(elementsPerRow)")
        }
        let run = Run(denoiser: denoiser,
                      guidance: Guidance(scale: settings.guidanceScale, rescale: settings.guidanceRescale,
                                         interval: settings.guidanceInterval),
                      sigmas: Array(schedule.sigmas[startStep...]), seeds: seeds, elementsPerRow: elementsPerRow, onStep: onStep)
        let eta = settings.effectiveEta
        switch settings.sampler {
        case .euler: return try run.euler(noise)
        case .eulerAncestral: return try run.eulerAncestral(noise, eta: eta)
        case .heun: return try run.heun(noise)
        case .dpmpp2m: return try run.dpmpp2m(noise)
        case .ddim: return try run.ddim(noise, eta: eta)
        case .unipc: return try run.unipc(noise)
        case .lcm: return try run.lcm(noise)
        }
    }
}

/// λ = log(α/σ), the half log-SNR the exponential-integrator samplers step in; −∞ at σ = 1.
@inline(__always)
func halfLogSNR(_ sigma: Double) -> Double { log((1 - sigma) / sigma) }

/// One sampling run: the model with guidance applied, the rows, and the step loop of each sampler.
/// Notation: σ = sigmas[i], σn = sigmas[i+1], α = 1 − σ, D = x̂0 at (x, σ).
struct Run {
    let denoiser: Denoiser
    let guidance: Guidance
    let sigmas: [Double]
    let seeds: [UInt64]
    let elementsPerRow: Int
    let onStep: StepCallback?

    var rows: Int { seeds.count }
    var steps: Int { sigmas.count - 1 }

    /// The guided clean estimate at (x, σ): one model call, with doubled rows when guidance is on.
    func denoise(_ x: [Float], _ sigma: Double) throws -> [Float] {
        guard guidance.isActive(at: sigma) else {
            return try denoiser.cleanEstimate(DenoiserInput(
                x: x, sigma: sigma, batch: rows, elementsPerRow: elementsPerRow, includesUnconditional: false))
        }
        let both = try denoiser.cleanEstimate(DenoiserInput(
            x: x + x, sigma: sigma, batch: rows, elementsPerRow: elementsPerRow, includesUnconditional: true))
        return guidance.combine(conditional: both[..<x.count], unconditional: both[x.count...],
                                x: x, rows: rows, elementsPerRow: elementsPerRow)
    }

    /// Reports step i; throws `CancellationError` when the callback says stop.
    func report(_ i: Int, _ denoised: [Float]) throws {
        guard let onStep else { return }
        let info = StepInfo(step: i, steps: steps, sigma: sigmas[i], nextSigma: sigmas[i + 1],
                            denoised: denoised, rows: rows, elementsPerRow: elementsPerRow)
        if !onStep(info) { throw CancellationError() }
    }

    /// Fresh N(0, I) noise for step i (see `Sampler` for the counter layout).
    func stepNoise(_ i: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * elementsPerRow)
        Sampler.fillNoise(&out, seeds: seeds, elementsPerRow: elementsPerRow, block: i + 1)
        return out
    }

    /// Euler on the flow ODE, `x ← x + (σn − σ)·v̂`, written as the interpolation
    /// `(σn/σ)·x + (1 − σn/σ)·D` so that the last step lands exactly on D.
    func euler(_ start: [Float]) throws -> [Float] {
        var x = start
        for i in 0..<steps {
            let (sigma, next) = (sigmas[i], sigmas[i + 1])
            let denoised = try denoise(x, sigma)
            x = combination(next / sigma, x, 1 - next / sigma, denoised)
            try report(i, denoised)
        }
        return x
    }

    /// Euler ancestral for rectified flow (ComfyUI `sample_euler_ancestral_RF`): an Euler step
    /// down to σ_down < σn, then rescale the signal and add noise to come back up to σn.
    /// `σ_down = σn·(1 + (σn/σ − 1)·η)`; η = 1 gives σn²/σ; η > 1 is clamped at σ_down = 0 (all
    /// noise fresh).
    func eulerAncestral(_ start: [Float], eta: Double) throws -> [Float] {
        var x = start
        for i in 0..<steps {
            let (sigma, next) = (sigmas[i], sigmas[i + 1])
            let denoised = try denoise(x, sigma)
            let down = max(0, next * (1 + (next / sigma - 1) * eta))
            x = combination(down / sigma, x, 1 - down / sigma, denoised)
            if next > 0 {
                // x now holds signal α_down and noise σ_down; scale to signal αn and top up the noise.
                let (alphaNext, alphaDown) = (1 - next, 1 - down)
                let renoise = (max(0, next * next - pow(down * alphaNext / alphaDown, 2))).squareRoot()
                x = combination(alphaNext / alphaDown, x, renoise, stepNoise(i))
            }
            try report(i, denoised)
        }
        return x
    }

    /// Heun (Karras et al. 2022, Alg. 2 without churn): Euler predictor, then the trapezoid of the
    /// velocities at both ends; the last step (to σ = 0) is plain Euler, as in k-diffusion.
    func heun(_ start: [Float]) throws -> [Float] {
        var x = start
        for i in 0..<steps {
            let (sigma, next) = (sigmas[i], sigmas[i + 1])
            let denoised = try denoise(x, sigma)
            let predicted = combination(next / sigma, x, 1 - next / sigma, denoised)
            if next == 0 {
                x = predicted
            } else {
                // x + Δσ·(v + v')/2 with v = (x − D)/σ, v' = (x' − D')/σn.
                let denoisedNext = try denoise(predicted, next)
                let dt = Float(next - sigma)
                let (s, sn) = (Float(sigma), Float(next))
                for k in 0..<x.count {
                    let v = (x[k] - denoised[k]) / s
                    let vNext = (predicted[k] - denoisedNext[k]) / sn
                    x[k] += dt * 0.5 * (v + vNext)
                }
            }
            try report(i, denoised)
        }
        return x
    }

    /// DDIM (Song et al. 2021) for `x = α·x0 + σ·ε`: `x ← αn·D + √(σn² − s²)·ε̂ + s·z` with
    /// ε̂ = (x − α·D)/σ and s² = η²·σn²·(1 − (α·σn/(αn·σ))²), the DDPM posterior variance at η = 1.
    /// η = 0 is the same update as Euler (up to rounding); η > 1 is clamped at s = σn.
    func ddim(_ start: [Float], eta: Double) throws -> [Float] {
        var x = start
        for i in 0..<steps {
            let (sigma, next) = (sigmas[i], sigmas[i + 1])
            let (alpha, alphaNext) = (1 - sigma, 1 - next)
            let denoised = try denoise(x, sigma)
            var fresh = 0.0
            if next > 0, eta > 0 {
                let ratio = alpha * next / (alphaNext * sigma)
                fresh = min(next, eta * next * max(0, 1 - ratio * ratio).squareRoot())
            }
            let kept = (next * next - fresh * fresh).squareRoot()
            x = combination(kept / sigma, x, alphaNext - kept * alpha / sigma, denoised)
            if fresh > 0 { x = combination(1, x, fresh, stepNoise(i)) }
            try report(i, denoised)
        }
        return x
    }

    /// The first-order exponential-integrator step in x̂0 form (DPM-Solver++ / DDIM):
    /// `x ← (σn/σ)·x + αn·(1 − e^{−h})·D`. With e^{−h} = α·σn/(αn·σ), `αn·(1 − e^{−h}) =
    /// αn − α·σn/σ` stays finite at σ = 1 (λ = −∞) and σn = 0 (λ = +∞).
    @inline(__always)
    func phi(_ sigma: Double, _ next: Double) -> Double { (1 - next) - (1 - sigma) * next / sigma }

    /// DPM-Solver++(2M) (Lu et al. 2022) with the rectified-flow λ = log(α/σ): a linear
    /// extrapolation of x̂0 from the last two steps, `D' = (1 + 1/2r)·D − (1/2r)·D_prev`,
    /// `r = h_prev/h`. First order on the last step and whenever the previous point is at σ = 1
    /// (λ = −∞ there, so h_prev is infinite and the correction vanishes anyway).
    func dpmpp2m(_ start: [Float]) throws -> [Float] {
        var x = start
        var previous: [Float]? = nil
        for i in 0..<steps {
            let (sigma, next) = (sigmas[i], sigmas[i + 1])
            let denoised = try denoise(x, sigma)
            var target = denoised
            if let previous, next > 0, sigmas[i - 1] < 1 {
                let h = halfLogSNR(next) - halfLogSNR(sigma)
                let r = (halfLogSNR(sigma) - halfLogSNR(sigmas[i - 1])) / h
                target = combination(1 + 1 / (2 * r), denoised, -1 / (2 * r), previous)
            }
            x = combination(next / sigma, x, phi(sigma, next), target)
            previous = denoised
            try report(i, denoised)
        }
        return x
    }

    /// UniPC with B(h) = e^{−h} − 1 ("bh2"), order 2, data prediction (Zhao et al. 2023; as
    /// diffusers' `UniPCMultistepScheduler`). The predictor UniP-2 with ρ = ½ equals
    /// DPM-Solver++(2M). After the model is evaluated at the predicted x_i, the corrector UniC
    /// recomputes x_i from x_{i−1} using that new evaluation too (the evaluation itself is kept,
    /// so there is no extra model call): order 1 uses ρ = ½ (trapezoid), order 2 solves
    /// `[1 1; r 1]·ρ = b` for the weights of D1 = (m_{i−2} − m_{i−1})/r and m_i − m_{i−1}.
    /// The corrector's order is that of the predictor that produced x_i.
    func unipc(_ start: [Float]) throws -> [Float] {
        var x = start
        // Previous two evaluations (m_{i−1}, m_{i−2}) and the sample x_{i−1} they stepped from.
        var previous: [Float]? = nil
        var older: [Float]? = nil
        var lastSample = start
        var lastOrder = 1
        for i in 0..<steps {
            let (sigma, next) = (sigmas[i], sigmas[i + 1])
            let model = try denoise(x, sigma)

            if let previous {
                // Corrector for the step σ_{i−1} → σ_i.
                let from = sigmas[i - 1]
                let weight = phi(from, sigma)
                var corrected = combination(sigma / from, lastSample, weight, previous)
                if lastOrder == 2, let older {
                    let h = halfLogSNR(sigma) - halfLogSNR(from)
                    let r = (halfLogSNR(sigmas[i - 2]) - halfLogSNR(from)) / h
                    let (rhoOlder, rhoNew) = Self.correctorWeights(h: h, r: r)
                    // weight·(ρ0·(m_{i−2} − m_{i−1})/r + ρ1·(m_i − m_{i−1}))
                    for k in 0..<corrected.count {
                        let d1 = (older[k] - previous[k]) / Float(r)
                        corrected[k] += Float(weight) * (Float(rhoOlder) * d1 + Float(rhoNew) * (model[k] - previous[k]))
                    }
                } else {
                    for k in 0..<corrected.count {
                        corrected[k] += Float(weight) * 0.5 * (model[k] - previous[k])
                    }
                }
                x = corrected
            }

            // Predictor for σ_i → σ_{i+1}.
            lastSample = x
            var target = model
            lastOrder = 1
            if let previous, next > 0, sigmas[i - 1] < 1 {
                let h = halfLogSNR(next) - halfLogSNR(sigma)
                let r = (halfLogSNR(sigmas[i - 1]) - halfLogSNR(sigma)) / h
                // m + ½·(m_{i−1} − m)/r, the same extrapolation as DPM-Solver++(2M).
                target = combination(1 - 0.5 / r, model, 0.5 / r, previous)
                lastOrder = 2
            }
            x = combination(next / sigma, x, phi(sigma, next), target)
            older = previous
            previous = model
            try report(i, model)
        }
        return x
    }

    /// UniC-2 weights (ρ for D1, ρ for m_t − m0) from diffusers' `multistep_uni_c_bh_update`,
    /// with hh = −h: b_k from the φ-function recursion divided by B(h) = e^{hh} − 1.
    static func correctorWeights(h: Double, r: Double) -> (Double, Double) {
        let hh = -h
        let bh = expm1(hh)
        var phiK = expm1(hh) / hh - 1
        let b1 = phiK / bh
        phiK = phiK / hh - 0.5
        let b2 = phiK * 2 / bh
        // [1 1; r 1]·(ρ0, ρ1) = (b1, b2)
        let rho0 = (b1 - b2) / (1 - r)
        return (rho0, b1 - rho0)
    }

    /// LCM (Luo et al. 2023): jump to the clean estimate, then re-noise to σn with fresh noise.
    /// Meant for consistency-distilled models; a plain model gives soft results.
    func lcm(_ start: [Float]) throws -> [Float] {
        var x = start
        for i in 0..<steps {
            let next = sigmas[i + 1]
            let denoised = try denoise(x, sigmas[i])
            x = next > 0 ? combination(1 - next, denoised, next, stepNoise(i)) : denoised
            try report(i, denoised)
        }
        return x
    }
}

/// a·x + b·y, element-wise (coefficients rounded to Float once).
func combination(_ a: Double, _ x: [Float], _ b: Double, _ y: [Float]) -> [Float] {
    precondition(x.count == y.count)
    var out = [Float](repeating: 0, count: x.count)
    out.withUnsafeMutableBufferPointer { o in
        x.withUnsafeBufferPointer { px in
            y.withUnsafeBufferPointer { py in
                scale(px.baseAddress!, by: Float(a), into: o.baseAddress!, count: o.count)
                axpy(Float(b), py.baseAddress!, o.baseAddress!, count: o.count)
            }
        }
    }
    return out
}
