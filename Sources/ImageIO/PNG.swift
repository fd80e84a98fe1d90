import CShims
import Foundation

/// An 8-bit RGB or RGBA picture, rows top to bottom.
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int   // 3 or 4
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int = 3, pixels: [UInt8]) {
        precondition(channels == 3 || channels == 4, "channels must be 3 or 4")
        precondition(pixels.count == width * height * channels, "pixel count does not match size")
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    public init(width: Int, height: Int, channels: Int = 3, fill: UInt8 = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: fill, count: width * height * channels))
    }

    /// RGB of pixel (x, y).
    public func rgb(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let o = (y * width + x) * channels
        return (pixels[o], pixels[o + 1], pixels[o + 2])
    }
}

/// A PNG text chunk. `international` chunks (iTXt) carry UTF-8; tEXt carries Latin-1, so any
/// text outside Latin-1 must be written as iTXt.
public struct PNGText: Equatable, Sendable {
    public var keyword: String
    public var text: String
    public var international: Bool

    public init(keyword: String, text: String, international: Bool? = nil) {
        self.keyword = keyword
        self.text = text
        self.international = international ?? !text.unicodeScalars.allSatisfy { $0.value < 0x80 }
    }
}

public struct PNGError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

public struct PNGFile: Equatable, Sendable {
    public var image: RGBImage
    public var texts: [PNGText]

    public init(image: RGBImage, texts: [PNGText] = []) {
        self.image = image
        self.texts = texts
    }

    public func text(_ keyword: String) -> String? { texts.first { $0.keyword == keyword }?.text }

    /// Reads a PNG (any bit depth / color type is expanded to 8-bit RGB or RGBA).
    public static func read(path: String) throws -> PNGFile {
        var raw = lidit_png_image()
        guard lidit_png_read(path, &raw) == 0 else {
            throw PNGError(description: "\(path): \(errorText(&raw))")
        }
        defer { lidit_png_free(&raw) }
        return convert(raw)
    }

    public static func read(data: Data) throws -> PNGFile {
        var raw = lidit_png_image()
        let rc = data.withUnsafeBytes { buf in
            lidit_png_read_memory(buf.bindMemory(to: UInt8.self).baseAddress, buf.count, &raw)
        }
        guard rc == 0 else { throw PNGError(description: errorText(&raw)) }
        defer { lidit_png_free(&raw) }
        return convert(raw)
    }

    /// Writes the PNG to `path` directly. (Atomic replacement is the gallery's job.)
    public func write(path: String) throws {
        guard image.width > 0, image.height > 0 else { throw PNGError(description: "empty image") }
        for t in texts where t.keyword.isEmpty || t.keyword.utf8.count > 79 {
            throw PNGError(description: "PNG text keyword must be 1-79 bytes: \(t.keyword)")
        }
        // libpng takes C strings; keep them alive for the call.
        var cstrings: [UnsafeMutablePointer<CChar>] = []
        defer { cstrings.forEach { $0.deallocate() } }
        var chunks: [lidit_png_text] = texts.map { t in
            let k = cString(Array(t.keyword.utf8)), v = cString(t.international ? Array(t.text.utf8) : latin1Bytes(t.text))
            cstrings += [k, v]
            return lidit_png_text(key: k, text: v, isInternational: t.international ? 1 : 0)
        }
        var err = [CChar](repeating: 0, count: 256)
        let rc = image.pixels.withUnsafeBufferPointer { px in
            chunks.withUnsafeMutableBufferPointer { ch in
                lidit_png_write(path, px.baseAddress, UInt32(image.width), UInt32(image.height), UInt32(image.channels),
                                ch.baseAddress, Int32(ch.count), &err, err.count)
            }
        }
        if rc != 0 {
            let message = err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw PNGError(description: "\(path): \(message)")
        }
    }

    private static func errorText(_ raw: inout lidit_png_image) -> String {
        withUnsafeBytes(of: &raw.error) { buf in String(cString: buf.bindMemory(to: CChar.self).baseAddress!) }
    }

    private static func convert(_ raw: lidit_png_image) -> PNGFile {
        let count = Int(raw.width) * Int(raw.height) * Int(raw.channels)
        let pixels = Array(UnsafeBufferPointer(start: raw.pixels, count: count))
        var texts: [PNGText] = []
        for i in 0..<Int(raw.textCount) {
            let t = raw.texts[i]
            let key = String(cString: t.key)
            let text: String
            if t.isInternational != 0 {
                text = String(decoding: UnsafeBufferPointer(start: UnsafeRawPointer(t.text).assumingMemoryBound(to: UInt8.self), count: strlen(t.text)), as: UTF8.self)
            } else {
                // tEXt is Latin-1: each byte is one code point.
                text = String(String.UnicodeScalarView(UnsafeBufferPointer(start: UnsafeRawPointer(t.text).assumingMemoryBound(to: UInt8.self), count: strlen(t.text)).map { Unicode.Scalar($0) }))
            }
            texts.append(PNGText(keyword: key, text: text, international: t.isInternational != 0))
        }
        return PNGFile(image: RGBImage(width: Int(raw.width), height: Int(raw.height), channels: Int(raw.channels), pixels: pixels), texts: texts)
    }
}

/// tEXt is Latin-1: code points above U+00FF cannot be stored there and become "?".
private func latin1Bytes(_ s: String) -> [UInt8] {
    s.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") }
}

private func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
    for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
    p[bytes.count] = 0
    return p
}
