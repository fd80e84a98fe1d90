import Foundation
import ImageIO
import Kernels
import Shapes

/// What the trainer draws from: a fixed list of captions (their LLM features are cached once) and
/// a picture for each draw. Every draw is a pure function of (step, slot), so resume is exact.
public protocol TrainingData: Sendable {
    var captions: [String] { get }
    var seed: UInt64 { get }
    /// Planar RGB in [−1, 1], [3, size, size].
    func image(index: Int, step: Int, slot: Int) -> [Float]
    /// Which caption/picture slot `slot` of step `step` trains on.
    func index(step: Int, slot: Int) -> Int
}

extension TrainingData {
    /// The hash every draw of (step, slot) starts from.
    func drawHash(step: Int, slot: Int) -> UInt64 {
        SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(step) &* 0x9E37_79B9 &+ UInt64(slot)))
    }

    /// Uniform over the pool.
    public func index(step: Int, slot: Int) -> Int {
        Int(drawHash(step: step, slot: slot) % UInt64(captions.count))
    }
}

extension ShapesDataset: TrainingData {}

/// A user's own data: a folder of PNG pictures, each with its caption in a text file of the same
/// name (`cat.png` + `cat.txt`), the layout kohya-ss and most LoRA trainers use.
///
/// Pictures are centre-cropped to a square and area-averaged to the model's size once, at load
/// (alpha is composited over mid-gray, the shapes domain's background). There is no flip
/// augmentation: a mirrored picture would contradict captions that say "left of".
public struct ImageFolderDataset: TrainingData {
    public let folder: String
    public let files: [String]
    public let captions: [String]
    public let imageSize: Int
    public let seed: UInt64
    /// [count][3 · size · size], planar, [−1, 1].
    let pictures: [[Float]]

    public static let maxCaptionBytes = 4096

    /// Loads every usable pair; files that cannot be used are reported through `warn` and skipped.
    public init(folder: String, imageSize: Int, seed: UInt64, warn: (String) -> Void = { _ in }) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TrainingError("\(folder): no such folder")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted() } catch {
            throw TrainingError("\(folder): cannot list (\(error.localizedDescription))")
        }
        var files: [String] = [], captions: [String] = [], pictures: [[Float]] = []
        let url = URL(fileURLWithPath: folder)
        for name in names where !name.hasPrefix(".") {
            let ext = (name as NSString).pathExtension.lowercased()
            let stem = (name as NSString).deletingPathExtension
            if ["jpg", "jpeg", "webp", "gif", "bmp"].contains(ext) {
                warn("\(name): skipped (only PNG pictures are read; convert it to PNG)")
                continue
            }
            guard ext == "png" else { continue }
            let captionPath = url.appendingPathComponent(stem + ".txt").path
            guard let data = FileManager.default.contents(atPath: captionPath) else {
                warn("\(name): skipped (no caption file \(stem).txt)")
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                warn("\(stem).txt: skipped (not UTF-8 text)")
                continue
            }
            let caption = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !caption.isEmpty else { warn("\(stem).txt: skipped (empty caption)"); continue }
            guard caption.utf8.count <= Self.maxCaptionBytes else {
                warn("\(stem).txt: skipped (caption longer than \(Self.maxCaptionBytes) bytes)")
                continue
            }
            let png: PNGFile
            do { png = try PNGFile.read(path: url.appendingPathComponent(name).path) } catch {
                warn("\(name): skipped (\(error))")
                continue
            }
            files.append(name)
            captions.append(caption)
            pictures.append(Self.planar(Self.resample(png.image, to: imageSize)))
        }
        guard !files.isEmpty else {
            throw TrainingError("\(folder): no usable pictures (PNG files with a caption in a .txt file of the same name)")
        }
        self.folder = folder
        self.files = files
        self.captions = captions
        self.pictures = pictures
        self.imageSize = imageSize
        self.seed = seed
    }

    public func image(index: Int, step: Int, slot: Int) -> [Float] { pictures[index] }

    /// The largest centred square, area-averaged to `size`×`size`, as RGB in [0, 1] (HWC).
    /// Area averaging is exact for downscaling (each output pixel is the mean of the source area it
    /// covers, fractional edge pixels weighted); for upscaling it reduces to nearest-neighbour with
    /// blended seams, which is acceptable for the rare picture smaller than the model.
    static func resample(_ image: RGBImage, to size: Int) -> [Float] {
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
    static func areaWeights(from n: Int, to m: Int) -> [[(Int, Float)]] {
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
    static func planar(_ hwc: [Float]) -> [Float] {
        let n = hwc.count / 3
        var out = [Float](repeating: 0, count: hwc.count)
        for i in 0..<n { for c in 0..<3 { out[c * n + i] = hwc[i * 3 + c] * 2 - 1 } }
        return out
    }
}
