import Foundation
import UserFolders
import Sampling

/// How the seed of the next generation is chosen.
public enum SeedMode: String, Codable, CaseIterable, Sendable {
    /// A fresh random seed each time (shown in the settings once drawn, so it can be kept).
    case random
    /// The same seed every time.
    case fixed
    /// The seed, then the seed plus the image count, and so on.
    case increment
}

/// Everything the studio remembers between runs (`studio.json`): generation settings, encoder
/// knobs, preview throttling, live mode, the theme, and the last prompt.
public struct StudioSettings: Codable, Equatable, Sendable {
    public var sampler: String = SamplerKind.euler.rawValue
    public var steps: Int = 24
    public var guidanceScale: Double = 4
    public var shift: Double = 1
    public var guidanceRescale: Double = 0
    /// Guidance applies for σ in low…high (1 is pure noise); 0…1 = every step.
    public var guidanceLow: Double = 0
    public var guidanceHigh: Double = 1
    /// nil = the sampler's default.
    public var eta: Double? = nil
    public var seedMode: SeedMode = .random
    public var seed: UInt64 = 42
    public var count: Int = 1
    /// A preview every N steps (0 = no previews).
    public var previewEvery: Int = 1
    /// At most one preview per this many milliseconds (for slow links).
    public var previewMinInterval: Int = 100
    /// Live mode (F6): a few-step picture of the form after each pause in editing (`LivePreview`).
    public var livePreview: Bool = false
    public var theme: String = "dark"
    /// Per encoder id.
    public var fusionWeights: [String: Double] = [:]
    public var templateEnabled: [String: Bool] = [:]
    public var layers: [String: Int] = [:]
    public var lastPrompt: String = ""
    public var lastNegativePrompt: String = ""
    /// img2img strength used with a start picture (0 = the picture back, 1 = from pure noise).
    public var startStrength: Double = 0.6
    /// How far variations move from their picture's seed (A1111 "Variation seed strength").
    public var variationStrength: Double = 0.2

    public init() {}

    public static let stepsRange = 1...200
    public static let countRange = 1...16
    public static let previewEveryRange = 0...100
    public static let previewIntervalRange = 0...5000
    public static let fusionRange = 0.0...4.0

    public var samplerKind: SamplerKind { (try? SamplerKind(parsing: sampler)) ?? .euler }

    public var samplerSettings: SamplerSettings {
        SamplerSettings(sampler: samplerKind, steps: steps, shift: shift, guidanceScale: guidanceScale,
                        guidanceRescale: guidanceRescale,
                        guidanceInterval: GuidanceInterval(low: guidanceLow, high: guidanceHigh),
                        eta: samplerKind.usesEta ? eta : nil)
    }

    /// Brings every value into its valid range (a hand-edited file cannot break the studio).
    public mutating func clamp() {
        sampler = samplerKind.rawValue
        steps = min(max(steps, Self.stepsRange.lowerBound), Self.stepsRange.upperBound)
        if !guidanceScale.isFinite { guidanceScale = 4 }
        guidanceScale = min(max(guidanceScale, SamplerSettings.guidanceScaleRange.lowerBound), SamplerSettings.guidanceScaleRange.upperBound)
        if !(shift.isFinite && shift > 0) { shift = 1 }
        shift = min(shift, 20)
        if !guidanceRescale.isFinite { guidanceRescale = 0 }
        guidanceRescale = min(max(guidanceRescale, 0), 1)
        if !guidanceLow.isFinite { guidanceLow = 0 }
        if !guidanceHigh.isFinite { guidanceHigh = 1 }
        guidanceLow = min(max(guidanceLow, 0), 1)
        guidanceHigh = min(max(guidanceHigh, guidanceLow), 1)
        if let e = eta, !(e.isFinite && e >= 0) { eta = nil }
        if let e = eta { eta = min(e, 2) }
        count = min(max(count, Self.countRange.lowerBound), Self.countRange.upperBound)
        previewEvery = min(max(previewEvery, Self.previewEveryRange.lowerBound), Self.previewEveryRange.upperBound)
        previewMinInterval = min(max(previewMinInterval, Self.previewIntervalRange.lowerBound), Self.previewIntervalRange.upperBound)
        for (k, v) in fusionWeights { fusionWeights[k] = v.isFinite ? min(max(v, 0), 4) : 1 }
        if lastPrompt.utf8.count > 20_000 { lastPrompt = "" }
        if lastNegativePrompt.utf8.count > 20_000 { lastNegativePrompt = "" }
        startStrength = startStrength.isFinite ? min(max(startStrength, 0), 1) : 0.6
        variationStrength = variationStrength.isFinite ? min(max(variationStrength, 0), 1) : 0.2
    }

