import Foundation
import Sampling
import ImageIO

/// Where a picture's settings came from.
public enum MetadataSource: String, Codable, Sendable {
    /// This project's JSON chunk (`lidit`).
    case lidit
    /// An A1111-style `parameters` text (A1111, Forge, SD.Next, Fooocus, stable-diffusion.cpp …).
    case a1111
    /// ComfyUI's `prompt` API graph.
    case comfyui
    /// InvokeAI's `invokeai_metadata` JSON.
    case invokeai
    /// No settings found; only the size is known.
    case none
}

/// The settings stored in a PNG, read from whichever chunk is there.
public struct PictureMetadata: Sendable {
    /// The PNG text keyword holding this project's JSON.
    public static let jsonKeyword = "lidit"
    public static let parametersKeyword = "parameters"

    public var settings: GenerationSettings
    public var source: MetadataSource
    /// The raw A1111 text, when the file has one.
    public var parametersText: String?

    public init(settings: GenerationSettings, source: MetadataSource, parametersText: String?) {
        self.settings = settings
        self.source = source
        self.parametersText = parametersText
    }

    /// The PNG text chunks a gallery picture carries.
    public static func textChunks(for settings: GenerationSettings) -> [PNGText] {
        [PNGText(keyword: parametersKeyword, text: A1111Parameters.format(settings)),
         PNGText(keyword: jsonKeyword, text: settings.jsonString())]
    }

    /// Reads the settings from a decoded PNG. Priority: our JSON, A1111 text, InvokeAI, ComfyUI.
    public static func read(_ png: PNGFile) -> PictureMetadata {
        let params = png.text(parametersKeyword)
        if let json = png.text(jsonKeyword), let s = try? GenerationSettings.fromJSON(json) {
            return PictureMetadata(settings: s, source: .lidit, parametersText: params)
        }
        if let p = params, !p.isEmpty, !looksLikeJSON(p) {
            var s = A1111Parameters.settings(from: p)
            fillSize(&s, png)
            return PictureMetadata(settings: s, source: .a1111, parametersText: p)
        }
        if let inv = png.text("invokeai_metadata"), var s = invokeAI(inv) {
            fillSize(&s, png)
            return PictureMetadata(settings: s, source: .invokeai, parametersText: nil)
        }
        if let graph = png.text("prompt"), var s = comfyUI(graph) {
            fillSize(&s, png)
            return PictureMetadata(settings: s, source: .comfyui, parametersText: nil)
        }
        // Draw Things and others keep A1111-like text under other keywords.
        for key in ["Description", "Comment", "UserComment"] {
            if let t = png.text(key), !looksLikeJSON(t), A1111Parameters.parse(t).pairs.count >= 3 {
                var s = A1111Parameters.settings(from: t)
                fillSize(&s, png)
                return PictureMetadata(settings: s, source: .a1111, parametersText: t)
            }
        }
        var s = GenerationSettings(width: png.image.width, height: png.image.height, created: Date(timeIntervalSince1970: 0))
        fillSize(&s, png)
        return PictureMetadata(settings: s, source: .none, parametersText: nil)
    }

    private static func fillSize(_ s: inout GenerationSettings, _ png: PNGFile) {
        // The file's own size when the metadata does not say.
        if s.width <= 0 || s.height <= 0 {
            s.width = png.image.width
            s.height = png.image.height
        }
    }

    private static func looksLikeJSON(_ t: String) -> Bool {
        t.drop { $0.isWhitespace }.first == "{"
    }

    // MARK: InvokeAI

