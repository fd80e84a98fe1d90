import Foundation
import Kernels
import NeuralLayers

/// AdamW (Loshchilov & Hutter) over the model's flat parameter buffer, with global-norm gradient
/// clipping and an EMA copy of the weights. Moments and EMA are plain arrays so checkpoints can
/// save and restore them exactly.
public final class AdamW {
    public var m: [Float]
    public var v: [Float]
    public var ema: [Float]
    /// 1 where decoupled weight decay applies (matrices), 0 for biases and norm weights.
    let decayMask: [Float]
    public var config: TrainingConfig.Optimizer

    /// Fixed-size blocks make the gradient norm's summation order independent of the thread count.
    static let block = 16_384

    public init(parameters: ParameterStore, config: TrainingConfig.Optimizer) {
        let n = parameters.count
        m = [Float](repeating: 0, count: n)
        v = [Float](repeating: 0, count: n)
        ema = Array(UnsafeBufferPointer(start: parameters.values, count: n))
        var mask = [Float](repeating: 0, count: n)
        for e in parameters.entries where e.decays { for i in e.offset..<(e.offset + e.count) { mask[i] = 1 } }
        decayMask = mask
        self.config = config
    }

    /// Warmup, then cosine decay to `finalLearningRateFraction` of the peak.
    public func learningRate(step: Int) -> Float {
        let c = config
        if step < c.warmupSteps { return c.learningRate * Float(step + 1) / Float(c.warmupSteps) }
        let progress = min(1, Float(step - c.warmupSteps) / Float(max(1, c.totalSteps - c.warmupSteps)))
        let cosine = 0.5 * (1 + cos(Float.pi * progress))
        return c.learningRate * (c.finalLearningRateFraction + (1 - c.finalLearningRateFraction) * cosine)
    }

    public static func gradientNorm(_ g: UnsafePointer<Float>, count: Int) -> Double {
        let blocks = (count + block - 1) / block
        var partial = [Double](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { p in
            Parallel.forEach(blocks) { b in
                let lo = b * block
                p[b] = sumOfSquares(g + lo, count: min(block, count - lo))
            }
        }
        return partial.reduce(0, +).squareRoot()
    }

    /// One update at 0-based `step`. Returns the gradient norm before clipping.
    @discardableResult
    public func step(_ p: ParameterStore, step: Int) -> Double {
        let n = p.count
        let g = p.gradients, w = p.values
        let norm = Self.gradientNorm(g, count: n)
        let clip: Float = config.gradientClip > 0 && norm > Double(config.gradientClip) ? Float(Double(config.gradientClip) / norm) : 1
        let lr = learningRate(step: step)
        let (b1, b2, wd) = (config.beta1, config.beta2, config.weightDecay)
        let t = Float(step + 1)
        let c1 = 1 / (1 - powf(b1, t)), c2 = 1 / (1 - powf(b2, t))
        let eps: Float = 1e-8
        // EMA warms up so early checkpoints are not dominated by the random initialisation.
        let decay = min(config.emaDecay, (1 + t) / (10 + t))
        m.withUnsafeMutableBufferPointer { mp in
            v.withUnsafeMutableBufferPointer { vp in
                ema.withUnsafeMutableBufferPointer { ep in
                    decayMask.withUnsafeBufferPointer { dm in
                        let (m, v, e, d) = (mp.baseAddress!, vp.baseAddress!, ep.baseAddress!, dm.baseAddress!)
                        Parallel.forEachChunk(n, minChunk: 65_536) { range in
                            for i in range {
                                let gi = g[i] * clip
                                m[i] = b1 * m[i] + (1 - b1) * gi
                                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                                let update = (m[i] * c1) / ((v[i] * c2).squareRoot() + eps) + wd * d[i] * w[i]
                                w[i] -= lr * update
                                e[i] = decay * e[i] + (1 - decay) * w[i]
                            }
                        }
                    }
                }
            }
        }
        return norm
    }
}
