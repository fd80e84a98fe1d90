import Kernels
import NeuralLayers

/// One collaborative-refiner block of one branch (LI-DiT §2.4): the branch's tokens cross-attend to the
/// other branches' tokens (keys masked with those branches' masks), then an FFN, each sub-layer adaLN-Zero
/// modulated by the branch's refiner conditioning c:
///
///     (s₁, σ₁, g₁, s₂, σ₂, g₂) = Linear₀(SiLU(c)).chunk(6)             (zero-initialised)
///     h = h + g₁ ⊙ CrossAttn(LN(h)(1+σ₁)+s₁, ctx = other branches, mask_ctx)   (QK RMSNorm optional)
///     h = h + g₂ ⊙ MLP(LN(h)(1+σ₂)+s₂)
///
/// All branches update in parallel from the pre-block values; ctx is the sequence concatenation of the
/// other branches' pre-block tokens.
public struct CollaborativeRefinerBlock: Sendable {
    public let width: Int
    public let modulation: Linear
    public let attentionSub: AdaLNSubLayer
    public let attention: AttentionLayer
    public let mlpSub: AdaLNSubLayer
    public let mlp: MLP

    public init(_ store: ParameterStore, _ name: String, width: Int, heads: Int, mlpRatio: Int, activation: Activation,
                qkNorm: Bool) {
        self.width = width
        modulation = Linear(store, name + ".adaLN", inFeatures: width, outFeatures: 6 * width,
                            weightInit: .zeros, biasInit: .zeros)
        attentionSub = AdaLNSubLayer(store, name + ".norm1", dim: width, modulated: true)
        attention = AttentionLayer(store, name + ".cross_attn", dim: width, contextDim: width, heads: heads, qkNorm: qkNorm)
        mlpSub = AdaLNSubLayer(store, name + ".norm2", dim: width, modulated: true)
        mlp = MLP(store, name + ".mlp", inFeatures: width, hidden: mlpRatio * width, outFeatures: width, activation: activation)
    }

    public struct Activations {
        public let mod: UnsafeMutablePointer<Float>         // [batch, 6·width]
        public let attentionSub: AdaLNSubLayer.Activations
        public let attention: AttentionLayer.Activations
        public let h1: UnsafeMutablePointer<Float>
        public let mlpSub: AdaLNSubLayer.Activations
        public let mlp: MLP.Activations
    }

    public func makeActivations(_ arena: Arena, batch: Int, tokens: Int, contextTokens: Int) -> Activations {
        let rows = batch * tokens
        return Activations(mod: arena.floats(batch * 6 * width),
                           attentionSub: attentionSub.makeActivations(arena, rows: rows),
                           attention: attention.makeActivations(arena, batch: batch, queries: tokens, keys: contextTokens),
                           h1: arena.floats(rows * width),
                           mlpSub: mlpSub.makeActivations(arena, rows: rows), mlp: mlp.makeActivations(arena, rows: rows))
    }

    /// context: [batch, contextTokens, width]; contextValid: [batch, contextTokens].
    public func forward(_ p: ParameterStore, _ h: UnsafePointer<Float>, context: UnsafePointer<Float>,
                        contextValid: UnsafePointer<UInt8>, siluC: UnsafePointer<Float>, batch: Int, tokens: Int,
                        contextTokens: Int, _ a: Activations, into out: UnsafeMutablePointer<Float>) {
        let (rows, d) = (batch * tokens, width)
        modulation.forward(p, siluC, rows: batch, into: a.mod)
        let mask = AttentionMask(.bidirectional, keyValid: contextValid)
        attentionSub.forward(p, h, mod: a.mod, modStride: 6 * d, batch: batch, tokens: tokens, a.attentionSub, into: a.h1) { m, f in
            attention.forward(p, m, context: context, batch: batch, queries: tokens, keys: contextTokens, mask: mask,
                              a.attention, into: f)
        }
        mlpSub.forward(p, a.h1, mod: a.mod + 3 * d, modStride: 6 * d, batch: batch, tokens: tokens, a.mlpSub, into: out) { m, f in
            mlp.forward(p, m, rows: rows, a.mlp, into: f)
        }
    }

    /// dRes: ∂L/∂out on entry, ∂L/∂h on exit; dContext and dSiluC accumulate.
    public func backward(_ p: ParameterStore, h: UnsafePointer<Float>, context: UnsafePointer<Float>,
                         siluC: UnsafePointer<Float>, batch: Int, tokens: Int, contextTokens: Int, _ a: Activations,
                         dRes: UnsafeMutablePointer<Float>, dContext: UnsafeMutablePointer<Float>,
                         dSiluC: UnsafeMutablePointer<Float>, scratch s: RefinerScratch) {
        let (rows, d) = (batch * tokens, width)
        s.dMod.update(repeating: 0, count: batch * 6 * d)
        mlpSub.backward(p, h: a.h1, mod: a.mod + 3 * d, dMod: s.dMod + 3 * d, modStride: 6 * d, batch: batch, tokens: tokens,
                        a.mlpSub, dRes: dRes, scratch: s.sub) { dF, dM in
            mlp.backward(p, x: a.mlpSub.m, dy: dF, rows: rows, a.mlp, dx: dM, scratch: s.mlp)
        }
        attentionSub.backward(p, h: h, mod: a.mod, dMod: s.dMod, modStride: 6 * d, batch: batch, tokens: tokens,
                              a.attentionSub, dRes: dRes, scratch: s.sub) { dF, dM in
            attention.backward(p, x: a.attentionSub.m, context: context, batch: batch, queries: tokens, keys: contextTokens,
                               a.attention, dy: dF, dx: dM, dContext: dContext, scratch: s.attention)
        }
        modulation.backward(p, x: siluC, dy: s.dMod, rows: batch, dx: dSiluC)
    }
}
