import Foundation
import ImageIO

/// Pictures for terminals that take whole images rather than sixel: the kitty graphics protocol
/// (kitty, Ghostty, WezTerm, Konsole) and iTerm2's inline images (iTerm2, WezTerm, VS Code).
/// Both carry a PNG in base64; the picture is upscaled by a whole number first, so it shows at
/// exactly that scale.
public enum InlineImages {
    /// Bytes per kitty chunk of base64 (the protocol's limit).
    public static let kittyChunk = 4096

    /// PNG bytes of a picture.
    public static func png(_ image: RGBImage) throws -> Data {
        let path = NSTemporaryDirectory() + "lidit-inline-\(getpid())-\(UUID().uuidString).png"
        defer { unlink(path) }
        try PNGFile(image: image).write(path: path)
        guard let data = FileManager.default.contents(atPath: path) else { throw InlineImageError(description: "cannot read back \(path)") }
        return data
    }

    /// kitty: transmits the picture as image `id` (`a=t,f=100`, in chunks of 4096 base64 bytes,
    /// `q=2` so the terminal sends no replies), without placing it. A new transmission with the
    /// same id replaces the old image and its placements.
    public static func kittyTransmit(_ png: Data, id: Int, passthrough: SixelPassthrough = .none) -> String {
        let b64 = Array(png.base64EncodedString().utf8)
        var out = ""
        var offset = 0
        repeat {
            let end = min(b64.count, offset + kittyChunk)
            let more = end < b64.count ? 1 : 0
            let keys = offset == 0 ? "a=t,f=100,i=\(id),q=2,m=\(more)" : "m=\(more)"
            let chunk = "\u{1B}_G\(keys);" + String(decoding: b64[offset..<end], as: UTF8.self) + "\u{1B}\\"
            out += passthrough == .tmux ? SixelEncoder.wrapForTmux(chunk) : chunk
            offset = end
        } while offset < b64.count
        return out
    }

    /// kitty: shows image `id` at the cursor as placement 1 (replacing that placement if it is
    /// shown elsewhere), leaving the cursor where it is (`C=1`).
    public static func kittyPlace(id: Int) -> String { "\u{1B}_Ga=p,i=\(id),p=1,C=1,q=2\u{1B}\\" }

    /// kitty: removes image `id` (placements and data), or every image when `id` is nil.
    public static func kittyDelete(id: Int?) -> String {
        id.map { "\u{1B}_Ga=d,d=I,i=\($0),q=2\u{1B}\\" } ?? "\u{1B}_Ga=d,d=A,q=2\u{1B}\\"
    }

    /// iTerm2: `OSC 1337 ; File=inline=1;size=N;width=Wpx;height=Hpx;preserveAspectRatio=0 : base64 BEL`,
    /// shown at the cursor at its own pixel size, in cells like text (so text drawn over it erases it).
    public static func iterm(_ png: Data, width: Int, height: Int) -> String {
        "\u{1B}]1337;File=inline=1;size=\(png.count);width=\(width)px;height=\(height)px;preserveAspectRatio=0:"
            + png.base64EncodedString() + "\u{07}"
    }
}

public struct InlineImageError: Error, CustomStringConvertible {
    public var description: String
}