    static func invokeAI(_ json: String) -> GenerationSettings? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return nil }
        var s = GenerationSettings(width: 0, height: 0, created: Date(timeIntervalSince1970: 0))
        s.prompt = obj["positive_prompt"] as? String ?? ""
        s.negativePrompt = obj["negative_prompt"] as? String ?? ""
        if let v = uint(obj["seed"]) { s.seed = v }
        if let v = int(obj["steps"]) { s.steps = v }
        if let v = double(obj["cfg_scale"]) { s.guidanceScale = v }
        if let v = obj["scheduler"] as? String {
            var name = v
            if name.hasSuffix("_k") { name.removeLast(2); s.scheduler = "karras" }
            s.sampler = SamplerKind.name(forLabel: name) ?? v
        }
        if let v = int(obj["width"]) { s.width = v }
        if let v = int(obj["height"]) { s.height = v }
        if let m = obj["model"] as? [String: Any] {
            s.modelID = (m["name"] as? String) ?? (m["model_name"] as? String)
            s.modelHash = m["hash"] as? String
        } else if let m = obj["model"] as? String {
            s.modelID = m
        }
        if let g = obj["generation_mode"] as? String { s.extra["Generation mode"] = g }
        return s
    }

    // MARK: ComfyUI

    /// Walks the API graph from a sampler node to its text encoders, latent and checkpoint.
    static func comfyUI(_ json: String) -> GenerationSettings? {
        guard let graph = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return nil }
        func node(_ id: Any?) -> [String: Any]? {
            guard let link = id as? [Any], let first = link.first else { return nil }
            let key = (first as? String) ?? (first as? NSNumber).map { $0.stringValue } ?? ""
            return graph[key] as? [String: Any]
        }
        func inputs(_ n: [String: Any]?) -> [String: Any] { n?["inputs"] as? [String: Any] ?? [:] }
        /// Follows links until a node with a string `text` input (CLIPTextEncode and friends).
        func text(_ link: Any?, depth: Int = 0) -> String? {
            guard depth < 8, let n = node(link) else { return nil }
            let ins = inputs(n)
            for key in ["text", "text_g", "positive", "prompt"] {
                if let t = ins[key] as? String { return t }
            }
            for key in ["conditioning", "conditioning_1", "positive", "text"] {
                if let t = text(ins[key], depth: depth + 1) { return t }
            }
            return nil
        }
        func find(_ link: Any?, key: String, depth: Int = 0) -> Any? {
            guard depth < 8, let n = node(link) else { return nil }
            let ins = inputs(n)
            if let v = ins[key], !(v is [Any]) { return v }
            for (_, v) in ins where v is [Any] {
                if let hit = find(v, key: key, depth: depth + 1) { return hit }
            }
            return nil
        }
        let samplers = graph.compactMap { k, v -> (String, [String: Any])? in
            guard let n = v as? [String: Any], let cls = n["class_type"] as? String, cls.contains("Sampler"),
                  inputs(n)["positive"] != nil || inputs(n)["steps"] != nil else { return nil }
            return (k, n)
        }.sorted { $0.0 < $1.0 }
        guard let (_, sampler) = samplers.first else { return nil }
        let ins = inputs(sampler)
        var s = GenerationSettings(width: 0, height: 0, created: Date(timeIntervalSince1970: 0))
        s.prompt = text(ins["positive"]) ?? ""
        s.negativePrompt = text(ins["negative"]) ?? ""
        if let v = uint(ins["seed"] ?? ins["noise_seed"]) { s.seed = v }
        if let v = int(ins["steps"]) { s.steps = v }
        if let v = double(ins["cfg"]) { s.guidanceScale = v }
        if let v = ins["sampler_name"] as? String { s.sampler = SamplerKind.name(forLabel: v) ?? v }
        if let v = ins["scheduler"] as? String, v != "normal" { s.scheduler = v }
        if let w = int(find(ins["latent_image"], key: "width")), let h = int(find(ins["latent_image"], key: "height")) {
            s.width = w; s.height = h
        }
        if let m = find(ins["model"], key: "ckpt_name") as? String ?? find(ins["model"], key: "unet_name") as? String {
            s.modelID = m
        }
        return s
    }

    private static func int(_ v: Any?) -> Int? {
        if let n = v as? NSNumber { return n.intValue }
        if let s = v as? String { return Int(s) }
        return nil
    }
    private static func uint(_ v: Any?) -> UInt64? {
        if let n = v as? NSNumber { return n.uint64Value }
        if let s = v as? String { return UInt64(s) }
        return nil
    }
    private static func double(_ v: Any?) -> Double? {
        if let n = v as? NSNumber { return n.doubleValue }
        if let s = v as? String { return Double(s) }
        return nil
    }
}
