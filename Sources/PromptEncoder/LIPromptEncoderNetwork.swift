import Kernels
import NeuralLayers

/// One frozen LLM feeding the prompt encoder.
public struct LLMBranchConfig: Codable, Equatable, Sendable {
    /// e.g. "smollm2", "gemma3" (used in parameter names and for fusion-weight lookup).
    public var name: String
    /// Hidden width of the LLM's features (SmolLM2-135M 576, Gemma-3-270M 640).
    public var width: Int
    /// Instruction-template tokens at the front of every sequence, dropped after the refiners (LI-DiT
    /// truncates after the collaborative refiner, so both refiners still see them).
    public var instructionTokens: Int

    public init(name: String, width: Int, instructionTokens: Int = 0) {
        self.name = name; self.width = width; self.instructionTokens = instructionTokens
    }
}

/// The trainable part of the LI prompt encoder: per-LLM token refiners, the collaborative refiner, and
/// the crop/fuse/concatenate step.
public struct RefinerConfig: Codable, Equatable, Sendable {
    public var branches: [LLMBranchConfig]
    /// Refiner width d (also the width of the text tokens Y handed to the DiT).
    public var width: Int = 192
    public var heads: Int = 4
    /// Token-refiner blocks per branch (paper N1 = 2).
    public var blocks: Int = 2
    /// Collaborative-refiner blocks per branch (paper N2 = 1).
    public var collaborativeBlocks: Int = 1
    public var mlpRatio: Int = 4
    /// MLP nonlinearity of both refiners (HunyuanVideo: SiLU).
    public var activation: Activation = .silu
    /// Ablation switch: false = no token refiner (h = Linear_in(x) only).
    public var tokenRefiner: Bool = true
    /// Ablation switch: false = no collaborative refiner (branches are only concatenated).
    public var collaborativeRefiner: Bool = true
    /// Ablation "causal-mask refiner": keep the LLM's causal mask in the token refiner's self-attention.
    public var causalMask: Bool = false
    /// QK RMSNorm in the collaborative refiner's cross-attention.
    public var collaborativeQKNorm: Bool = true
    /// LayerNorm (no affine, eps 1e-6) on each LLM feature vector before pooling and Linear_in. Not in
    /// HunyuanVideo or the paper [I]: LLM residual streams carry a few huge "massive activation"
    /// channels (at BOS especially) that would dominate the pooled mean and the projected tokens.
    /// Set false for the HunyuanVideo-exact refiner.
    public var normalizeFeatures: Bool = true

    public init(branches: [LLMBranchConfig], width: Int = 192, heads: Int = 4, blocks: Int = 2, collaborativeBlocks: Int = 1,
                mlpRatio: Int = 4, activation: Activation = .silu, tokenRefiner: Bool = true, collaborativeRefiner: Bool = true,
                causalMask: Bool = false, collaborativeQKNorm: Bool = true, normalizeFeatures: Bool = true) {
        self.branches = branches; self.width = width; self.heads = heads; self.blocks = blocks
        self.collaborativeBlocks = collaborativeBlocks; self.mlpRatio = mlpRatio; self.activation = activation
        self.tokenRefiner = tokenRefiner; self.collaborativeRefiner = collaborativeRefiner; self.causalMask = causalMask
        self.collaborativeQKNorm = collaborativeQKNorm; self.normalizeFeatures = normalizeFeatures
    }

    enum CodingKeys: String, CodingKey {
        case branches, width, heads, blocks, collaborativeBlocks, mlpRatio, activation, tokenRefiner, collaborativeRefiner
        case causalMask, collaborativeQKNorm, normalizeFeatures
    }

