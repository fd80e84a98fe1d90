import Kernels
import GradientTestSupport
import PromptEncoder
@testable import Diffusion
import Sampling

/// A tiny model exercising every path: two branches of different LLM widths and lengths, instruction
/// cropping, refiner width ≠ DiT width, padding.
func tinyConfig(prediction: Prediction = .cleanImage, loss: LossSpace = .velocity) -> LIDiTConfig {
    LIDiTConfig(imageSize: 8, channels: 2, patch: 4, width: 16, depth: 2, heads: 2, mlpRatio: 2, prediction: prediction,
                loss: loss, refiner: RefinerConfig(branches: [
                    LLMBranchConfig(name: "a", width: 12, instructionTokens: 1),
                    LLMBranchConfig(name: "b", width: 10, instructionTokens: 2),
                ], width: 12, heads: 2, blocks: 2, collaborativeBlocks: 1, mlpRatio: 2))
}

/// Text input for `cfg` with padding: lengths `tokens`, valid counts per sample `valid[branch][sample]`.
func textInput(_ cfg: RefinerConfig, batch: Int, tokens: [Int], valid: [[Int]], seed: UInt64) -> RefinerInput {
    var branches: [RefinerBranchInput] = []
    for (a, br) in cfg.branches.enumerated() {
        let L = tokens[a]
        let feats = RandomGenerator(seed: seed &+ UInt64(a)).normals(count: batch * L * br.width)
        var mask = [UInt8](repeating: 0, count: batch * L)
        for b in 0..<batch { for t in 0..<valid[a][b] { mask[b * L + t] = 1 } }
        branches.append(RefinerBranchInput(tokens: L, features: feats, mask: mask))
    }
    return RefinerInput(batch: batch, branches: branches)
}
