import Foundation
import UserFolders
import Kernels
import ModelFiles
import PromptEncoder

/// Frozen-LLM hidden states for a caption pool, computed once and kept on disk in fp16.
///
/// A causal LLM's states for the instruction prefix do not depend on the caption, so they are
/// stored once (`prefix`); each caption stores only its own tokens. The folder name is a hash
/// of everything the numbers depend on except the captions (model file hash, template, layer),
/// so a changed setting can never pick up stale features. Captions go in parts of 256, each
/// named by a hash of its own captions and written atomically as it finishes: an interrupted
/// build resumes where it stopped, and a grown pool whose first captions are the old pool's
/// computes only the new parts.
public final class FeatureCache: @unchecked Sendable {
    public let encoderID: String
    public let width: Int
    /// [prefixTokens, width]
    public let prefix: [Float]
    public let prefixTokens: Int
    /// Per caption: start row into `rows` and token count.
    public let starts: [Int]
    public let counts: [Int]
    /// fp16 bits, [total rows, width]
    public let rows: [UInt16]

    /// `$LIDIT_FEATURES`, else `$XDG_CACHE_HOME/lidit/features`, else `$HOME/.cache/lidit/features`.
    public static var defaultRoot: URL { UserFolder.features.url() }

    /// Captions per part file. Parts are cut at fixed indices, so a grown pool recomputes only the
    /// old pool's last, partial part and the new ones.
    public static let defaultPartSize = 256

    struct Meta: Codable {
        var encoder: String
        var modelSHA256: String
        var template: InstructionTemplate
        var layer: Int
        var width: Int
        var prefixTokens: Int
    }

    init(encoderID: String, width: Int, prefix: [Float], starts: [Int], counts: [Int], rows: [UInt16]) {
        self.encoderID = encoderID; self.width = width; self.prefix = prefix
        self.prefixTokens = prefix.count / max(width, 1)
        self.starts = starts; self.counts = counts; self.rows = rows
    }