    /// Missing keys take the defaults, so configs saved by older versions keep loading.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        branches = try c.decode([LLMBranchConfig].self, forKey: .branches)
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? 192
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? 4
        blocks = try c.decodeIfPresent(Int.self, forKey: .blocks) ?? 2
        collaborativeBlocks = try c.decodeIfPresent(Int.self, forKey: .collaborativeBlocks) ?? 1
        mlpRatio = try c.decodeIfPresent(Int.self, forKey: .mlpRatio) ?? 4
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? .silu
        tokenRefiner = try c.decodeIfPresent(Bool.self, forKey: .tokenRefiner) ?? true
        collaborativeRefiner = try c.decodeIfPresent(Bool.self, forKey: .collaborativeRefiner) ?? true
        causalMask = try c.decodeIfPresent(Bool.self, forKey: .causalMask) ?? false
        collaborativeQKNorm = try c.decodeIfPresent(Bool.self, forKey: .collaborativeQKNorm) ?? true
        normalizeFeatures = try c.decodeIfPresent(Bool.self, forKey: .normalizeFeatures) ?? true
    }

    /// Token-refiner blocks actually built.
    public var effectiveBlocks: Int { tokenRefiner ? blocks : 0 }
    /// Collaborative blocks actually built (needs at least two branches).
    public var effectiveCollaborativeBlocks: Int { collaborativeRefiner && branches.count >= 2 ? collaborativeBlocks : 0 }
    /// Whether the conditioning vector c (timestep + pooled text) is needed.
    public var conditioned: Bool { effectiveBlocks > 0 || effectiveCollaborativeBlocks > 0 }
}

/// Frozen-LLM features of one branch for a batch.
public struct RefinerBranchInput: Sendable {
    public var tokens: Int
    /// [batch, tokens, width], row-major.
    public var features: [Float]
    /// [batch, tokens]: 1 = real token, 0 = padding.
    public var mask: [UInt8]

    public init(tokens: Int, features: [Float], mask: [UInt8]) {
        self.tokens = tokens; self.features = features; self.mask = mask
    }
}

/// One batch for the prompt encoder.
public struct RefinerInput: Sendable {
    public var batch: Int
    /// One per configured branch, in config order.
    public var branches: [RefinerBranchInput]
    /// Per branch; 1 = as trained, 0 = branch switched off (its tokens masked out of Y and out of the
    /// other branches' collaborative cross-attention), values between scale its tokens in Y.
    public var fusionWeights: [Float]?
    /// Per sample: true = null text (every Y token masked; pooled text zero) — CFG's unconditional
    /// branch and caption dropout in training.
    public var dropText: [Bool]?

    public init(batch: Int, branches: [RefinerBranchInput], fusionWeights: [Float]? = nil, dropText: [Bool]? = nil) {
        self.batch = batch; self.branches = branches; self.fusionWeights = fusionWeights; self.dropText = dropText
    }

    /// Sample `b` alone, with the batch's token counts (its padding kept, so its text tokens Y have
    /// the same layout as in the batch).
    public func row(_ b: Int) -> RefinerInput {
        precondition(b >= 0 && b < batch, "row \(b) is not in a batch of \(batch)")
        let branches = branches.map { br in
            let width = br.features.count / max(1, batch * br.tokens)
            return RefinerBranchInput(tokens: br.tokens,
                                      features: Array(br.features[(b * br.tokens * width)..<((b + 1) * br.tokens * width)]),
                                      mask: Array(br.mask[(b * br.tokens)..<((b + 1) * br.tokens)]))
        }
        return RefinerInput(batch: 1, branches: branches, fusionWeights: fusionWeights, dropText: dropText.map { [$0[b]] })
    }
}

/// Refiners + crop/fuse/concatenate → text tokens Y [batch, Ly, width] with a key mask [batch, Ly].
///
/// Forward and backward are written out (llm.c style): activations live in a `Workspace` allocated once
/// for a capacity, gradients accumulate into the shared `ParameterStore`. The LLM features get no
/// gradient (the LLMs are frozen).
public final class LIPromptEncoderNetwork {
    public let config: RefinerConfig
    public let refiners: [TokenRefiner]
    /// [branch][layer]
    public let collaborative: [[CollaborativeRefinerBlock]]

