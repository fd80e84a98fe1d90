import CSixel
import Foundation
import ImageIO

/// How colors that are not in the palette are approximated.
public enum SixelDither: String, Sendable, CaseIterable {
    /// Small previews (drawn upscaled) get none, so every source pixel stays one flat block;
    /// pictures drawn 1:1 get Floyd–Steinberg.
    case auto
    case none
    case floydSteinberg
    case atkinson
}

/// Wrapping needed to get a sixel image through a terminal multiplexer.
public enum SixelPassthrough: String, Sendable {
    case none
    /// `ESC P tmux ; <payload, every ESC doubled> ESC \` (needs `set -g allow-passthrough on`).
    case tmux
    /// GNU screen: the image cut into DCS packets (libsixel's "penetrate" mode).
    case screen
}

public struct SixelError: Error, CustomStringConvertible {
    public var description: String
}

/// Pictures to DEC sixel through libsixel.
public enum SixelEncoder {
    /// Encodes `image`, each pixel drawn as a `scale`×`scale` block. The palette (≤ `colors`,
    /// at most 256) is chosen from the picture at its own size; a picture with no more colors
    /// than that is encoded exactly.
    public static func encode(_ image: RGBImage, scale: Int = 1, colors: Int = 256, dither: SixelDither = .auto,
                              passthrough: SixelPassthrough = .none) throws -> String {
        guard image.width > 0, image.height > 0 else { throw SixelError(description: "empty image") }
        let ncolors = max(2, min(256, colors))
        let factor = max(1, scale)
        let w = image.width, h = image.height
        var rgb = ImageOps.rgbBytes(image)

        // Exact palette when the picture has few colors (flat art, tiny previews).
        var exact: [UInt32: UInt8] = [:]
        var palette: [UInt8] = []
        for i in 0..<(w * h) {
            let key = UInt32(rgb[i * 3]) << 16 | UInt32(rgb[i * 3 + 1]) << 8 | UInt32(rgb[i * 3 + 2])
            if exact[key] == nil {
                if exact.count == ncolors { exact.removeAll(); palette.removeAll(); break }
                exact[key] = UInt8(exact.count)
                palette += [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]
            }
        }

        let sink = ByteSink()
        var output: OpaquePointer?
        var status = sixel_output_new(&output, sixelWrite, Unmanaged.passUnretained(sink).toOpaque(), nil)
        guard SIXEL_SUCCEEDED(status), let out = output else { throw SixelError(description: "sixel_output_new failed") }
        defer { sixel_output_unref(out) }
        sixel_output_set_penetrate_multiplexer(out, passthrough == .screen ? 1 : 0)

        if !palette.isEmpty {
            // Indexed path: map, upscale the indices, encode as PAL8.
            var idx = [UInt8](repeating: 0, count: w * h)
            for i in 0..<(w * h) {
                idx[i] = exact[UInt32(rgb[i * 3]) << 16 | UInt32(rgb[i * 3 + 1]) << 8 | UInt32(rgb[i * 3 + 2])]!
            }
            try encodeIndexed(idx, width: w, height: h, factor: factor, palette: palette, out: out)
        } else {
            var d: OpaquePointer?
            status = sixel_dither_new(&d, Int32(ncolors), nil)
            guard SIXEL_SUCCEEDED(status), let ctx = d else { throw SixelError(description: "sixel_dither_new failed") }
            defer { sixel_dither_unref(ctx) }
            // Median cut over the picture at its own size; high quality is cheap for previews.
            let quality = w * h <= 512 * 512 ? SIXEL_QUALITY_HIGH : SIXEL_QUALITY_AUTO
            status = rgb.withUnsafeMutableBufferPointer { buf in
                sixel_dither_initialize(ctx, buf.baseAddress, Int32(w), Int32(h), SIXEL_PIXELFORMAT_RGB888,
                                        SIXEL_LARGE_NORM, SIXEL_REP_AVERAGE_PIXELS, quality)
            }
            guard SIXEL_SUCCEEDED(status) else { throw SixelError(description: "sixel_dither_initialize failed: \(status)") }
            let n = Int(sixel_dither_get_num_of_palette_colors(ctx))
            guard let pal = sixel_dither_get_palette(ctx) else { throw SixelError(description: "no palette") }
            let pbytes = Array(UnsafeBufferPointer(start: pal, count: n * 3))
            // Our own nearest-color mapping (libsixel's fast lookup trades accuracy for speed), done
            // at the picture's own size and then upscaled, so upscaled blocks stay flat.
            let method = dither == .auto ? (factor > 1 ? SixelDither.none : .floydSteinberg) : dither
            let idx = Quantizer.map(rgb, width: w, height: h, palette: pbytes, dither: method)
            try encodeIndexed(idx, width: w, height: h, factor: factor, palette: pbytes, out: out)
        }
        let text = String(decoding: sink.bytes, as: UTF8.self)
        return passthrough == .tmux ? wrapForTmux(text) : text
    }

