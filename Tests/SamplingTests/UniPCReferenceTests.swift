import Foundation
import XCTest
@testable import Sampling

/// UniPC (bh2, order 2, data prediction) transcribed element-wise in the shape of diffusers'
/// `UniPCMultistepScheduler.step` / `multistep_uni_p_bh_update` / `multistep_uni_c_bh_update`
/// (λ = log α − log σ, rks, R·ρ = b, B(h) = expm1(−h), `lower_order_final`), in Double, with
/// IEEE infinities doing the work at σ = 1. Without the corrector it is DPM-Solver++(2M).
/// One deliberate difference from diffusers (whose flow sigmas never start at exactly 1): the
/// evaluation at σ = 1 (λ = −∞) does not count as multistep history — diffusers' order-2 solve
/// would get an infinite r there — so the order ramps up one step later.
/// The library's simplified forms must agree with it step for step.
private func referenceUniPC(x start: Double, sigmas: [Double], useCorrector: Bool,
                            model: (Double, Double) -> Double) -> Double {
    func alphaSigma(_ s: Double) -> (Double, Double) { (1 - s, s) }
    func lambda(_ s: Double) -> Double { let (a, sg) = alphaSigma(s); return log(a) - log(sg) }
    let steps = sigmas.count - 1
    var modelOutputs: [Double] = []   // newest last
    var stepSigmas: [Double] = []
    var lastSample: Double? = nil
    var thisOrder = 1
    var lowerOrderNums = 0
    var sample = start

    func bCoefficients(_ hh: Double, order: Int) -> [Double] {
        let bh = expm1(hh)
        var hPhiK = expm1(hh) / hh - 1
        var factorial = 1.0
        var b: [Double] = []
        for i in 1...order {
            b.append(hPhiK * factorial / bh)
            factorial *= Double(i + 1)
            hPhiK = hPhiK / hh - 1 / factorial
        }
        return b
    }

    for index in 0..<steps {
        let sigma = sigmas[index]
        let m = model(sample, sigma)
        if useCorrector, index > 0, let last = lastSample {
            // multistep_uni_c_bh_update(this_model_output: m, last_sample, this_sample: sample, order: thisOrder)
            let m0 = modelOutputs.last!
            let (alphaT, sigmaT) = alphaSigma(sigma)
            let (_, sigmaS0) = alphaSigma(sigmas[index - 1])
            let h = lambda(sigma) - lambda(sigmas[index - 1])
            var rks: [Double] = [], d1s: [Double] = []
            if thisOrder >= 2 {
                let mi = modelOutputs[modelOutputs.count - 2]
                let rk = (lambda(stepSigmas[stepSigmas.count - 2]) - lambda(sigmas[index - 1])) / h
                rks.append(rk); d1s.append((mi - m0) / rk)
            }
            rks.append(1)
            let hh = -h
            let b = bCoefficients(hh, order: thisOrder)
            let rhos: [Double]
            if thisOrder == 1 { rhos = [0.5] } else {
                // R = [[1, 1], [rk, 1]]
                let rho0 = (b[0] - b[1]) / (1 - rks[0])
                rhos = [rho0, b[0] - rho0]
            }
            let xT_ = sigmaT / sigmaS0 * last - alphaT * expm1(hh) * m0
            let corrRes = d1s.isEmpty ? 0 : rhos[0] * d1s[0]
            sample = xT_ - alphaT * expm1(hh) * (corrRes + rhos.last! * (m - m0))
        }
        modelOutputs.append(m); stepSigmas.append(sigma)
        thisOrder = min(2, steps - index)          // lower_order_final
        thisOrder = min(thisOrder, lowerOrderNums + 1)
        lastSample = sample
        // multistep_uni_p_bh_update(sample, order: thisOrder)
        let next = sigmas[index + 1]
        let (alphaT, sigmaT) = alphaSigma(next)
        let (_, sigmaS0) = alphaSigma(sigma)
        let h = lambda(next) - lambda(sigma)
        let hh = -h
        let m0 = modelOutputs.last!
        var predRes = 0.0
        if thisOrder == 2 {
            let mi = modelOutputs[modelOutputs.count - 2]
            let rk = (lambda(stepSigmas[stepSigmas.count - 2]) - lambda(sigma)) / h
            let d1 = (mi - m0) / rk
            predRes = 0.5 * d1
        }
        if next == 0 {
            sample = m0   // σ_t/σ_s·x − α_t·expm1(−∞)·m0 with α_t = 1; spelled out to avoid 0·∞
        } else {
            sample = sigmaT / sigmaS0 * sample - alphaT * expm1(hh) * m0 - alphaT * expm1(hh) * predRes
        }
        if lowerOrderNums < 2, lambda(sigma).isFinite { lowerOrderNums += 1 }
    }
    return sample
}

final class UniPCReferenceTests: XCTestCase {
    func testMatchesTheDiffusersShapedReference() throws {
        let data = GaussianData()
        let n = 16
        for (steps, shift) in [(3, 1.0), (4, 1.0), (6, 3.0), (15, 1.0)] {
            var correctorEffect = 0.0
            let noise = Sampler.noise(seeds: [21], elementsPerRow: n)
            let unipc = try sampler(.unipc, steps: steps, shift: shift)
            let dpm = try sampler(.dpmpp2m, steps: steps, shift: shift)
            let outUniPC = try unipc.sample(data.denoiser(), from: noise, seeds: [21], elementsPerRow: n)
            let outDPM = try dpm.sample(data.denoiser(), from: noise, seeds: [21], elementsPerRow: n)
            for k in 0..<n {
                let model = { (x: Double, s: Double) in data.cleanEstimate(x, sigma: s, element: k) }
                let withCorrector = referenceUniPC(x: Double(noise[k]), sigmas: unipc.schedule.sigmas, useCorrector: true, model: model)
                let predictorOnly = referenceUniPC(x: Double(noise[k]), sigmas: unipc.schedule.sigmas, useCorrector: false, model: model)
                XCTAssertEqual(Double(outUniPC[k]), withCorrector, accuracy: 2e-5, "unipc \(steps) steps, element \(k)")
                XCTAssertEqual(Double(outDPM[k]), predictorOnly, accuracy: 2e-5, "dpm++2m \(steps) steps, element \(k)")
                correctorEffect = max(correctorEffect, abs(withCorrector - predictorOnly))
            }
            XCTAssertGreaterThan(correctorEffect, 1e-3, "the corrector matters at \(steps) steps")
        }
    }
}