    public init(config: RefinerConfig, store: ParameterStore, prefix: String = "encoder") {
        precondition(!config.branches.isEmpty, "the prompt encoder needs at least one LLM branch")
        self.config = config
        let c = config
        refiners = c.branches.map { b in
            TokenRefiner(store, "\(prefix).\(b.name).refiner", llmWidth: b.width, width: c.width, heads: c.heads,
                         blocks: c.effectiveBlocks, mlpRatio: c.mlpRatio, activation: c.activation, conditioned: c.conditioned)
        }
        collaborative = c.branches.map { b in
            (0..<c.effectiveCollaborativeBlocks).map { l in
                CollaborativeRefinerBlock(store, "\(prefix).\(b.name).collaborative.\(l)", width: c.width, heads: c.heads,
                                          mlpRatio: c.mlpRatio, activation: c.activation, qkNorm: c.collaborativeQKNorm)
            }
        }
    }

    public var width: Int { config.width }
    public var branchCount: Int { config.branches.count }

    /// Text tokens Y per sample for the given per-branch sequence lengths.
    public func outputTokens(_ tokens: [Int]) -> Int {
        zip(tokens, config.branches).reduce(0) { $0 + max(0, $1.0 - $1.1.instructionTokens) }
    }

    // MARK: workspace

    public final class Workspace {
        public let batchCapacity: Int
        public let tokenCapacity: [Int]
        public let arena: Arena

        struct Branch {
            let x, xMean, xRstd: UnsafeMutablePointer<Float>
            let mask, keyMask: UnsafeMutablePointer<UInt8>
            let pooled: UnsafeMutablePointer<Float>
            let pool: MLP.Activations?
            let cPool: UnsafeMutablePointer<Float>
            let time: TimestepEmbedder.Activations?
            let c, siluC: UnsafeMutablePointer<Float>
            /// h[0] = Linear_in(x), h[i+1] = block i's output.
            let h: [UnsafeMutablePointer<Float>]
            let blocks: [TokenRefinerBlock.Activations]
            /// Output of each collaborative layer, its context and the context mask.
            let collabOut: [UnsafeMutablePointer<Float>]
            let collabContext: [UnsafeMutablePointer<Float>]
            let collab: [CollaborativeRefinerBlock.Activations]
            let contextMask: UnsafeMutablePointer<UInt8>
            let dRes, dSiluC, dc, dContext: UnsafeMutablePointer<Float>
        }

        var branches: [Branch] = []
        public let y: UnsafeMutablePointer<Float>
        public let yMask: UnsafeMutablePointer<UInt8>
        let timesteps: UnsafeMutablePointer<Float>
        let scratch: RefinerScratch
        // Shapes of the last forward pass.
        public internal(set) var batch = 0
        public internal(set) var tokens: [Int] = []
        public internal(set) var yTokens = 0
        var weights: [Float] = []

        init(_ net: LIPromptEncoderNetwork, batch B: Int, tokens L: [Int]) {
            batchCapacity = B
            tokenCapacity = L
            let arena = Arena()
            self.arena = arena
            let c = net.config, d = c.width
            let totalTokens = L.reduce(0, +)
            for (a, r) in net.refiners.enumerated() {
                let rows = B * L[a]
                let S = totalTokens - L[a]
                let collabLayers = net.collaborative[a].count
                branches.append(Branch(
                    x: arena.floats(rows * r.llmWidth), xMean: arena.floats(rows), xRstd: arena.floats(rows),
                    mask: arena.bytes(rows), keyMask: arena.bytes(rows),
                    pooled: arena.floats(B * r.llmWidth),
                    pool: r.poolMLP?.makeActivations(arena, rows: B),
                    cPool: arena.floats(B * d),
                    time: r.timeEmbedder?.makeActivations(arena, batch: B),
                    c: arena.floats(B * d), siluC: arena.floats(B * d),
                    h: (0...r.blocks.count).map { _ in arena.floats(rows * d) },
                    blocks: r.blocks.map { $0.makeActivations(arena, batch: B, tokens: L[a]) },
                    collabOut: (0..<collabLayers).map { _ in arena.floats(rows * d) },
                    collabContext: (0..<collabLayers).map { _ in arena.floats(B * S * d) },
                    collab: net.collaborative[a].map { $0.makeActivations(arena, batch: B, tokens: L[a], contextTokens: S) },
                    contextMask: arena.bytes(B * max(S, 1)),
                    dRes: arena.floats(rows * d), dSiluC: arena.floats(B * d), dc: arena.floats(B * d),
                    dContext: arena.floats(B * max(S, 1) * d)))
            }
            let ly = net.outputTokens(L)
            y = arena.floats(B * ly * d)
            yMask = arena.bytes(B * ly)
            timesteps = arena.floats(B)
            let maxL = L.max() ?? 1
            scratch = RefinerScratch(arena, batch: B, maxTokens: maxL, maxKeys: max(maxL, totalTokens), width: d, heads: c.heads,
                                     mlpHidden: max(c.mlpRatio * d, d), modChunks: 6)
        }