    // Tolerant decoding: missing keys take defaults, so old files keep working.
    enum CodingKeys: String, CodingKey {
        case sampler, steps, guidanceScale, shift, guidanceRescale, guidanceLow, guidanceHigh, eta, seedMode, seed, count
        case previewEvery, previewMinInterval, livePreview, theme, fusionWeights, templateEnabled, layers, lastPrompt, lastNegativePrompt
        case startStrength, variationStrength
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = StudioSettings()
        func get<T: Decodable>(_ k: CodingKeys, _ fallback: T) -> T { ((try? c.decodeIfPresent(T.self, forKey: k)) ?? nil) ?? fallback }
        sampler = get(.sampler, d.sampler)
        steps = get(.steps, d.steps)
        guidanceScale = get(.guidanceScale, d.guidanceScale)
        shift = get(.shift, d.shift)
        guidanceRescale = get(.guidanceRescale, d.guidanceRescale)
        guidanceLow = get(.guidanceLow, d.guidanceLow)
        guidanceHigh = get(.guidanceHigh, d.guidanceHigh)
        eta = (try? c.decodeIfPresent(Double.self, forKey: .eta)) ?? nil
        seedMode = get(.seedMode, d.seedMode)
        seed = get(.seed, d.seed)
        count = get(.count, d.count)
        previewEvery = get(.previewEvery, d.previewEvery)
        previewMinInterval = get(.previewMinInterval, d.previewMinInterval)
        livePreview = get(.livePreview, d.livePreview)
        theme = get(.theme, d.theme)
        fusionWeights = get(.fusionWeights, d.fusionWeights)
        templateEnabled = get(.templateEnabled, d.templateEnabled)
        layers = get(.layers, d.layers)
        startStrength = get(.startStrength, d.startStrength)
        variationStrength = get(.variationStrength, d.variationStrength)
        lastPrompt = get(.lastPrompt, d.lastPrompt)
        lastNegativePrompt = get(.lastNegativePrompt, d.lastNegativePrompt)
        clamp()
    }
}

/// Where the studio keeps its files: the settings folder (`$LIDIT_CONFIG`, else
/// `$XDG_CONFIG_HOME/lidit`, else `~/.config/lidit`) and the user's themes (`$LIDIT_THEMES`, else
/// `themes/` in the settings folder); see `UserFolder`.
public struct StudioPaths: Sendable, Equatable {
    public var configDirectory: String
    public var themesDirectory: String

    public init(configDirectory: String, themesDirectory: String? = nil) {
        self.configDirectory = configDirectory
        self.themesDirectory = themesDirectory ?? configDirectory + "/themes"
    }

    public static func standard(environment env: [String: String] = ProcessInfo.processInfo.environment) -> StudioPaths {
        StudioPaths(configDirectory: UserFolder.settings.path(environment: env),
                    themesDirectory: UserFolder.themes.path(environment: env))
    }

    public var settingsFile: String { configDirectory + "/studio.json" }
    public var historyFile: String { configDirectory + "/prompt-history.jsonl" }

    /// Where a damaged settings file is kept before the defaults replace it.
    public var settingsBackupFile: String { settingsFile + ".bak" }

    /// The saved settings, or defaults (with a note) when the file is missing or unreadable. A
    /// damaged file is copied to `studio.json.bak` first, so saving the defaults on exit does not
    /// destroy what the user may want to repair.
    public func loadSettings() -> (StudioSettings, String?) {
        guard let data = FileManager.default.contents(atPath: settingsFile) else { return (StudioSettings(), nil) }
        do {
            return (try JSONDecoder().decode(StudioSettings.self, from: data), nil)
        } catch {
            let kept = (try? data.write(to: URL(fileURLWithPath: settingsBackupFile), options: .atomic)) != nil
            return (StudioSettings(), "\(settingsFile) is not valid settings; "
                    + (kept ? "kept as \((settingsBackupFile as NSString).lastPathComponent), " : "") + "using defaults")
        }
    }

    /// Writes atomically (temp file + rename).
    public func saveSettings(_ s: StudioSettings) throws {
        try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try enc.encode(s).write(to: URL(fileURLWithPath: settingsFile), options: .atomic)
    }
}

/// Prompts that were queued, oldest first, kept in a JSON-lines file that survives the gallery
/// (deleting a picture never loses its prompt).
public struct PromptHistory: Equatable, Sendable {
    public struct Item: Codable, Equatable, Sendable {
        public var prompt: String
        public var negative: String
        public init(prompt: String, negative: String = "") { self.prompt = prompt; self.negative = negative }
    }

    public private(set) var items: [Item] = []
    public static let limit = 1000

    public init(items: [Item] = []) { self.items = Array(items.suffix(Self.limit)) }

    /// Adds an item (moving an identical earlier one to the end); returns false when unchanged.
    @discardableResult
    public mutating func add(_ item: Item) -> Bool {
        guard !item.prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return false }
        if items.last == item { return false }
        items.removeAll { $0 == item }
        items.append(item)
        if items.count > Self.limit { items.removeFirst(items.count - Self.limit) }
        return true
    }

    public static func load(path: String) -> PromptHistory {
        guard let data = FileManager.default.contents(atPath: path) else { return PromptHistory() }
        let dec = JSONDecoder()
        var h = PromptHistory()
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            if let item = try? dec.decode(Item.self, from: Data(line)) { h.add(item) }
        }
        return h
    }

    /// Rewrites the file (atomically) with every item, one JSON object per line.
    public func save(path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for item in items {
            out.append(try enc.encode(item))
            out.append(UInt8(ascii: "\n"))
        }
        try out.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
