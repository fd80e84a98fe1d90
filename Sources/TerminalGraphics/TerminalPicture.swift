import Foundation
import ImageIO

/// A picture ready to be written to the terminal.
public struct RenderedPicture: Sendable, Equatable {
    /// The bytes to write (sixel DCS, or half-block lines joined by "\n" with no final newline).
    public var text: String
    public var mode: GraphicsMode
    /// Text cells covered (sixel: rounded up to whole cells).
    public var columns: Int
    public var rows: Int
    /// The drawn size in pixels (sixel) or half-block pixels.
    public var pixelWidth: Int
    public var pixelHeight: Int
    /// kitty and iTerm2: the PNG shown (already upscaled), for callers that place it themselves.
    public var png: Data? = nil
}

/// Fits a picture into a cell area and renders it the way the terminal can show it.
public enum TerminalPicture {
    /// - Parameters:
    ///   - mode: overrides `capabilities.graphics`.
    ///   - maxColumns, maxRows: the cell area (default: the whole terminal but one row).
    ///   - scale: a fixed whole upscaling factor for sixel (default: the largest that fits, ≤ 8).
    public static func render(_ image: RGBImage, capabilities caps: TerminalCapabilities, mode: GraphicsMode? = nil,
                              maxColumns: Int? = nil, maxRows: Int? = nil, scale: Int? = nil,
                              dither: SixelDither = .auto) throws -> RenderedPicture {
        let m = mode ?? caps.graphics
        let cols = max(1, maxColumns ?? caps.columns)
        let rows = max(1, maxRows ?? max(1, caps.rows - 1))
        switch m {
        case .none:
            return RenderedPicture(text: "", mode: .none, columns: 0, rows: 0, pixelWidth: 0, pixelHeight: 0)
        case .blocks:
            let fitted = ImageOps.fit(ImageOps.flattened(image), maxWidth: cols, maxHeight: rows * 2, maxUpscale: scale ?? 16)
            let lines = HalfBlockRenderer.renderExact(fitted, colorMode: caps.colorMode)
            return RenderedPicture(text: lines.joined(separator: "\n"), mode: .blocks, columns: fitted.width,
                                   rows: lines.count, pixelWidth: fitted.width, pixelHeight: fitted.height)
        case .kitty, .iterm:
            // A whole-number upscale (at most 8) of the picture fitted into the cell area.
            let maxW = cols * caps.cellSize.width, maxH = rows * caps.cellSize.height
            var img = ImageOps.flattened(image)
            if img.width > maxW || img.height > maxH { img = ImageOps.fit(img, maxWidth: maxW, maxHeight: maxH) }
            let factor = scale.map { max(1, $0) }
                ?? ImageOps.upscaleFactor(width: img.width, height: img.height, maxWidth: maxW, maxHeight: maxH, maxUpscale: 8)
            let shown = factor > 1 ? ImageOps.upscale(img, factor: factor) : img
            let png = try InlineImages.png(shown)
            let text = m == .kitty
                ? InlineImages.kittyTransmit(png, id: 1, passthrough: caps.sixelPassthrough) + wrap(InlineImages.kittyPlace(id: 1), caps)
                : wrap(InlineImages.iterm(png, width: shown.width, height: shown.height), caps)
            return RenderedPicture(text: text, mode: m,
                                   columns: (shown.width + caps.cellSize.width - 1) / caps.cellSize.width,
                                   rows: (shown.height + caps.cellSize.height - 1) / caps.cellSize.height,
                                   pixelWidth: shown.width, pixelHeight: shown.height, png: png)
        case .sixel:
            var maxW = cols * caps.cellSize.width, maxH = rows * caps.cellSize.height
            if let limit = caps.sixelMaxSize, limit.width > 0, limit.height > 0 {
                maxW = min(maxW, limit.width); maxH = min(maxH, limit.height)
            }
            var img = image
            if img.width > maxW || img.height > maxH { img = ImageOps.fit(img, maxWidth: maxW, maxHeight: maxH) }
            let factor = scale.map { max(1, $0) }
                ?? ImageOps.upscaleFactor(width: img.width, height: img.height, maxWidth: maxW, maxHeight: maxH, maxUpscale: 8)
            let text = try SixelEncoder.encode(img, scale: factor, colors: caps.sixelColors, dither: dither,
                                               passthrough: caps.sixelPassthrough)
            let pw = img.width * factor, ph = img.height * factor
            return RenderedPicture(text: text, mode: .sixel,
                                   columns: (pw + caps.cellSize.width - 1) / caps.cellSize.width,
                                   rows: (ph + caps.cellSize.height - 1) / caps.cellSize.height,
                                   pixelWidth: pw, pixelHeight: ph)
        }
    }

    static func wrap(_ s: String, _ caps: TerminalCapabilities) -> String {
        caps.sixelPassthrough == .tmux ? SixelEncoder.wrapForTmux(s) : s
    }
}
