/// Small picture operations (terminal output, gallery thumbnails): alpha flattening, integer
/// upscaling, box downscaling.
public enum ImageOps {
    /// RGB bytes (3 per pixel); alpha is composited over `background`.
    public static func rgbBytes(_ img: RGBImage, background: (UInt8, UInt8, UInt8) = (0, 0, 0)) -> [UInt8] {
        if img.channels == 3 { return img.pixels }
        var out = [UInt8](repeating: 0, count: img.width * img.height * 3)
        let bg = [Int(background.0), Int(background.1), Int(background.2)]
        for i in 0..<(img.width * img.height) {
            let a = Int(img.pixels[i * 4 + 3])
            for c in 0..<3 {
                out[i * 3 + c] = UInt8((Int(img.pixels[i * 4 + c]) * a + bg[c] * (255 - a) + 127) / 255)
            }
        }
        return out
    }

    /// An RGB copy (alpha flattened onto black).
    public static func flattened(_ img: RGBImage) -> RGBImage {
        img.channels == 3 ? img : RGBImage(width: img.width, height: img.height, channels: 3, pixels: rgbBytes(img))
    }

    /// Nearest-neighbour upscaling by a whole factor: every pixel becomes a `factor`×`factor` block.
    public static func upscale(_ img: RGBImage, factor: Int) -> RGBImage {
        guard factor > 1 else { return img }
        let c = img.channels, w = img.width * factor, h = img.height * factor
        var out = [UInt8](repeating: 0, count: w * h * c)
        for y in 0..<h {
            let sy = y / factor
            for x in 0..<w {
                let s = (sy * img.width + x / factor) * c, d = (y * w + x) * c
                for k in 0..<c { out[d + k] = img.pixels[s + k] }
            }
        }
        return RGBImage(width: w, height: h, channels: c, pixels: out)
    }

    /// Area-average (box) resampling to an exact size; meant for shrinking.
    public static func box(_ img: RGBImage, width w: Int, height h: Int) -> RGBImage {
        if w == img.width && h == img.height { return img }
        let c = img.channels
        var out = [UInt8](repeating: 0, count: w * h * c)
        var acc = [Int](repeating: 0, count: c)
        for y in 0..<h {
            let y0 = y * img.height / h, y1 = max(y0 + 1, (y + 1) * img.height / h)
            for x in 0..<w {
                let x0 = x * img.width / w, x1 = max(x0 + 1, (x + 1) * img.width / w)
                for k in 0..<c { acc[k] = 0 }
                for yy in y0..<y1 {
                    for xx in x0..<x1 {
                        let o = (yy * img.width + xx) * c
                        for k in 0..<c { acc[k] += Int(img.pixels[o + k]) }
                    }
                }
                let n = (y1 - y0) * (x1 - x0)
                let o = (y * w + x) * c
                for k in 0..<c { out[o + k] = UInt8((acc[k] + n / 2) / n) }
            }
        }
        return RGBImage(width: w, height: h, channels: c, pixels: out)
    }

    /// Resizes to fit inside `maxWidth`×`maxHeight` keeping the aspect ratio: shrinks with a box
    /// filter, or grows by the largest whole factor (at most `maxUpscale`) so small pictures stay crisp.
    public static func fit(_ img: RGBImage, maxWidth: Int, maxHeight: Int, maxUpscale: Int = 16) -> RGBImage {
        let mw = max(1, maxWidth), mh = max(1, maxHeight)
        if img.width > mw || img.height > mh {
            let s = min(Double(mw) / Double(img.width), Double(mh) / Double(img.height))
            let w = max(1, min(mw, Int((Double(img.width) * s).rounded())))
            let h = max(1, min(mh, Int((Double(img.height) * s).rounded())))
            return box(img, width: w, height: h)
        }
        return upscale(img, factor: upscaleFactor(width: img.width, height: img.height, maxWidth: mw, maxHeight: mh, maxUpscale: maxUpscale))
    }

    /// The largest whole factor that keeps `width`×`height` inside the box (≥ 1, ≤ `maxUpscale`).
    public static func upscaleFactor(width: Int, height: Int, maxWidth: Int, maxHeight: Int, maxUpscale: Int = 16) -> Int {
        guard width > 0, height > 0 else { return 1 }
        return max(1, min(maxUpscale, maxWidth / width, maxHeight / height))
    }
}
