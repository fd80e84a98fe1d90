import Foundation
import Kernels

/// AdamW over a `ParameterStore`'s flat buffers (decoupled weight decay, bias-corrected moments; the
/// update of llm.c's `gpt2_update`): p ← p − lr·(m̂/(√v̂ + ε) + wd·p), decay only on tensors with
/// `decays` (matrices). Element-wise, parallel over disjoint ranges, so thread-count invariant.
public final class AdamW {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public private(set) var step = 0
    public let count: Int
    let m: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>
    let decay: UnsafeMutablePointer<Float>

    public init(_ store: ParameterStore, learningRate: Float = 3e-4, beta1: Float = 0.9, beta2: Float = 0.95,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.weightDecay = weightDecay
        count = store.count
        m = .allocate(capacity: max(count, 1)); m.initialize(repeating: 0, count: max(count, 1))
        v = .allocate(capacity: max(count, 1)); v.initialize(repeating: 0, count: max(count, 1))
        decay = .allocate(capacity: max(count, 1))
        store.decayMask().withUnsafeBufferPointer { decay.initialize(from: $0.baseAddress!, count: count) }
    }

    deinit { m.deallocate(); v.deallocate(); decay.deallocate() }

    /// First and second moments (for checkpoints), `count` floats each.
    public var moments: (m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>) { (m, v) }

    /// Restores the step counter together with `moments` when resuming.
    public func setStep(_ s: Int) { step = s }

    /// One update from `store.gradients` (which it leaves untouched). `gradientScale` multiplies the
    /// gradients first (e.g. for clipping: min(1, maxNorm/‖g‖)).
    public func update(_ store: ParameterStore, gradientScale: Float = 1) {
        precondition(store.count == count, "store layout changed")
        step += 1
        let (lr, b1, b2, eps, wd) = (learningRate, beta1, beta2, epsilon, weightDecay)
        let c1 = 1 / (1 - Float(Foundation.pow(Double(b1), Double(step))))
        let c2 = 1 / (1 - Float(Foundation.pow(Double(b2), Double(step))))
        let p = store.values, g = store.gradients, m = self.m, v = self.v, decay = self.decay
        Parallel.forEachChunk(count, minChunk: 16_384) { range in
            for i in range {
                let gi = g[i] * gradientScale
                let mi = b1 * m[i] + (1 - b1) * gi
                let vi = b2 * v[i] + (1 - b2) * gi * gi
                m[i] = mi; v[i] = vi
                p[i] -= lr * ((mi * c1) / ((vi * c2).squareRoot() + eps) + wd * decay[i] * p[i])
            }
        }
    }
}