        public func fits(batch: Int, tokens: [Int]) -> Bool {
            batch <= batchCapacity && tokens.count == tokenCapacity.count && zip(tokens, tokenCapacity).allSatisfy { $0 <= $1 }
        }
    }

    public func makeWorkspace(batch: Int, tokens: [Int]) -> Workspace {
        precondition(tokens.count == branchCount, "one token count per branch")
        return Workspace(self, batch: batch, tokens: tokens)
    }

    // MARK: forward

    /// Runs the refiners for noise levels `sigmas` (σ ∈ [0, 1]; the timestep embedders see 1000·σ).
    /// Results: `ws.y` [batch, ws.yTokens, width], `ws.yMask` [batch, ws.yTokens].
    public func forward(_ p: ParameterStore, _ input: RefinerInput, sigmas: UnsafePointer<Float>, _ ws: Workspace) {
        let B = input.batch, d = config.width
        precondition(input.branches.count == branchCount, "expected \(branchCount) branches, got \(input.branches.count)")
        let L = input.branches.map(\.tokens)
        precondition(ws.fits(batch: B, tokens: L), "workspace too small for batch \(B), tokens \(L)")
        for (a, bi) in input.branches.enumerated() {
            precondition(bi.features.count == B * bi.tokens * config.branches[a].width, "branch \(a): features size")
            precondition(bi.mask.count == B * bi.tokens, "branch \(a): mask size")
            precondition(bi.tokens >= config.branches[a].instructionTokens, "branch \(a): fewer tokens than instruction tokens")
        }
        ws.batch = B
        ws.tokens = L
        ws.weights = input.fusionWeights ?? [Float](repeating: 1, count: branchCount)
        precondition(ws.weights.count == branchCount, "one fusion weight per branch")
        for b in 0..<B { ws.timesteps[b] = 1000 * sigmas[b] }
        // Null text (guidance's unconditional row) masks every token of Y, so nothing the refiners
        // would compute is read: skip them. Y and its mask come out exactly as if they had run.
        if let drop = input.dropText, drop.allSatisfy({ $0 }) {
            for (a, bi) in input.branches.enumerated() {
                bi.mask.withUnsafeBufferPointer { ws.branches[a].mask.update(from: $0.baseAddress!, count: B * L[a]) }
            }
            assembleY(input, ws)
            return
        }

        for (a, r) in refiners.enumerated() {
            let br = ws.branches[a], bi = input.branches[a]
            let rows = B * L[a], D = r.llmWidth
            bi.features.withUnsafeBufferPointer { f in
                if config.normalizeFeatures {
                    LayerNormLayer(nil, "", dim: D, eps: 1e-6, affine: false)
                        .forward(nil, f.baseAddress!, rows: rows, into: br.x, mean: br.xMean, rstd: br.xRstd)
                } else {
                    br.x.update(from: f.baseAddress!, count: rows * D)
                }
            }
            bi.mask.withUnsafeBufferPointer { br.mask.update(from: $0.baseAddress!, count: rows) }
            br.keyMask.update(from: br.mask, count: rows)
            for b in 0..<B { br.keyMask[b * L[a]] = 1 }   // HunyuanVideo: column 0 always attendable
            if config.conditioned, let pool = r.poolMLP, let temb = r.timeEmbedder {
                maskedMeanForward(br.x, mask: br.mask, batch: B, tokens: L[a], dim: D, into: br.pooled)
                pool.forward(p, br.pooled, rows: B, br.pool!, into: br.cPool)
                temb.forward(p, timesteps: ws.timesteps, batch: B, br.time!, into: br.c)
                add(br.c, br.cPool, into: br.c, count: B * d)
                activationForward(.silu, br.c, br.siluC, count: B * d)
            }
            r.inputProjection.forward(p, br.x, rows: rows, into: br.h[0])
            let mask = AttentionMask(config.causalMask ? .causal : .bidirectional, keyValid: br.keyMask)
            for (i, block) in r.blocks.enumerated() {
                block.forward(p, br.h[i], siluC: br.siluC, batch: B, tokens: L[a], mask: mask, br.blocks[i], into: br.h[i + 1])
            }
        }

        let layers = config.effectiveCollaborativeBlocks
        if layers > 0 {
            for a in 0..<branchCount { buildContextMask(a, ws) }
            for l in 0..<layers {
                for a in 0..<branchCount { gatherContext(a, layer: l, ws) }
                for a in 0..<branchCount {
                    let br = ws.branches[a]
                    collaborative[a][l].forward(p, stateBefore(a, layer: l, ws), context: br.collabContext[l],
                                                contextValid: br.contextMask, siluC: br.siluC, batch: B, tokens: L[a],
                                                contextTokens: contextTokens(a, L), br.collab[l], into: br.collabOut[l])
                }
            }
        }
        assembleY(input, ws)
    }