    /// `ESC P tmux ; … ESC \` with every ESC of the payload doubled.
    public static func wrapForTmux(_ payload: String) -> String {
        "\u{1B}Ptmux;" + payload.replacingOccurrences(of: "\u{1B}", with: "\u{1B}\u{1B}") + "\u{1B}\\"
    }

    /// A sixel passed through tmux and drawn at a given cell of the *outer* terminal (1-based):
    /// the outer cursor is saved, moved, and restored inside the passthrough, so tmux's idea of
    /// where the cursor is stays right. (tmux does not know about the picture: reserve the cells
    /// first, and redraw after tmux repaints the pane.)
    public static func wrapForTmux(_ sixel: String, outerRow: Int, outerColumn: Int) -> String {
        wrapForTmux("\u{1B}7\u{1B}[\(outerRow);\(outerColumn)H" + sixel + "\u{1B}8")
    }

    private static func encodeIndexed(_ idx: [UInt8], width w: Int, height h: Int, factor: Int, palette: [UInt8],
                                      out: OpaquePointer) throws {
        let W = w * factor, H = h * factor
        var big = [UInt8](repeating: 0, count: W * H)
        if factor == 1 {
            big = idx
        } else {
            for y in 0..<H {
                let row = (y / factor) * w
                for x in 0..<W { big[y * W + x] = idx[row + x / factor] }
            }
        }
        var d: OpaquePointer?
        let n = palette.count / 3
        guard SIXEL_SUCCEEDED(sixel_dither_new(&d, Int32(n), nil)), let dither = d else {
            throw SixelError(description: "sixel_dither_new failed")
        }
        defer { sixel_dither_unref(dither) }
        var pal = palette
        pal.withUnsafeMutableBufferPointer { sixel_dither_set_palette(dither, $0.baseAddress) }
        sixel_dither_set_pixelformat(dither, SIXEL_PIXELFORMAT_PAL8)
        let status = big.withUnsafeMutableBufferPointer { buf in
            sixel_encode(buf.baseAddress, Int32(W), Int32(H), 8, dither, out)
        }
        guard SIXEL_SUCCEEDED(status) else { throw SixelError(description: "sixel_encode failed: \(status)") }
    }

}

/// libsixel's SIXEL_SUCCEEDED macro.
@inline(__always) func SIXEL_SUCCEEDED(_ s: SIXELSTATUS) -> Bool { (s & 0x1000) == 0 }

final class ByteSink {
    var bytes: [UInt8] = []
}

private let sixelWrite: sixel_write_function = { data, size, priv in
    guard let data, let priv, size > 0 else { return 0 }
    let sink = Unmanaged<ByteSink>.fromOpaque(priv).takeUnretainedValue()
    data.withMemoryRebound(to: UInt8.self, capacity: Int(size)) {
        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(size)))
    }
    return size
}

/// Sixel back to pixels (libsixel's decoder): for tests and for checking what a terminal will draw.
public enum SixelDecoder {
    public static func decode(_ sixel: String) throws -> RGBImage {
        var bytes = Array(sixel.utf8)
        var alloc: OpaquePointer?
        guard SIXEL_SUCCEEDED(sixel_allocator_new(&alloc, nil, nil, nil, nil)), let allocator = alloc else {
            throw SixelError(description: "sixel_allocator_new failed")
        }
        defer { sixel_allocator_unref(allocator) }
        var pixels: UnsafeMutablePointer<UInt8>?
        var palette: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, n: Int32 = 0
        let status = bytes.withUnsafeMutableBufferPointer { buf in
            sixel_decode_raw(buf.baseAddress, Int32(buf.count), &pixels, &w, &h, &palette, &n, allocator)
        }
        defer {
            if let p = pixels { sixel_allocator_free(allocator, p) }
            if let p = palette { sixel_allocator_free(allocator, p) }
        }
        guard SIXEL_SUCCEEDED(status), let px = pixels, let pal = palette, w > 0, h > 0 else {
            throw SixelError(description: "sixel_decode_raw failed: \(status)")
        }
        let count = Int(w) * Int(h)
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            let k = Int(px[i])
            guard k < Int(n) else { continue }
            rgb[i * 3] = pal[k * 3]; rgb[i * 3 + 1] = pal[k * 3 + 1]; rgb[i * 3 + 2] = pal[k * 3 + 2]
        }
        return RGBImage(width: Int(w), height: Int(h), pixels: rgb)
    }
}

