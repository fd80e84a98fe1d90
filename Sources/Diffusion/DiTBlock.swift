import Kernels
import NeuralLayers

/// One LI-DiT block (paper §2.6, Kandinsky-5-style CrossDiT layout), adaLN-Zero:
///
///     (s₁,σ₁,g₁, s₂,σ₂,g₂, s₃,σ₃,g₃) = Linear₀(SiLU(c)).chunk(9)          (zero-initialised)
///     x = x + g₁ ⊙ SelfAttn(LN(x)(1+σ₁)+s₁)                               (QK RMSNorm)
///     x = x + g₂ ⊙ CrossAttn(LN(x)(1+σ₂)+s₂, Y, mask_Y)                   (QK RMSNorm)
///     x = x + g₃ ⊙ MLP(LN(x)(1+σ₃)+s₃)
public struct DiTBlock: Sendable {
    public let width: Int
    public let modulation: Linear
    public let selfSub: AdaLNSubLayer
    public let selfAttention: AttentionLayer
    public let crossSub: AdaLNSubLayer
    public let crossAttention: AttentionLayer
    public let mlpSub: AdaLNSubLayer
    public let mlp: MLP

    public init(_ store: ParameterStore, _ name: String, width: Int, textWidth: Int, heads: Int, mlpRatio: Int,
                activation: Activation, qkNorm: Bool) {
        self.width = width
        modulation = Linear(store, name + ".adaLN", inFeatures: width, outFeatures: 9 * width, weightInit: .zeros, biasInit: .zeros)
        selfSub = AdaLNSubLayer(store, name + ".norm1", dim: width, modulated: true)
        selfAttention = AttentionLayer(store, name + ".attn", dim: width, heads: heads, qkNorm: qkNorm)
        crossSub = AdaLNSubLayer(store, name + ".norm2", dim: width, modulated: true)
        crossAttention = AttentionLayer(store, name + ".cross_attn", dim: width, contextDim: textWidth, heads: heads, qkNorm: qkNorm)
        mlpSub = AdaLNSubLayer(store, name + ".norm3", dim: width, modulated: true)
        mlp = MLP(store, name + ".mlp", inFeatures: width, hidden: mlpRatio * width, outFeatures: width, activation: activation)
    }

    public struct Activations {
        public let mod: UnsafeMutablePointer<Float>
        public let selfSub: AdaLNSubLayer.Activations
        public let selfAttention: AttentionLayer.Activations
        public let h1: UnsafeMutablePointer<Float>
        public let crossSub: AdaLNSubLayer.Activations
        public let crossAttention: AttentionLayer.Activations
        public let h2: UnsafeMutablePointer<Float>
        public let mlpSub: AdaLNSubLayer.Activations
        public let mlp: MLP.Activations
    }

    public func makeActivations(_ arena: Arena, batch: Int, tokens: Int, textTokens: Int) -> Activations {
        let rows = batch * tokens
        return Activations(
            mod: arena.floats(batch * 9 * width),
            selfSub: selfSub.makeActivations(arena, rows: rows),
            selfAttention: selfAttention.makeActivations(arena, batch: batch, queries: tokens, keys: tokens),
            h1: arena.floats(rows * width),
            crossSub: crossSub.makeActivations(arena, rows: rows),
            crossAttention: crossAttention.makeActivations(arena, batch: batch, queries: tokens, keys: textTokens),
            h2: arena.floats(rows * width),
            mlpSub: mlpSub.makeActivations(arena, rows: rows), mlp: mlp.makeActivations(arena, rows: rows))
    }

    public func forward(_ p: ParameterStore, _ h: UnsafePointer<Float>, siluC: UnsafePointer<Float>,
                        text: UnsafePointer<Float>, textValid: UnsafePointer<UInt8>, batch: Int, tokens: Int, textTokens: Int,
                        _ a: Activations, into out: UnsafeMutablePointer<Float>) {
        let (rows, d) = (batch * tokens, width)
        modulation.forward(p, siluC, rows: batch, into: a.mod)
        selfSub.forward(p, h, mod: a.mod, modStride: 9 * d, batch: batch, tokens: tokens, a.selfSub, into: a.h1) { m, f in
            selfAttention.forward(p, m, batch: batch, queries: tokens, keys: tokens, mask: AttentionMask(.bidirectional),
                                  a.selfAttention, into: f)
        }
        crossSub.forward(p, a.h1, mod: a.mod + 3 * d, modStride: 9 * d, batch: batch, tokens: tokens, a.crossSub, into: a.h2) { m, f in
            crossAttention.forward(p, m, context: text, batch: batch, queries: tokens, keys: textTokens,
                                   mask: AttentionMask(.bidirectional, keyValid: textValid), a.crossAttention, into: f)
        }
        mlpSub.forward(p, a.h2, mod: a.mod + 6 * d, modStride: 9 * d, batch: batch, tokens: tokens, a.mlpSub, into: out) { m, f in
            mlp.forward(p, m, rows: rows, a.mlp, into: f)
        }
    }

