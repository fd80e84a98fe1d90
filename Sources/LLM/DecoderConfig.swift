/// The hyper-parameters of a decoder-only LLM, read from its GGUF metadata.
public struct DecoderConfig: Sendable, Equatable {
    public enum Architecture: String, Sendable { case llama, gemma3 }

    public var architecture: Architecture
    public var blockCount: Int
    public var width: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var ffnWidth: Int
    public var normEpsilon: Float
    public var vocabularySize: Int
    public var contextLength: Int
    /// RoPE base of full-attention layers.
    public var ropeBase: Float
    /// Gemma 3: RoPE base and window of the sliding-window (local) layers.
    public var localRopeBase: Float
    public var slidingWindow: Int?
    /// Gemma 3: every `slidingWindowPattern`-th layer is global, the rest local.
    public var slidingWindowPattern: Int

    public init(architecture: Architecture, blockCount: Int, width: Int, headCount: Int, kvHeadCount: Int,
                headDim: Int, ffnWidth: Int, normEpsilon: Float, vocabularySize: Int, contextLength: Int,
                ropeBase: Float, localRopeBase: Float = 10_000, slidingWindow: Int? = nil, slidingWindowPattern: Int = 6) {
        self.architecture = architecture; self.blockCount = blockCount; self.width = width
        self.headCount = headCount; self.kvHeadCount = kvHeadCount; self.headDim = headDim
        self.ffnWidth = ffnWidth; self.normEpsilon = normEpsilon; self.vocabularySize = vocabularySize
        self.contextLength = contextLength; self.ropeBase = ropeBase; self.localRopeBase = localRopeBase
        self.slidingWindow = slidingWindow; self.slidingWindowPattern = slidingWindowPattern
    }

    /// llama.cpp's `set_swa_pattern(n)`: layer il is local when il % n < n − 1.
    public func isLocal(layer: Int) -> Bool {
        guard slidingWindow != nil, slidingWindowPattern > 1 else { return false }
        return layer % slidingWindowPattern < slidingWindowPattern - 1
    }

    /// Gemma scales token embeddings by √width (in Float, as ggml_scale does).
    public var embeddingScale: Float {
        architecture == .gemma3 ? Float(width).squareRoot() : 1
    }

    /// Gemma 3 uses 1/√headDim as query_pre_attn_scalar; llama the usual 1/√headDim too.
    public var attentionScale: Float { 1 / Float(headDim).squareRoot() }

    public var queryWidth: Int { headCount * headDim }
    public var kvWidth: Int { kvHeadCount * headDim }
}
