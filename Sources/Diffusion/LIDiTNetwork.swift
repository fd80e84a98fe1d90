import Kernels
import NeuralLayers
import PromptEncoder

/// The LI-DiT diffusion transformer (without the prompt encoder):
///
///     tokens = patchify(x_σ)                              [B, T, p·p·C]
///     h₀     = Linear(tokens) + PE₂ᴅ                       (fixed 2-D sin-cos table)
///     c      = TimeEmb(1000·σ) + MLP_y(masked mean of Y)   (MLP_y: Linear(d_y→d) → SiLU → Linear(d→d))
///     h      = blocks(h₀, SiLU(c), Y, mask_Y)
///     out    = unpatchify(Linear₀(LN(h)(1+σ_f)+s_f))        ((s_f, σ_f) = Linear₀(SiLU(c)); both zero-initialised)
///
/// Images are planar [B, C, H, W]; Y is [B, Ly, d_y] with key mask [B, Ly].
public final class LIDiTNetwork {
    public let config: LIDiTConfig
    public let geometry: PatchGeometry
    public let textWidth: Int
    public let patchEmbed: Linear
    public let positionEmbedding: [Float]
    public let timeEmbedder: TimestepEmbedder
    public let textPool: MLP?
    public let blocks: [DiTBlock]
    public let finalModulation: Linear
    public let finalNorm: LayerNormLayer
    public let finalLinear: Linear

    public init(config: LIDiTConfig, textWidth: Int, store: ParameterStore, prefix: String = "dit") {
        self.config = config
        geometry = config.geometry
        self.textWidth = textWidth
        let d = config.width
        patchEmbed = Linear(store, prefix + ".x_embedder", inFeatures: geometry.patchDim, outFeatures: d)
        positionEmbedding = sinCosPositionEmbedding2D(dim: d, gridHeight: geometry.gridHeight, gridWidth: geometry.gridWidth)
        timeEmbedder = TimestepEmbedder(store, prefix + ".t_embedder", dim: d)
        textPool = config.pooledText
            ? MLP(store, prefix + ".y_embedder", inFeatures: textWidth, hidden: d, outFeatures: d, activation: .silu) : nil
        blocks = (0..<config.depth).map {
            DiTBlock(store, prefix + ".blocks.\($0)", width: d, textWidth: textWidth, heads: config.heads,
                     mlpRatio: config.mlpRatio, activation: config.activation, qkNorm: config.qkNorm)
        }
        finalModulation = Linear(store, prefix + ".final.adaLN", inFeatures: d, outFeatures: 2 * d, weightInit: .zeros)
        finalNorm = LayerNormLayer(nil, prefix + ".final.norm", dim: d, eps: 1e-6, affine: false)
        finalLinear = Linear(store, prefix + ".final.linear", inFeatures: d, outFeatures: geometry.patchDim, weightInit: .zeros)
    }

    public var tokens: Int { geometry.tokens }

    public final class Workspace {
        public let batchCapacity: Int
        public let textCapacity: Int
        public let arena: Arena
        let timesteps: UnsafeMutablePointer<Float>
        let patches: UnsafeMutablePointer<Float>
        let h: [UnsafeMutablePointer<Float>]
        let time: TimestepEmbedder.Activations
        let pooled, yEmb, c, siluC: UnsafeMutablePointer<Float>
        let pool: MLP.Activations?
        let blocks: [DiTBlock.Activations]
        let finalMod, finalN, finalM, finalMean, finalRstd, outPatches: UnsafeMutablePointer<Float>
        /// The network output [B, C, H, W] of the last forward pass.
        public let output: UnsafeMutablePointer<Float>
        // backward
        let dRes, dSiluC, dc, dPatches, dFinalM, dFinalN, dFinalMod, dPooled: UnsafeMutablePointer<Float>
        let scratch: DiTScratch
        // last forward's inputs
        var batch = 0, textTokens = 0
        var text: UnsafePointer<Float>?
        var textValid: UnsafePointer<UInt8>?
        var pooledDropped: [Bool] = []