    /// dRes: ∂L/∂out on entry, ∂L/∂h on exit. dText and dSiluC accumulate.
    public func backward(_ p: ParameterStore, h: UnsafePointer<Float>, siluC: UnsafePointer<Float>, text: UnsafePointer<Float>,
                         batch: Int, tokens: Int, textTokens: Int, _ a: Activations, dRes: UnsafeMutablePointer<Float>,
                         dText: UnsafeMutablePointer<Float>?, dSiluC: UnsafeMutablePointer<Float>, scratch s: DiTScratch) {
        let (rows, d) = (batch * tokens, width)
        s.dMod.update(repeating: 0, count: batch * 9 * d)
        mlpSub.backward(p, h: a.h2, mod: a.mod + 6 * d, dMod: s.dMod + 6 * d, modStride: 9 * d, batch: batch, tokens: tokens,
                        a.mlpSub, dRes: dRes, scratch: s.sub) { dF, dM in
            mlp.backward(p, x: a.mlpSub.m, dy: dF, rows: rows, a.mlp, dx: dM, scratch: s.mlp)
        }
        crossSub.backward(p, h: a.h1, mod: a.mod + 3 * d, dMod: s.dMod + 3 * d, modStride: 9 * d, batch: batch, tokens: tokens,
                          a.crossSub, dRes: dRes, scratch: s.sub) { dF, dM in
            crossAttention.backward(p, x: a.crossSub.m, context: text, batch: batch, queries: tokens, keys: textTokens,
                                    a.crossAttention, dy: dF, dx: dM, dContext: dText, scratch: s.crossAttention)
        }
        selfSub.backward(p, h: h, mod: a.mod, dMod: s.dMod, modStride: 9 * d, batch: batch, tokens: tokens,
                         a.selfSub, dRes: dRes, scratch: s.sub) { dF, dM in
            selfAttention.backward(p, x: a.selfSub.m, batch: batch, queries: tokens, keys: tokens, a.selfAttention, dy: dF,
                                   dx: dM, scratch: s.selfAttention)
        }
        modulation.backward(p, x: siluC, dy: s.dMod, rows: batch, dx: dSiluC)
    }

    public func forwardFlopsPerSample(tokens: Int, textTokens: Int) -> Int {
        2 * width * 9 * width
            + selfAttention.flops(batch: 1, queries: tokens, keys: tokens)
            + crossAttention.flops(batch: 1, queries: tokens, keys: textTokens)
            + 2 * tokens * 2 * width * mlp.hidden
    }
}

/// Gradient scratch shared by all DiT blocks.
public struct DiTScratch {
    public let sub: AdaLNSubLayer.Scratch
    public let selfAttention: AttentionLayer.Scratch
    public let crossAttention: AttentionLayer.Scratch
    public let mlp: UnsafeMutablePointer<Float>
    public let dMod: UnsafeMutablePointer<Float>

    public init(_ arena: Arena, batch: Int, tokens: Int, textTokens: Int, width: Int, textWidth: Int? = nil, heads: Int, mlpHidden: Int) {
        let rows = batch * tokens
        sub = AdaLNSubLayer.Scratch(arena, rows: rows, dim: width)
        selfAttention = AttentionLayer.Scratch(arena, batch: batch, queries: tokens, keys: tokens, heads: heads, dim: width)
        crossAttention = AttentionLayer.Scratch(arena, batch: batch, queries: tokens, keys: max(textTokens, 1), heads: heads,
                                                dim: width, contextDim: textWidth)
        mlp = arena.floats(rows * mlpHidden)
        dMod = arena.floats(batch * 9 * width)
    }
}