/// Nearest-palette-color mapping with optional error diffusion, for pictures small enough to
/// quantise here before upscaling.
enum Quantizer {
    static func map(_ rgb: [UInt8], width w: Int, height h: Int, palette: [UInt8], dither: SixelDither) -> [UInt8] {
        let n = palette.count / 3
        let pal = (0..<n).map { (Int(palette[$0 * 3]), Int(palette[$0 * 3 + 1]), Int(palette[$0 * 3 + 2])) }
        // Entries sorted by green (the heaviest weight): the search walks outwards from the
        // pixel's green and stops once the green gap alone exceeds the best distance.
        let order = (0..<n).sorted { pal[$0].1 < pal[$1].1 }
        let greens = order.map { pal[$0].1 }
        var cache: [Int: UInt8] = [:]
        func nearest(_ r: Int, _ g: Int, _ b: Int) -> UInt8 {
            let key = r << 16 | g << 8 | b
            if let hit = cache[key] { return hit }
            var lo = 0, hi = n
            while lo < hi { let mid = (lo + hi) / 2; if greens[mid] < g { lo = mid + 1 } else { hi = mid } }
            var best = 0, bestD = Int.max
            var up = lo, down = lo - 1
            while up < n || down >= 0 {
                if up < n {
                    let dg = greens[up] - g
                    if dg * dg * 4 >= bestD { up = n } else {
                        let p = pal[order[up]], dr = r - p.0, db = b - p.2
                        let d = dr * dr * 3 + dg * dg * 4 + db * db * 2
                        if d < bestD { bestD = d; best = order[up] }
                        up += 1
                    }
                }
                if down >= 0 {
                    let dg = g - greens[down]
                    if dg * dg * 4 >= bestD { down = -1 } else {
                        let p = pal[order[down]], dr = r - p.0, db = b - p.2
                        let d = dr * dr * 3 + dg * dg * 4 + db * db * 2
                        if d < bestD { bestD = d; best = order[down] }
                        down -= 1
                    }
                }
            }
            cache[key] = UInt8(best)
            return UInt8(best)
        }
        var out = [UInt8](repeating: 0, count: w * h)
        if dither == .none || dither == .auto {
            for i in 0..<(w * h) { out[i] = nearest(Int(rgb[i * 3]), Int(rgb[i * 3 + 1]), Int(rgb[i * 3 + 2])) }
            return out
        }
        // Error diffusion on a float copy.
        var buf = rgb.map { Float($0) }
        let atkinson: [(Int, Int, Float)] = [(1, 0, 0.125), (2, 0, 0.125), (-1, 1, 0.125), (0, 1, 0.125), (1, 1, 0.125), (0, 2, 0.125)]
        let floyd: [(Int, Int, Float)] = [(1, 0, 0.4375), (-1, 1, 0.1875), (0, 1, 0.3125), (1, 1, 0.0625)]
        let kernel = dither == .atkinson ? atkinson : floyd
        for y in 0..<h {
            for x in 0..<w {
                let o = (y * w + x) * 3
                let r = Int(max(0, min(255, buf[o]).rounded())), g = Int(max(0, min(255, buf[o + 1]).rounded()))
                let b = Int(max(0, min(255, buf[o + 2]).rounded()))
                let k = nearest(r, g, b)
                out[y * w + x] = k
                let p = pal[Int(k)]
                let err = (buf[o] - Float(p.0), buf[o + 1] - Float(p.1), buf[o + 2] - Float(p.2))
                for (dx, dy, f) in kernel {
                    let xx = x + dx, yy = y + dy
                    guard xx >= 0, xx < w, yy < h else { continue }
                    let q = (yy * w + xx) * 3
                    buf[q] += err.0 * f; buf[q + 1] += err.1 * f; buf[q + 2] += err.2 * f
                }
            }
        }
        return out
    }
}
