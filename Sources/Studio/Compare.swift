import Gallery

/// A/B compare (issue 26): two finished pictures side by side in the preview, with the settings
/// that differ listed, so that an encoder change (fusion weight, template, layer) or any other
/// can be judged at a glance.
public struct ABCompare: Equatable, Sendable {
    public struct Side: Equatable, Sendable {
        /// "#3" for a queue job, the short id for a gallery picture.
        public var label: String
        public var ref: PictureRef
        public var settings: GenerationSettings
        public init(label: String, ref: PictureRef, settings: GenerationSettings) {
            self.label = label; self.ref = ref; self.settings = settings
        }
    }

    public var a: Side
    public var b: Side?

    public init(a: Side, b: Side? = nil) { self.a = a; self.b = b }

    /// "name: A → B" for every setting that differs, encoder knobs per encoder.
    public static func differences(_ a: GenerationSettings, _ b: GenerationSettings) -> [String] {
        var out: [String] = []
        func diff(_ name: String, _ x: String, _ y: String) { if x != y { out.append("\(name): \(x) → \(y)") } }
        func number(_ v: Double?) -> String { v.map { $0 == $0.rounded() && abs($0) < 1e9 ? String(Int($0)) : String($0) } ?? "-" }
        diff("prompt", a.prompt, b.prompt)
        diff("negative", a.negativePrompt, b.negativePrompt)
        for id in Set(a.fusionWeights.keys).union(b.fusionWeights.keys).sorted() {
            diff("fusion \(id)", number(a.fusionWeights[id] ?? 1), number(b.fusionWeights[id] ?? 1))
        }
        for id in Set(a.templates.keys).union(b.templates.keys).sorted() {
            func on(_ t: PromptTemplateSetting?) -> String { (t?.instruction ?? true) ? "on" : "off" }
            diff("template \(id)", on(a.templates[id]), on(b.templates[id]))
        }
        diff("layer", a.layer.map(String.init) ?? "-", b.layer.map(String.init) ?? "-")
        diff("layers", a.extra["Layers"] ?? "-", b.extra["Layers"] ?? "-")
        diff("sampler", a.samplerLabel, b.samplerLabel)
        diff("steps", String(a.steps), String(b.steps))
        diff("cfg", number(a.guidanceScale), number(b.guidanceScale))
        diff("cfg rescale", number(a.guidanceRescale), number(b.guidanceRescale))
        diff("shift", number(a.shift), number(b.shift))
        diff("seed", String(a.seed), String(b.seed))
        diff("variation seed", a.variationSeed.map(String.init) ?? "-", b.variationSeed.map(String.init) ?? "-")
        diff("start picture", a.initImage ?? "-", b.initImage ?? "-")
        diff("model", a.modelID ?? "-", b.modelID ?? "-")
        return out
    }
}