        init(_ net: LIDiTNetwork, batch B: Int, textTokens S: Int) {
            batchCapacity = B
            textCapacity = S
            let arena = Arena()
            self.arena = arena
            let (T, d, P, dy) = (net.tokens, net.config.width, net.geometry.patchDim, net.textWidth)
            let rows = B * T
            timesteps = arena.floats(B)
            patches = arena.floats(rows * P)
            h = (0...net.blocks.count).map { _ in arena.floats(rows * d) }
            time = net.timeEmbedder.makeActivations(arena, batch: B)
            pooled = arena.floats(B * dy); yEmb = arena.floats(B * d); c = arena.floats(B * d); siluC = arena.floats(B * d)
            pool = net.textPool?.makeActivations(arena, rows: B)
            blocks = net.blocks.map { $0.makeActivations(arena, batch: B, tokens: T, textTokens: max(S, 1)) }
            finalMod = arena.floats(B * 2 * d); finalN = arena.floats(rows * d); finalM = arena.floats(rows * d)
            finalMean = arena.floats(rows); finalRstd = arena.floats(rows); outPatches = arena.floats(rows * P)
            output = arena.floats(B * net.geometry.pixelsPerImage)
            dRes = arena.floats(rows * d); dSiluC = arena.floats(B * d); dc = arena.floats(B * d)
            dPatches = arena.floats(rows * P); dFinalM = arena.floats(rows * d); dFinalN = arena.floats(rows * d)
            dFinalMod = arena.floats(B * 2 * d); dPooled = arena.floats(B * dy)
            scratch = DiTScratch(arena, batch: B, tokens: T, textTokens: max(S, 1), width: d, textWidth: dy, heads: net.config.heads, mlpHidden: net.config.mlpRatio * d)
        }

        public func fits(batch: Int, textTokens: Int) -> Bool { batch <= batchCapacity && textTokens <= textCapacity }
    }

    public func makeWorkspace(batch: Int, textTokens: Int) -> Workspace { Workspace(self, batch: batch, textTokens: textTokens) }

    /// Runs the network on noisy images x [B, C, H, W] at noise levels σ [B] with text tokens `text`
    /// [B, textTokens, textWidth] and mask `textValid` [B, textTokens] (both must stay valid until
    /// `backward`). The prediction lands in `ws.output`.
    /// `pooledDropped` (training only): rows whose pooled text vector is zeroed — as for a caption
    /// dropped for guidance — while their text tokens stay, so that the objects must also come
    /// through cross-attention. `pooledTextScale` (sampling only; see `LIDiTConfig.pooledTextScale`)
    /// multiplies every row's pooled vector; `backward` assumes 1.
    public func forward(_ p: ParameterStore, x: UnsafePointer<Float>, sigmas: UnsafePointer<Float>, text: UnsafePointer<Float>,
                        textValid: UnsafePointer<UInt8>, batch B: Int, textTokens S: Int, pooledDropped: [Bool] = [],
                        pooledTextScale: Float = 1, _ ws: Workspace) {
        precondition(ws.fits(batch: B, textTokens: S), "DiT workspace too small for batch \(B), text \(S)")
        precondition(pooledDropped.isEmpty || pooledDropped.count == B, "pooledDropped needs one flag per row")
        let (T, d) = (tokens, config.width)
        let rows = B * T
        ws.batch = B; ws.textTokens = S; ws.text = text; ws.textValid = textValid; ws.pooledDropped = pooledDropped
        for b in 0..<B { ws.timesteps[b] = 1000 * sigmas[b] }

        patchify(x, batch: B, geometry: geometry, into: ws.patches)
        patchEmbed.forward(p, ws.patches, rows: rows, into: ws.h[0])
        positionEmbedding.withUnsafeBufferPointer { pe in
            for b in 0..<B { add(ws.h[0] + b * T * d, pe.baseAddress!, into: ws.h[0] + b * T * d, count: T * d) }
        }
        timeEmbedder.forward(p, timesteps: ws.timesteps, batch: B, ws.time, into: ws.c)
        if let textPool {
            maskedMeanForward(text, mask: textValid, batch: B, tokens: S, dim: textWidth, into: ws.pooled)
            for (b, dropped) in pooledDropped.enumerated() where dropped {
                (ws.pooled + b * textWidth).update(repeating: 0, count: textWidth)
            }
            if pooledTextScale != 1 { scale(ws.pooled, by: pooledTextScale, into: ws.pooled, count: B * textWidth) }
            textPool.forward(p, ws.pooled, rows: B, ws.pool!, into: ws.yEmb)
            add(ws.c, ws.yEmb, into: ws.c, count: B * d)
        }
        activationForward(.silu, ws.c, ws.siluC, count: B * d)
        for (i, blk) in blocks.enumerated() {
            blk.forward(p, ws.h[i], siluC: ws.siluC, text: text, textValid: textValid, batch: B, tokens: T, textTokens: S,
                        ws.blocks[i], into: ws.h[i + 1])
        }
        finalModulation.forward(p, ws.siluC, rows: B, into: ws.finalMod)
        finalNorm.forward(nil, ws.h[blocks.count], rows: rows, into: ws.finalN, mean: ws.finalMean, rstd: ws.finalRstd)
        modulateForward(ws.finalN, shift: ws.finalMod, scale: ws.finalMod + d, conditionStride: 2 * d, batch: B, tokens: T,
                        dim: d, into: ws.finalM)
        finalLinear.forward(p, ws.finalM, rows: rows, into: ws.outPatches)
        unpatchify(ws.outPatches, batch: B, geometry: geometry, into: ws.output)
    }

