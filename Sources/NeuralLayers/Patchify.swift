import Foundation

/// How images map to tokens. Images are planar [batch, channels, height, width] (PyTorch's NCHW);
/// a token is one patch, tokens run row-major over the patch grid, and a token's features are
/// ordered (py, px, c) — DiT's `unpatchify` layout ('nhwpqc->nchpwq').
public struct PatchGeometry: Codable, Equatable, Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var patch: Int

    public init(channels: Int, height: Int, width: Int, patch: Int) {
        precondition(height % patch == 0 && width % patch == 0, "image \(height)×\(width) is not a multiple of patch \(patch)")
        self.channels = channels; self.height = height; self.width = width; self.patch = patch
    }

    public var gridHeight: Int { height / patch }
    public var gridWidth: Int { width / patch }
    public var tokens: Int { gridHeight * gridWidth }
    public var patchDim: Int { patch * patch * channels }
    public var pixelsPerImage: Int { channels * height * width }
}

/// images [B, C, H, W] → tokens [B, T, p·p·C]. A permutation; its backward is `unpatchify`.
public func patchify(_ images: UnsafePointer<Float>, batch: Int, geometry g: PatchGeometry,
                     into tokens: UnsafeMutablePointer<Float>) {
    permutePatches(images: UnsafeMutablePointer(mutating: images), tokens: tokens, batch: batch, g: g, toTokens: true)
}

/// tokens [B, T, p·p·C] → images [B, C, H, W]. The inverse of `patchify` (and its backward).
public func unpatchify(_ tokens: UnsafePointer<Float>, batch: Int, geometry g: PatchGeometry,
                       into images: UnsafeMutablePointer<Float>) {
    permutePatches(images: images, tokens: UnsafeMutablePointer(mutating: tokens), batch: batch, g: g, toTokens: false)
}

private func permutePatches(images: UnsafeMutablePointer<Float>, tokens: UnsafeMutablePointer<Float>, batch: Int,
                            g: PatchGeometry, toTokens: Bool) {
    let (C, H, W, p) = (g.channels, g.height, g.width, g.patch)
    let (gw, T, P) = (g.gridWidth, g.tokens, g.patchDim)
    for b in 0..<batch {
        for t in 0..<T {
            let gy = t / gw, gx = t % gw
            let tok = tokens + (b * T + t) * P
            for py in 0..<p {
                for px in 0..<p {
                    let y = gy * p + py, x = gx * p + px
                    for c in 0..<C {
                        let ii = ((b * C + c) * H + y) * W + x
                        let ti = (py * p + px) * C + c
                        if toTokens { tok[ti] = images[ii] } else { images[ii] = tok[ti] }
                    }
                }
            }
        }
    }
}

/// Fixed 2-D sin-cos position table [gridHeight·gridWidth, dim], as DiT/MAE's
/// `get_2d_sincos_pos_embed`: the first dim/2 features encode the column, the last dim/2 the row;
/// each half is [sin(pos·ω_i), cos(pos·ω_i)] with ω_i = 10000^(−i/(dim/4)), i < dim/4.
public func sinCosPositionEmbedding2D(dim: Int, gridHeight: Int, gridWidth: Int) -> [Float] {
    precondition(dim % 4 == 0, "2-D sin-cos embedding needs a width divisible by 4")
    let quarter = dim / 4
    var out = [Float](repeating: 0, count: gridHeight * gridWidth * dim)
    for row in 0..<gridHeight {
        for col in 0..<gridWidth {
            let o = (row * gridWidth + col) * dim
            for i in 0..<quarter {
                let omega = 1 / Foundation.pow(10_000.0, Double(i) / Double(quarter))
                let a = Double(col) * omega, b = Double(row) * omega
                out[o + i] = Float(Foundation.sin(a))
                out[o + quarter + i] = Float(Foundation.cos(a))
                out[o + 2 * quarter + i] = Float(Foundation.sin(b))
                out[o + 3 * quarter + i] = Float(Foundation.cos(b))
            }
        }
    }
    return out
}
