import Foundation
import Sampling

/// The instruction template used for one text encoder.
public struct PromptTemplateSetting: Codable, Equatable, Sendable {
    /// Whether the instruction (system/chat) template wraps the prompt.
    public var instruction: Bool
    /// The template text, if one other than the encoder's default was used.
    public var text: String?

    public init(instruction: Bool, text: String? = nil) {
        self.instruction = instruction
        self.text = text
    }
}

extension GuidanceInterval {
    /// The interval as fractions of the run, the way the gallery and A1111's "Guidance interval"
    /// store it: σ runs from 1 (noise) to 0, so σ in low…high is the fraction 1−high … 1−low.
    public var runStart: Double { 1 - high }
    public var runEnd: Double { 1 - low }
    public init(runStart: Double, runEnd: Double) { self.init(low: 1 - runEnd, high: 1 - runStart) }
}

/// The stored form of a guidance interval: `{"start": …, "end": …}`, fractions of the run.
private struct RunFractions: Codable {
    var start: Double, end: Double
}

/// Every setting that produced one picture. Stored as JSON in each gallery PNG (the `lidit` chunk)
/// and, in A1111 form, in the `parameters` chunk. Unknown JSON keys are ignored on read and
/// missing ones take defaults, so the type can grow without breaking old files.
public struct GenerationSettings: Codable, Equatable, Sendable {
    public var prompt: String
    public var negativePrompt: String
    public var seed: UInt64
    public var steps: Int
    public var guidanceScale: Double
    /// Sampler as stable-diffusion.cpp spells it (`euler_a`, `SamplerKind`'s raw value).
    /// A name that is not in the table is kept as written.
    public var sampler: String
    /// Noise schedule (`karras`, `simple`, …), if not the sampler's default.
    public var scheduler: String?
    public var width: Int
    public var height: Int
    /// Per-encoder fusion weights, e.g. `["smollm2": 1, "gemma3": 1]`.
    public var fusionWeights: [String: Double]
    /// Per-encoder instruction template.
    public var templates: [String: PromptTemplateSetting]
    /// Hidden-state layer taken from the LLMs (HF `hidden_states` indexing; negative = from the end).
    public var layer: Int?
    public var modelID: String?
    public var modelHash: String?
    public var guidanceRescale: Double?
    public var guidanceInterval: GuidanceInterval?
    /// Timestep shift of the flow-matching schedule.
    public var shift: Double?
    /// img2img: the start picture (a path, or a gallery file name) and how much of the schedule
    /// ran from it (A1111 "Denoising strength": 1 = from pure noise).
    public var initImage: String?
    public var denoisingStrength: Double?
    /// A1111 variation seed: the noise of `seed` slerped towards this seed's by `variationStrength`.
    public var variationSeed: UInt64?
    public var variationStrength: Double?
    /// Seconds the generation took.
    public var elapsedSeconds: Double?
    /// When the picture was made (kept to whole milliseconds so every format round-trips it).
    public var created: Date {
        didSet { created = Self.roundedToMilliseconds(created) }
    }
    public var appVersion: String?
    /// Settings that have no field here (keys of foreign A1111 strings, for instance), as text.
    public var extra: [String: String]