    /// Input of collaborative layer `layer` for branch a (= the token refiner's output for layer 0).
    func stateBefore(_ a: Int, layer: Int, _ ws: Workspace) -> UnsafeMutablePointer<Float> {
        let br = ws.branches[a]
        return layer == 0 ? br.h[br.h.count - 1] : br.collabOut[layer - 1]
    }

    /// The final refined tokens of branch a.
    func finalState(_ a: Int, _ ws: Workspace) -> UnsafeMutablePointer<Float> {
        let l = config.effectiveCollaborativeBlocks
        return l > 0 ? ws.branches[a].collabOut[l - 1] : stateBefore(a, layer: 0, ws)
    }

    func contextTokens(_ a: Int, _ L: [Int]) -> Int { L.reduce(0, +) - L[a] }

    func buildContextMask(_ a: Int, _ ws: Workspace) {
        let (B, L) = (ws.batch, ws.tokens)
        let S = contextTokens(a, L)
        let cm = ws.branches[a].contextMask
        for b in 0..<B {
            var o = 0
            for other in 0..<branchCount where other != a {
                let on = ws.weights[other] != 0
                for t in 0..<L[other] { cm[b * S + o + t] = on ? ws.branches[other].mask[b * L[other] + t] : 0 }
                o += L[other]
            }
        }
    }

    func gatherContext(_ a: Int, layer: Int, _ ws: Workspace) {
        let (B, L, d) = (ws.batch, ws.tokens, config.width)
        let S = contextTokens(a, L)
        let ctx = ws.branches[a].collabContext[layer]
        for b in 0..<B {
            var o = 0
            for other in 0..<branchCount where other != a {
                let src = stateBefore(other, layer: layer, ws) + b * L[other] * d
                (ctx + (b * S + o) * d).update(from: src, count: L[other] * d)
                o += L[other]
            }
        }
    }

    func assembleY(_ input: RefinerInput, _ ws: Workspace) {
        let (B, L, d) = (ws.batch, ws.tokens, config.width)
        let ly = outputTokens(L)
        ws.yTokens = ly
        for b in 0..<B {
            let dropped = input.dropText?[b] ?? false
            var o = 0
            for a in 0..<branchCount {
                let n = config.branches[a].instructionTokens, w = ws.weights[a]
                let src = finalState(a, ws), mask = ws.branches[a].mask
                for j in 0..<(L[a] - n) {
                    let valid = !dropped && w != 0 && mask[b * L[a] + n + j] != 0
                    ws.yMask[b * ly + o + j] = valid ? 1 : 0
                    let dst = ws.y + (b * ly + o + j) * d
                    if valid { scale(src + (b * L[a] + n + j) * d, by: w, into: dst, count: d) }
                    else { dst.update(repeating: 0, count: d) }
                }
                o += L[a] - n
            }
        }
    }

