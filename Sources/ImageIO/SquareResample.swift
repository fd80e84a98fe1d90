/// Pictures made model-sized: training pictures of any size and img2img start pictures are
/// both cut to their largest centred square and area-averaged to the model's size.
public enum SquareResample {
    /// The largest centred square, area-averaged to `size`×`size`, as RGB in [0, 1] (HWC).
    /// Area averaging is exact for downscaling (each output pixel is the mean of the source area it
    /// covers, fractional edge pixels weighted); for upscaling it reduces to nearest-neighbour with
    /// blended seams, which is acceptable for the rare picture smaller than the model.
    public static func resample(_ image: RGBImage, to size: Int) -> [Float] {
        let side = min(image.width, image.height)
        let x0 = (image.width - side) / 2, y0 = (image.height - side) / 2
        // Source pixels in [0, 1], alpha composited over mid-gray.
        var source = [Float](repeating: 0, count: side * side * 3)
        for y in 0..<side {
            for x in 0..<side {
                let p = ((y0 + y) * image.width + x0 + x) * image.channels
                let alpha: Float = image.channels == 4 ? Float(image.pixels[p + 3]) / 255 : 1
                for c in 0..<3 {
                    source[(y * side + x) * 3 + c] = Float(image.pixels[p + c]) / 255 * alpha + 0.5 * (1 - alpha)
                }
            }
        }
        let weights = areaWeights(from: side, to: size)
        // Rows first ([size][side] → [size][size]), both passes with the same 1-D weights.
        var horizontal = [Float](repeating: 0, count: side * size * 3)
        for y in 0..<side {
            for (ox, taps) in weights.enumerated() {
                for (sx, w) in taps { for c in 0..<3 { horizontal[(y * size + ox) * 3 + c] += w * source[(y * side + sx) * 3 + c] } }
            }
        }
        var out = [Float](repeating: 0, count: size * size * 3)
        for (oy, taps) in weights.enumerated() {
            for (sy, w) in taps {
                for x in 0..<size { for c in 0..<3 { out[(oy * size + x) * 3 + c] += w * horizontal[(sy * size + x) * 3 + c] } }
            }
        }
        return out
    }

    /// For each of `m` output pixels, the source pixels it covers and their weights (summing to 1).
    public static func areaWeights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { o in
            let lo = Double(o) * scale, hi = Double(o + 1) * scale
            var taps: [(Int, Float)] = []
            var s = Int(lo.rounded(.down))
            while Double(s) < hi && s < n {
                let overlap = min(hi, Double(s + 1)) - max(lo, Double(s))
                if overlap > 1e-12 { taps.append((s, Float(overlap / scale))) }
                s += 1
            }
            return taps
        }
    }

    /// HWC [0, 1] → CHW [−1, 1].
    public static func planar(_ hwc: [Float]) -> [Float] {
        let n = hwc.count / 3
        var out = [Float](repeating: 0, count: hwc.count)
        for i in 0..<n { for c in 0..<3 { out[c * n + i] = hwc[i * 3 + c] * 2 - 1 } }
        return out
    }
}