    public init(prompt: String = "", negativePrompt: String = "", seed: UInt64 = 0, steps: Int = 20,
                guidanceScale: Double = 7, sampler: String = "euler_a", scheduler: String? = nil,
                width: Int = 64, height: Int = 64, fusionWeights: [String: Double] = [:],
                templates: [String: PromptTemplateSetting] = [:], layer: Int? = nil,
                modelID: String? = nil, modelHash: String? = nil, guidanceRescale: Double? = nil,
                guidanceInterval: GuidanceInterval? = nil, shift: Double? = nil, elapsedSeconds: Double? = nil,
                created: Date = Date(), appVersion: String? = nil, extra: [String: String] = [:]) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.seed = seed
        self.steps = steps
        self.guidanceScale = guidanceScale
        self.sampler = sampler
        self.scheduler = scheduler
        self.width = width
        self.height = height
        self.fusionWeights = fusionWeights
        self.templates = templates
        self.layer = layer
        self.modelID = modelID
        self.modelHash = modelHash
        self.guidanceRescale = guidanceRescale
        self.guidanceInterval = guidanceInterval
        self.shift = shift
        self.elapsedSeconds = elapsedSeconds
        self.created = Self.roundedToMilliseconds(created)
        self.appVersion = appVersion
        self.extra = extra
    }

    /// The A1111 label of `sampler` ("Euler a" for "euler_a").
    public var samplerLabel: String { SamplerKind.label(forName: sampler) }

    static func roundedToMilliseconds(_ d: Date) -> Date {
        Date(timeIntervalSince1970: (d.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    // MARK: Codable (tolerant: every key optional)

    enum CodingKeys: String, CodingKey {
        case prompt, negativePrompt, seed, steps, guidanceScale, sampler, scheduler, width, height
        case fusionWeights, templates, layer, modelID, modelHash, guidanceRescale, guidanceInterval, shift
        case initImage, denoisingStrength, variationSeed, variationStrength
        case elapsedSeconds, created, appVersion, extra
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GenerationSettings(created: Date(timeIntervalSince1970: 0))
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt) ?? d.prompt
        negativePrompt = try c.decodeIfPresent(String.self, forKey: .negativePrompt) ?? d.negativePrompt
        if let s = try? c.decodeIfPresent(UInt64.self, forKey: .seed) {
            seed = s
        } else if let s = try? c.decodeIfPresent(String.self, forKey: .seed), let v = UInt64(s) {
            seed = v
        } else {
            seed = d.seed
        }
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? d.steps
        guidanceScale = try c.decodeIfPresent(Double.self, forKey: .guidanceScale) ?? d.guidanceScale
        sampler = try c.decodeIfPresent(String.self, forKey: .sampler) ?? d.sampler
        scheduler = try c.decodeIfPresent(String.self, forKey: .scheduler)
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? d.width
        height = try c.decodeIfPresent(Int.self, forKey: .height) ?? d.height
        fusionWeights = try c.decodeIfPresent([String: Double].self, forKey: .fusionWeights) ?? [:]
        templates = try c.decodeIfPresent([String: PromptTemplateSetting].self, forKey: .templates) ?? [:]
        layer = try c.decodeIfPresent(Int.self, forKey: .layer)
        modelID = try c.decodeIfPresent(String.self, forKey: .modelID)
        modelHash = try c.decodeIfPresent(String.self, forKey: .modelHash)
        guidanceRescale = try c.decodeIfPresent(Double.self, forKey: .guidanceRescale)
        guidanceInterval = try c.decodeIfPresent(RunFractions.self, forKey: .guidanceInterval).map { GuidanceInterval(runStart: $0.start, runEnd: $0.end) }
        shift = try c.decodeIfPresent(Double.self, forKey: .shift)
        initImage = try c.decodeIfPresent(String.self, forKey: .initImage)
        denoisingStrength = try c.decodeIfPresent(Double.self, forKey: .denoisingStrength)
        variationSeed = try c.decodeIfPresent(UInt64.self, forKey: .variationSeed)
        variationStrength = try c.decodeIfPresent(Double.self, forKey: .variationStrength)
        elapsedSeconds = try c.decodeIfPresent(Double.self, forKey: .elapsedSeconds)
        if let s = try c.decodeIfPresent(String.self, forKey: .created), let date = ISO8601.parse(s) {
            created = Self.roundedToMilliseconds(date)
        } else {
            created = d.created
        }
        appVersion = try c.decodeIfPresent(String.self, forKey: .appVersion)
        extra = try c.decodeIfPresent([String: String].self, forKey: .extra) ?? [:]
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(prompt, forKey: .prompt)
        try c.encode(negativePrompt, forKey: .negativePrompt)
        try c.encode(seed, forKey: .seed)
        try c.encode(steps, forKey: .steps)
        try c.encode(guidanceScale, forKey: .guidanceScale)
        try c.encode(sampler, forKey: .sampler)
        try c.encodeIfPresent(scheduler, forKey: .scheduler)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(fusionWeights, forKey: .fusionWeights)
        try c.encode(templates, forKey: .templates)
        try c.encodeIfPresent(layer, forKey: .layer)
        try c.encodeIfPresent(modelID, forKey: .modelID)
        try c.encodeIfPresent(modelHash, forKey: .modelHash)
        try c.encodeIfPresent(guidanceRescale, forKey: .guidanceRescale)
        try c.encodeIfPresent(guidanceInterval.map { RunFractions(start: $0.runStart, end: $0.runEnd) }, forKey: .guidanceInterval)
        try c.encodeIfPresent(shift, forKey: .shift)
        try c.encodeIfPresent(initImage, forKey: .initImage)
        try c.encodeIfPresent(denoisingStrength, forKey: .denoisingStrength)
        try c.encodeIfPresent(variationSeed, forKey: .variationSeed)
        try c.encodeIfPresent(variationStrength, forKey: .variationStrength)
        try c.encodeIfPresent(elapsedSeconds, forKey: .elapsedSeconds)
        try c.encode(ISO8601.format(created), forKey: .created)
        try c.encodeIfPresent(appVersion, forKey: .appVersion)
        if !extra.isEmpty { try c.encode(extra, forKey: .extra) }
    }

    /// The JSON stored in the gallery PNG's `lidit` chunk (sorted keys, UTF-8 kept as is).
    public func jsonString() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain value types cannot fail.
        let data = (try? enc.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> GenerationSettings {
        try JSONDecoder().decode(GenerationSettings.self, from: Data(text.utf8))
    }
}

/// sd.cpp scheduler names ↔ A1111 "Schedule type" labels (sampler names are `SamplerKind`'s).
public enum SchedulerNames {
    /// A1111 "Schedule type" labels for sd.cpp scheduler names.
    static let schedulerLabels: [(name: String, label: String)] = [
        ("discrete", "Automatic"), ("karras", "Karras"), ("exponential", "Exponential"),
        ("sgm_uniform", "SGM Uniform"), ("simple", "Simple"), ("ays", "Align Your Steps"),
        ("kl_optimal", "KL Optimal"), ("beta", "Beta"), ("normal", "Normal"), ("uniform", "Uniform"),
    ]

    public static func schedulerLabel(for name: String) -> String {
        schedulerLabels.first { $0.name == name }?.label ?? name
    }

    public static func scheduler(forLabel label: String) -> String {
        schedulerLabels.first { $0.label.lowercased() == label.lowercased() }?.name ?? label
    }
}

/// ISO 8601 in UTC with milliseconds ("2026-11-27T20:15:00.123Z"), without Foundation formatters
/// (which are not Sendable and vary between platforms).
enum ISO8601 {
    static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var secs = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let frac = Int(ms - Int64(secs) * 1000)
        var tm = tm()
        gmtime_r(&secs, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1,
                      Int(tm.tm_mday), Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec), frac)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`; no zone means UTC.
    static func parse(_ s: String) -> Date? {
        let b = Array(s.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var v = 0
            for i in from..<(from + len) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 19, let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let se = num(17, 2),
              b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 32, b[13] == 58, b[16] == 58 else { return nil }
        var i = 19
        var frac = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            while i < b.count, b[i] >= 48, b[i] <= 57 { frac += Double(b[i] - 48) * scale; scale /= 10; i += 1 }
        }
        var offset = 0
        if i < b.count {
            if b[i] == 90 { i += 1 } else if b[i] == 43 || b[i] == 45, let oh = num(i + 1, 2) {
                let om = (i + 3 < b.count && b[i + 3] == 58) ? (num(i + 4, 2) ?? 0) : (num(i + 3, 2) ?? 0)
                offset = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
                i = b.count
            }
        }
        var t = tm()
        t.tm_year = Int32(y - 1900); t.tm_mon = Int32(mo - 1); t.tm_mday = Int32(d)
        t.tm_hour = Int32(h); t.tm_min = Int32(mi); t.tm_sec = Int32(se)
        let secs = timegm(&t)
        return Date(timeIntervalSince1970: Double(secs - offset) + frac)
    }
}
