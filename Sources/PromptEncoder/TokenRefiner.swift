import Kernels
import NeuralLayers

/// One block of the linguistic token refiner — HunyuanVideo's `IndividualTokenRefinerBlock`:
///
///     g_attn, g_mlp = Linear₀(SiLU(c)).chunk(2)          (zero-initialised weight and bias)
///     h = h + g_attn ⊙ Out(MHSA(LN₁(h), mask))            (LayerNorm eps 1e-6, affine; q/k/v/out with bias)
///     h = h + g_mlp  ⊙ MLP(LN₂(h))                       (d → 4d → d, SiLU)
///
/// With the gates at zero the block is the identity.
public struct TokenRefinerBlock: Sendable {
    public let width: Int
    public let modulation: Linear
    public let attentionSub: AdaLNSubLayer
    public let attention: AttentionLayer
    public let mlpSub: AdaLNSubLayer
    public let mlp: MLP

    public init(_ store: ParameterStore, _ name: String, width: Int, heads: Int, mlpRatio: Int, activation: Activation) {
        self.width = width
        modulation = Linear(store, name + ".adaLN", inFeatures: width, outFeatures: 2 * width,
                            weightInit: .zeros, biasInit: .zeros)
        attentionSub = AdaLNSubLayer(store, name + ".norm1", dim: width, modulated: false)
        attention = AttentionLayer(store, name + ".attn", dim: width, heads: heads, qkNorm: false)
        mlpSub = AdaLNSubLayer(store, name + ".norm2", dim: width, modulated: false)
        mlp = MLP(store, name + ".mlp", inFeatures: width, hidden: mlpRatio * width, outFeatures: width, activation: activation)
    }

    public struct Activations {
        public let gates: UnsafeMutablePointer<Float>       // [batch, 2·width]
        public let attentionSub: AdaLNSubLayer.Activations
        public let attention: AttentionLayer.Activations
        public let h1: UnsafeMutablePointer<Float>          // residual after the attention sub-layer
        public let mlpSub: AdaLNSubLayer.Activations
        public let mlp: MLP.Activations
    }

    public func makeActivations(_ arena: Arena, batch: Int, tokens: Int) -> Activations {
        let rows = batch * tokens
        return Activations(gates: arena.floats(batch * 2 * width),
                           attentionSub: attentionSub.makeActivations(arena, rows: rows),
                           attention: attention.makeActivations(arena, batch: batch, queries: tokens, keys: tokens),
                           h1: arena.floats(rows * width),
                           mlpSub: mlpSub.makeActivations(arena, rows: rows), mlp: mlp.makeActivations(arena, rows: rows))
    }

    public func forward(_ p: ParameterStore, _ h: UnsafePointer<Float>, siluC: UnsafePointer<Float>, batch: Int, tokens: Int,
                        mask: AttentionMask, _ a: Activations, into out: UnsafeMutablePointer<Float>) {
        let (rows, d) = (batch * tokens, width)
        modulation.forward(p, siluC, rows: batch, into: a.gates)
        attentionSub.forward(p, h, mod: a.gates, modStride: 2 * d, batch: batch, tokens: tokens, a.attentionSub, into: a.h1) { m, f in
            attention.forward(p, m, batch: batch, queries: tokens, keys: tokens, mask: mask, a.attention, into: f)
        }
        mlpSub.forward(p, a.h1, mod: a.gates + d, modStride: 2 * d, batch: batch, tokens: tokens, a.mlpSub, into: out) { m, f in
            mlp.forward(p, m, rows: rows, a.mlp, into: f)
        }
    }