    /// Loads the cache for these captions, building what is missing with `encoder`.
    public static func load(encoder: LLMTextEncoder, modelSHA256: String, layer: Int, captions: [String],
                            maxPromptTokens: Int = 64, root: URL = defaultRoot, partSize: Int = defaultPartSize,
                            shouldStop: () -> Bool = { false },
                            progress: (Int, Int) -> Void = { _, _ in }) throws -> FeatureCache {
        var hasher = SHA256()
        let meta = Meta(encoder: encoder.id, modelSHA256: modelSHA256, template: encoder.template, layer: layer,
                        width: encoder.model.config.width, prefixTokens: encoder.instructionTokenCount)
        // A canonical text of everything the numbers depend on (JSON key order is not stable
        // across processes, so the key is not taken from an encoder's output).
        let identity = [meta.encoder, meta.modelSHA256, meta.template.text, "\(meta.template.enabled)", "\(layer)",
                        "\(meta.width)", "\(meta.prefixTokens)", "\(maxPromptTokens)"]
        hasher.update(Array(identity.joined(separator: "\u{1F}").utf8))
        let key = String(hasher.finalize().prefix(24))
        let folder = root.appendingPathComponent("\(encoder.id)-\(key)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let width = meta.width
        encoder.maxPromptTokens = maxPromptTokens

        let prefixPath = folder.appendingPathComponent("prefix.f32").path
        if !FileManager.default.fileExists(atPath: prefixPath) {
            let e = try encoder.encode("", layer: layer)
            try writeAtomically(Data(e.features.withUnsafeBytes { Array($0) }), to: prefixPath)
            try writeAtomically(try JSONEncoder().encode(meta), to: folder.appendingPathComponent("meta.json").path)
        }
        let prefix = try readFloats(prefixPath)

        var starts: [Int] = [], counts: [Int] = [], rows: [UInt16] = []
        let parts = (captions.count + partSize - 1) / partSize
        for part in 0..<parts {
            let range = (part * partSize)..<min(captions.count, (part + 1) * partSize)
            var partHasher = SHA256()
            for c in captions[range] { partHasher.update(Array(c.utf8)); partHasher.update([0]) }
            let name = "part-" + String(partHasher.finalize().prefix(24))
            let dataPath = folder.appendingPathComponent(name + ".f16").path
            let countPath = folder.appendingPathComponent(name + ".json").path
            if !(FileManager.default.fileExists(atPath: dataPath) && FileManager.default.fileExists(atPath: countPath)) {
                var partRows: [UInt16] = []
                var partCounts: [Int] = []
                for batchStart in stride(from: range.lowerBound, to: range.upperBound, by: 16) {
                    if shouldStop() { throw TrainingError("interrupted while computing LLM features (finished parts are kept)") }
                    let batch = Array(captions[batchStart..<min(range.upperBound, batchStart + 16)])
                    let encodings = try encoder.encode(batch, layer: layer)
                    for e in encodings {
                        let own = Array(e.features[(e.instructionTokenCount * width)...])
                        var half = [UInt16](repeating: 0, count: own.count)
                        own.withUnsafeBufferPointer { convertFloatToHalf($0.baseAddress!, &half, count: own.count) }
                        partRows += half
                        partCounts.append(own.count / width)
                    }
                    progress(batchStart + batch.count, captions.count)
                }
                try writeAtomically(Data(partRows.withUnsafeBytes { Array($0) }), to: dataPath)
                try writeAtomically(try JSONEncoder().encode(partCounts), to: countPath)
            }
            let partCounts = try JSONDecoder().decode([Int].self, from: Data(contentsOf: URL(fileURLWithPath: countPath)))
            let data = try Data(contentsOf: URL(fileURLWithPath: dataPath))
            guard partCounts.count == range.count, data.count == partCounts.reduce(0, +) * width * 2 else {
                throw TrainingError("feature cache part \(dataPath) is corrupt; delete \(folder.path) to rebuild it")
            }
            var running = rows.count / width
            for c in partCounts { starts.append(running); counts.append(c); running += c }
            var chunk = [UInt16](repeating: 0, count: data.count / 2)
            chunk.withUnsafeMutableBytes { _ = data.copyBytes(to: $0) }
            rows += chunk
            progress(range.upperBound, captions.count)
        }
        return FeatureCache(encoderID: encoder.id, width: width, prefix: prefix, starts: starts, counts: counts, rows: rows)
    }

    /// The caches of several caption lists (computed with the same encoder settings) as one,
    /// their captions in order.
    public static func concatenated(_ caches: [FeatureCache]) -> FeatureCache {
        precondition(!caches.isEmpty)
        if caches.count == 1 { return caches[0] }
        let first = caches[0]
        precondition(caches.allSatisfy { $0.encoderID == first.encoderID && $0.width == first.width && $0.prefix == first.prefix })
        var starts: [Int] = [], counts: [Int] = [], rows: [UInt16] = []
        rows.reserveCapacity(caches.reduce(0) { $0 + $1.rows.count })
        for cache in caches {
            let base = rows.count / max(first.width, 1)
            starts += cache.starts.map { $0 + base }
            counts += cache.counts
            rows += cache.rows
        }
        return FeatureCache(encoderID: first.encoderID, width: first.width, prefix: first.prefix,
                            starts: starts, counts: counts, rows: rows)
    }

    /// Prefix + caption rows for caption `index`, as Float32 ([tokens, width]).
    public func features(_ index: Int, into out: UnsafeMutablePointer<Float>) -> Int {
        prefix.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: prefix.count) }
        let n = counts[index] * width
        rows.withUnsafeBufferPointer { r in
            convertHalfToFloat(r.baseAddress! + starts[index] * width, out + prefix.count, count: n)
        }
        return prefixTokens + counts[index]
    }

    public func tokenCount(_ index: Int) -> Int { prefixTokens + counts[index] }
}

func writeAtomically(_ data: Data, to path: String) throws {
    let tmp = path + ".tmp-\(getpid())"
    do {
        try data.write(to: URL(fileURLWithPath: tmp))
        guard rename(tmp, path) == 0 else { throw TrainingError("cannot move \(tmp) to \(path)") }
    } catch let e as TrainingError { unlink(tmp); throw e } catch {
        unlink(tmp)
        throw TrainingError("writing \(path) failed (disk full?): \(error.localizedDescription)")
    }
}

func readFloats(_ path: String) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    var out = [Float](repeating: 0, count: data.count / 4)
    out.withUnsafeMutableBytes { _ = data.copyBytes(to: $0) }
    return out
}
