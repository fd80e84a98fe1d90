import ImageIO

/// Terminal color depth for text-cell pictures.
public enum ColorMode: String, Sendable, Equatable {
    /// `ESC[38;2;r;g;bm` 24-bit color.
    case truecolor
    /// `ESC[38;5;nm`, the xterm 256-color palette (6×6×6 cube + 24 grays).
    case ansi256
}

/// Pictures as rows of `▀` (upper half block): foreground = top pixel, background = bottom
/// pixel, so one text cell shows two vertically stacked pixels. Works in every terminal,
/// multiplexer and over slow links.
public enum HalfBlockRenderer {
    /// The picture fitted into `columns`×`rows` cells (shrunk with a box filter, or grown by a whole
    /// factor up to `maxUpscale`), one string per text row, each ending with a color reset.
    public static func render(_ image: RGBImage, columns: Int, rows: Int, colorMode: ColorMode = .truecolor,
                              maxUpscale: Int = 16) -> [String] {
        guard columns > 0, rows > 0, image.width > 0, image.height > 0 else { return [] }
        let fitted = ImageOps.fit(ImageOps.flattened(image), maxWidth: columns, maxHeight: rows * 2, maxUpscale: maxUpscale)
        return renderExact(fitted, colorMode: colorMode)
    }

    /// One cell per pixel column and per two pixel rows, no resizing.
    public static func renderExact(_ image: RGBImage, colorMode: ColorMode = .truecolor) -> [String] {
        let img = ImageOps.flattened(image)
        var lines: [String] = []
        lines.reserveCapacity((img.height + 1) / 2)
        var y = 0
        while y < img.height {
            var line = ""
            var lastFG: String? = nil, lastBG: String? = nil
            for x in 0..<img.width {
                let top = img.rgb(x: x, y: y)
                let fg = sgr(top, background: false, mode: colorMode)
                if fg != lastFG { line += fg; lastFG = fg }
                if y + 1 < img.height {
                    let bottom = img.rgb(x: x, y: y + 1)
                    let bg = sgr(bottom, background: true, mode: colorMode)
                    if bg != lastBG { line += bg; lastBG = bg }
                } else if lastBG != "\u{1B}[49m" {
                    // Odd height: the last row's lower half is the terminal's own background.
                    line += "\u{1B}[49m"; lastBG = "\u{1B}[49m"
                }
                line += "\u{2580}"
            }
            line += "\u{1B}[0m"
            lines.append(line)
            y += 2
        }
        return lines
    }

    static func sgr(_ c: (UInt8, UInt8, UInt8), background: Bool, mode: ColorMode) -> String {
        switch mode {
        case .truecolor: return "\u{1B}[\(background ? 48 : 38);2;\(c.0);\(c.1);\(c.2)m"
        case .ansi256: return "\u{1B}[\(background ? 48 : 38);5;\(ansi256Index(c.0, c.1, c.2))m"
        }
    }

    /// The nearest xterm-256 color (16…255: the 6×6×6 cube and the gray ramp; 0…15 vary by theme).
    public static func ansi256Index(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        let levels = [0, 95, 135, 175, 215, 255]
        func nearestLevel(_ v: Int) -> Int {
            var best = 0
            for i in 1..<6 where abs(levels[i] - v) < abs(levels[best] - v) { best = i }
            return best
        }
        let (ri, gi, bi) = (nearestLevel(Int(r)), nearestLevel(Int(g)), nearestLevel(Int(b)))
        let cube = (levels[ri], levels[gi], levels[bi])
        let gray = (Int(r) + Int(g) + Int(b)) / 3
        let gi24 = max(0, min(23, (gray - 8 + 5) / 10))
        let grayLevel = 8 + gi24 * 10
        func dist(_ a: (Int, Int, Int)) -> Int {
            let dr = a.0 - Int(r), dg = a.1 - Int(g), db = a.2 - Int(b)
            return dr * dr + dg * dg + db * db
        }
        return dist((grayLevel, grayLevel, grayLevel)) < dist(cube) ? 232 + gi24 : 16 + 36 * ri + 6 * gi + bi
    }

    /// The RGB an xterm-256 index 16…255 stands for.
    public static func ansi256Color(_ index: Int) -> (UInt8, UInt8, UInt8) {
        let levels: [UInt8] = [0, 95, 135, 175, 215, 255]
        if index >= 232 { let v = UInt8(8 + (index - 232) * 10); return (v, v, v) }
        let i = max(0, index - 16)
        return (levels[i / 36], levels[(i / 6) % 6], levels[i % 6])
    }
}
