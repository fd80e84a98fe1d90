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
    /// The caption lists whose LLM features are cached separately (a mixture's pools), in order.
    var captionGroups: [[String]] { get }
}

extension TrainingData {
    public var captionGroups: [[String]] { [captions] }

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
            pictures.append(SquareResample.planar(SquareResample.resample(png.image, to: imageSize)))
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
}