    // MARK: backward

    /// Accumulates parameter gradients given dY = ∂L/∂Y ([batch, ws.yTokens, width]) for the last forward.
    public func backward(_ p: ParameterStore, dY: UnsafePointer<Float>, _ ws: Workspace) {
        let (B, L, d, ly) = (ws.batch, ws.tokens, config.width, ws.yTokens)
        for a in 0..<branchCount {
            let br = ws.branches[a]
            br.dRes.update(repeating: 0, count: B * L[a] * d)
            br.dSiluC.update(repeating: 0, count: B * d)
        }
        // Y ← w·h[crop]
        for b in 0..<B {
            var o = 0
            for a in 0..<branchCount {
                let n = config.branches[a].instructionTokens, w = ws.weights[a]
                for j in 0..<(L[a] - n) where ws.yMask[b * ly + o + j] != 0 {
                    axpy(w, dY + (b * ly + o + j) * d, ws.branches[a].dRes + (b * L[a] + n + j) * d, count: d)
                }
                o += L[a] - n
            }
        }
        let layers = config.effectiveCollaborativeBlocks
        for l in stride(from: layers - 1, through: 0, by: -1) {
            for a in 0..<branchCount {
                let br = ws.branches[a]
                let S = contextTokens(a, L)
                br.dContext.update(repeating: 0, count: B * S * d)
                collaborative[a][l].backward(p, h: stateBefore(a, layer: l, ws), context: br.collabContext[l], siluC: br.siluC,
                                             batch: B, tokens: L[a], contextTokens: S, br.collab[l], dRes: br.dRes,
                                             dContext: br.dContext, dSiluC: br.dSiluC, scratch: ws.scratch)
            }
            // Context gradients flow to the other branches' pre-layer tokens.
            for a in 0..<branchCount {
                let S = contextTokens(a, L), dctx = ws.branches[a].dContext
                for b in 0..<B {
                    var o = 0
                    for other in 0..<branchCount where other != a {
                        let dst = ws.branches[other].dRes + b * L[other] * d
                        add(dst, dctx + (b * S + o) * d, into: dst, count: L[other] * d)
                        o += L[other]
                    }
                }
            }
        }
        for (a, r) in refiners.enumerated() {
            let br = ws.branches[a]
            for i in stride(from: r.blocks.count - 1, through: 0, by: -1) {
                r.blocks[i].backward(p, h: br.h[i], siluC: br.siluC, batch: B, tokens: L[a], br.blocks[i], dRes: br.dRes,
                                     dSiluC: br.dSiluC, scratch: ws.scratch)
            }
            r.inputProjection.backward(p, x: br.x, dy: br.dRes, rows: B * L[a], dx: nil)
            if config.conditioned, let pool = r.poolMLP, let temb = r.timeEmbedder {
                activationBackward(.silu, x: br.c, dy: br.dSiluC, dx: br.dc, count: B * d, accumulate: false)
                temb.backward(p, dy: br.dc, batch: B, br.time!)
                pool.backward(p, x: br.pooled, dy: br.dc, rows: B, br.pool!, dx: nil, scratch: ws.scratch.mlp)
            }
        }
    }

    /// Forward FLOPs (2·multiply-adds) per sample for sequence lengths `tokens`.
    public func forwardFlopsPerSample(tokens L: [Int]) -> Int {
        let d = config.width, h = config.mlpRatio * d
        var f = 0
        let total = L.reduce(0, +)
        for (a, r) in refiners.enumerated() {
            f += 2 * L[a] * r.llmWidth * d
            if config.conditioned { f += 2 * (r.llmWidth * d + d * d + 256 * d + d * d) }
            for blk in r.blocks {
                f += 2 * d * 2 * d + blk.attention.flops(batch: 1, queries: L[a], keys: L[a]) + 2 * L[a] * 2 * d * h
            }
            for blk in collaborative[a] {
                f += 2 * d * 6 * d + blk.attention.flops(batch: 1, queries: L[a], keys: total - L[a]) + 2 * L[a] * 2 * d * h
            }
        }
        return f
    }
}