    /// Attention capture (DAAM, Tang et al. 2023): adds the last forward pass's cross-attention
    /// probabilities, image token → text token, summed over heads and blocks, for batch row `row`
    /// into `out` [tokens, textTokens] (textTokens of that pass). Every block's probabilities stay
    /// in its activations for the backward pass, so reading them after the forward costs nothing
    /// when nobody asks: the forward itself is unchanged. A query row whose keys are all masked
    /// (null text) has all-zero probabilities and adds nothing.
    public func accumulateCrossAttention(_ ws: Workspace, row b: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(b >= 0 && b < ws.batch, "row \(b) is not in the last forward's batch of \(ws.batch)")
        let (T, S, H) = (tokens, ws.textTokens, config.heads)
        for a in ws.blocks {
            for h in 0..<H {
                add(out, a.crossAttention.probabilities + (b * H + h) * T * S, into: out, count: T * S)
            }
        }
    }

    /// Text tokens (keys) of the last forward pass.
    public func lastTextTokens(_ ws: Workspace) -> Int { ws.textTokens }

    /// Accumulates parameter gradients for ∂L/∂output `dOutput` [B, C, H, W] of the last forward pass,
    /// and ∂L/∂Y into dText [B, textTokens, textWidth] when given.
    public func backward(_ p: ParameterStore, dOutput: UnsafePointer<Float>, _ ws: Workspace, dText: UnsafeMutablePointer<Float>?) {
        let (B, S, T, d) = (ws.batch, ws.textTokens, tokens, config.width)
        let rows = B * T
        let text = ws.text!, textValid = ws.textValid!
        patchify(dOutput, batch: B, geometry: geometry, into: ws.dPatches)
        finalLinear.backward(p, x: ws.finalM, dy: ws.dPatches, rows: rows, dx: ws.dFinalM, overwriteDx: true)
        ws.dFinalMod.update(repeating: 0, count: B * 2 * d)
        modulateBackward(x: ws.finalN, dy: ws.dFinalM, scale: ws.finalMod + d, conditionStride: 2 * d, batch: B, tokens: T, dim: d,
                         dx: ws.dFinalN, accumulate: false, dShift: ws.dFinalMod, dScale: ws.dFinalMod + d)
        ws.dRes.update(repeating: 0, count: rows * d)
        finalNorm.backward(nil, x: ws.h[blocks.count], dy: ws.dFinalN, mean: ws.finalMean, rstd: ws.finalRstd, rows: rows,
                           dx: ws.dRes)
        ws.dSiluC.update(repeating: 0, count: B * d)
        finalModulation.backward(p, x: ws.siluC, dy: ws.dFinalMod, rows: B, dx: ws.dSiluC)
        for i in stride(from: blocks.count - 1, through: 0, by: -1) {
            blocks[i].backward(p, h: ws.h[i], siluC: ws.siluC, text: text, batch: B, tokens: T, textTokens: S, ws.blocks[i],
                               dRes: ws.dRes, dText: dText, dSiluC: ws.dSiluC, scratch: ws.scratch)
        }
        patchEmbed.backward(p, x: ws.patches, dy: ws.dRes, rows: rows, dx: nil)
        activationBackward(.silu, x: ws.c, dy: ws.dSiluC, dx: ws.dc, count: B * d, accumulate: false)
        timeEmbedder.backward(p, dy: ws.dc, batch: B, ws.time)
        if let textPool {
            textPool.backward(p, x: ws.pooled, dy: ws.dc, rows: B, ws.pool!, dx: dText == nil ? nil : ws.dPooled,
                              overwriteDx: true, scratch: ws.scratch.mlp)
            for (b, dropped) in ws.pooledDropped.enumerated() where dropped {
                (ws.dPooled + b * textWidth).update(repeating: 0, count: textWidth)
            }
            if let dText { maskedMeanBackward(dOut: ws.dPooled, mask: textValid, batch: B, tokens: S, dim: textWidth, dx: dText) }
        }
    }

    public func forwardFlopsPerSample(textTokens: Int) -> Int {
        let (T, d, P) = (tokens, config.width, geometry.patchDim)
        var f = 2 * T * P * d + 2 * (256 * d + d * d) + 2 * d * 2 * d + 2 * T * d * P
        if textPool != nil { f += 2 * (textWidth * d + d * d) }
        for b in blocks { f += b.forwardFlopsPerSample(tokens: T, textTokens: textTokens) }
        return f
    }
}