    /// dRes: ∂L/∂out on entry, ∂L/∂h on exit. dSiluC accumulates.
    public func backward(_ p: ParameterStore, h: UnsafePointer<Float>, siluC: UnsafePointer<Float>, batch: Int, tokens: Int,
                         _ a: Activations, dRes: UnsafeMutablePointer<Float>, dSiluC: UnsafeMutablePointer<Float>,
                         scratch s: RefinerScratch) {
        let (rows, d) = (batch * tokens, width)
        s.dMod.update(repeating: 0, count: batch * 2 * d)
        mlpSub.backward(p, h: a.h1, mod: a.gates + d, dMod: s.dMod + d, modStride: 2 * d, batch: batch, tokens: tokens,
                        a.mlpSub, dRes: dRes, scratch: s.sub) { dF, dM in
            mlp.backward(p, x: a.mlpSub.m, dy: dF, rows: rows, a.mlp, dx: dM, scratch: s.mlp)
        }
        attentionSub.backward(p, h: h, mod: a.gates, dMod: s.dMod, modStride: 2 * d, batch: batch, tokens: tokens,
                              a.attentionSub, dRes: dRes, scratch: s.sub) { dF, dM in
            attention.backward(p, x: a.attentionSub.m, batch: batch, queries: tokens, keys: tokens, a.attention, dy: dF,
                               dx: dM, scratch: s.attention)
        }
        modulation.backward(p, x: siluC, dy: s.dMod, rows: batch, dx: dSiluC)
    }
}

/// Gradient scratch shared by the refiner blocks of the prompt encoder (sized for the largest use).
public struct RefinerScratch {
    public let sub: AdaLNSubLayer.Scratch
    public let attention: AttentionLayer.Scratch
    public let mlp: UnsafeMutablePointer<Float>
    public let dMod: UnsafeMutablePointer<Float>

    public init(_ arena: Arena, batch: Int, maxTokens: Int, maxKeys: Int, width: Int, heads: Int, mlpHidden: Int, modChunks: Int) {
        let rows = batch * maxTokens
        sub = AdaLNSubLayer.Scratch(arena, rows: rows, dim: width)
        attention = AttentionLayer.Scratch(arena, batch: batch, queries: maxTokens, keys: max(maxKeys, maxTokens), heads: heads,
                                           dim: width)
        mlp = arena.floats(rows * mlpHidden)
        dMod = arena.floats(batch * modChunks * width)
    }
}

/// The linguistic token refiner of one LLM branch — HunyuanVideo's `SingleTokenRefiner`:
///
///     x̃  = LN(x) (optional, no affine; see `RefinerConfig.normalizeFeatures`) else x
///     p   = masked mean of x̃ over valid tokens
///     c   = TimeEmb(1000·σ) + MLP_c(p)                 (MLP_c: Linear(D→d) → SiLU → Linear(d→d))
///     h₀  = Linear_in(x̃)
///     h   = blocks(h₀, SiLU(c), mask)                   (bidirectional, or causal for the ablation)
///
/// The attention mask is HunyuanVideo's M = m_i ∧ m_j with column 0 forced true, as seen from valid
/// queries: keys are the valid tokens plus token 0. Padded query rows attend to the same keys (not only to
/// token 0, as in HunyuanVideo); their outputs are never read — valid rows never attend to them, pooling
/// and the DiT's cross-attention mask them out — so valid outputs are identical.
public struct TokenRefiner: Sendable {
    public let llmWidth: Int
    public let width: Int
    public let inputProjection: Linear
    public let timeEmbedder: TimestepEmbedder?
    public let poolMLP: MLP?
    public let blocks: [TokenRefinerBlock]

    /// `conditioned`: whether c is needed at all (false when neither refiner is on).
    public init(_ store: ParameterStore, _ name: String, llmWidth: Int, width: Int, heads: Int, blocks: Int, mlpRatio: Int,
                activation: Activation, conditioned: Bool) {
        self.llmWidth = llmWidth
        self.width = width
        inputProjection = Linear(store, name + ".input", inFeatures: llmWidth, outFeatures: width)
        if conditioned {
            timeEmbedder = TimestepEmbedder(store, name + ".t_embedder", dim: width)
            poolMLP = MLP(store, name + ".c_embedder", inFeatures: llmWidth, hidden: width, outFeatures: width, activation: .silu)
        } else {
            timeEmbedder = nil; poolMLP = nil
        }
        self.blocks = (0..<blocks).map {
            TokenRefinerBlock(store, name + ".blocks.\($0)", width: width, heads: heads, mlpRatio: mlpRatio, activation: activation)
        }
    }
}
