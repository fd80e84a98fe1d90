import Foundation
import Sampling

/// The A1111 "infotext" (`parameters` PNG chunk) that most tools read and write:
///
///     prompt (may span lines)
///     Negative prompt: negative (may span lines; the line is absent when empty)
///     Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 64x64, Model hash: …, Model: …
///
/// Values holding `,`, `:` or a newline are written as JSON strings, as A1111's `quote` does.
public enum A1111Parameters {
    /// The parsed text: prompt, negative prompt and the `key: value` pairs in their order.
    public struct Parsed: Equatable, Sendable {
        public var prompt: String
        public var negativePrompt: String
        public var pairs: [(key: String, value: String)]

        public func value(_ key: String) -> String? { pairs.first { $0.key == key }?.value }

        public static func == (a: Parsed, b: Parsed) -> Bool {
            a.prompt == b.prompt && a.negativePrompt == b.negativePrompt
                && a.pairs.map(\.key) == b.pairs.map(\.key) && a.pairs.map(\.value) == b.pairs.map(\.value)
        }
    }

    // MARK: writing

    /// The `key: value` pairs for `settings`, A1111 keys first, in A1111's order.
    public static func pairs(for s: GenerationSettings) -> [(String, String)] {
        var p: [(String, String)] = [
            ("Steps", String(s.steps)),
            ("Sampler", s.samplerLabel),
        ]
        if let sch = s.scheduler { p.append(("Schedule type", SchedulerNames.schedulerLabel(for: sch))) }
        p.append(("CFG scale", number(s.guidanceScale)))
        p.append(("Seed", String(s.seed)))
        p.append(("Size", "\(s.width)x\(s.height)"))
        if let h = s.modelHash { p.append(("Model hash", h)) }
        if let m = s.modelID { p.append(("Model", m)) }
        if let v = s.variationSeed { p.append(("Variation seed", String(v))) }
        if let v = s.variationStrength { p.append(("Variation seed strength", number(v))) }
        if let d = s.denoisingStrength { p.append(("Denoising strength", number(d))) }
        if let i = s.initImage { p.append(("Init image", i)) }
        if !s.fusionWeights.isEmpty {
            p.append(("Fusion", s.fusionWeights.sorted { $0.key < $1.key }.map { "\($0.key)=\(number($0.value))" }
                .joined(separator: ", ")))
        }
        if !s.templates.isEmpty {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? enc.encode(s.templates) { p.append(("Templates", String(decoding: data, as: UTF8.self))) }
        }
        if let l = s.layer { p.append(("Layer", String(l))) }
        if let r = s.guidanceRescale { p.append(("CFG rescale", number(r))) }
        if let g = s.guidanceInterval { p.append(("Guidance interval", "\(number(g.runStart))-\(number(g.runEnd))")) }
        if let sh = s.shift { p.append(("Shift", number(sh))) }
        if let t = s.elapsedSeconds { p.append(("Time taken", number(t))) }
        p.append(("Created", ISO8601.format(s.created)))
        for (k, v) in s.extra.sorted(by: { $0.key < $1.key }) where !knownKeys.contains(k) { p.append((k, v)) }
        if let v = s.appVersion { p.append(("Version", "lidit \(v)")) }
        return p
    }

    /// A1111-style text for `settings`.
    public static func format(_ s: GenerationSettings) -> String {
        format(prompt: s.prompt, negativePrompt: s.negativePrompt, pairs: pairs(for: s))
    }

    public static func format(prompt: String, negativePrompt: String, pairs: [(String, String)]) -> String {
        let params = pairs.map { k, v in k == v ? k : "\(k): \(quote(v))" }.joined(separator: ", ")
        let neg = negativePrompt.isEmpty ? "" : "\nNegative prompt: \(negativePrompt)"
        return "\(prompt)\(neg)\n\(params)".trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A1111 `quote`: JSON-encode a value holding `,`, `:` or a newline.
    public static func quote(_ v: String) -> String {
        guard v.contains(",") || v.contains(":") || v.contains("\n") else { return v }
        var out = "\""
        for u in v.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// Inverse of `quote` for a `"…"` value; other values are returned unchanged.
    public static func unquote(_ v: String) -> String {
        guard v.count >= 2, v.first == "\"", v.last == "\"" else { return v }
        if let data = v.data(using: .utf8),
           let s = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? String {
            return s
        }
        return v
    }

    // MARK: reading

    /// Parses A1111 infotext the way A1111's `parse_generation_parameters` does: the last line is
    /// the parameter line only if it holds at least three `key: value` pairs; lines before
    /// `Negative prompt:` are the prompt, lines from it on the negative prompt.
    public static func parse(_ text: String) -> Parsed {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var lines = normalized.components(separatedBy: "\n")
        var last = lines.removeLast()
        var found = findPairs(last)
        if found.count < 3 {
            lines.append(last)
            last = ""
            found = []
        }
        var prompt = "", negative = ""
        var doneWithPrompt = false
        for raw in lines {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("Negative prompt:") {
                doneWithPrompt = true
                line = String(line.dropFirst("Negative prompt:".count)).trimmingCharacters(in: .whitespaces)
            }
            if doneWithPrompt {
                negative += (negative.isEmpty ? "" : "\n") + line
            } else {
                prompt += (prompt.isEmpty ? "" : "\n") + line
            }
        }
        let pairs = found.map { (key: $0.0, value: $0.1.first == "\"" && $0.1.last == "\"" ? unquote($0.1) : $0.1) }
        return Parsed(prompt: prompt, negativePrompt: negative, pairs: pairs)
    }

    /// Settings from A1111 text. Keys with no field go to `extra`.
    public static func settings(from text: String) -> GenerationSettings {
        settings(from: parse(text))
    }

    public static func settings(from parsed: Parsed) -> GenerationSettings {
        // Size 0×0 = not stated (the reader of a PNG fills in the picture's size).
        var s = GenerationSettings(prompt: parsed.prompt, negativePrompt: parsed.negativePrompt,
                                   width: 0, height: 0, created: Date(timeIntervalSince1970: 0))
        for (key, value) in parsed.pairs {
            let v = value.trimmingCharacters(in: .whitespaces)
            switch key {
            case "Steps": if let n = Int(v) { s.steps = n } else { s.extra[key] = v }
            case "Sampler":
                // A1111 labels ("Euler a"), old Karras variants ("DPM++ 2M Karras"), sd.cpp ("euler_a karras").
                if let n = SamplerKind.name(forLabel: v) {
                    s.sampler = n
                } else if v.hasSuffix(" Karras"), let n = SamplerKind.name(forLabel: String(v.dropLast(7))) {
                    s.sampler = n
                    if s.scheduler == nil { s.scheduler = "karras" }
                } else if let sp = v.firstIndex(of: " "), let n = SamplerKind.name(forLabel: String(v[..<sp])) {
                    s.sampler = n
                    s.scheduler = String(v[v.index(after: sp)...])
                } else {
                    s.sampler = v
                }
            case "Schedule type": s.scheduler = SchedulerNames.scheduler(forLabel: v)
            case "CFG scale": if let d = Double(v) { s.guidanceScale = d } else { s.extra[key] = v }
            case "Seed":
                if let n = UInt64(v) { s.seed = n } else if let n = Int64(v) { s.seed = UInt64(bitPattern: n) } else { s.extra[key] = v }
            case "Size":
                let parts = v.lowercased().split(separator: "x")
                if parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) { s.width = w; s.height = h } else { s.extra[key] = v }
            case "Model hash": s.modelHash = v
            case "Model": s.modelID = v
            case "Fusion":
                var weights: [String: Double] = [:]
                var ok = true
                for item in v.split(separator: ",") {
                    let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    if kv.count == 2, let w = Double(kv[1]) { weights[kv[0]] = w } else { ok = false }
                }
                if ok { s.fusionWeights = weights } else { s.extra[key] = v }
            case "Templates":
                if let t = try? JSONDecoder().decode([String: PromptTemplateSetting].self, from: Data(v.utf8)) {
                    s.templates = t
                } else { s.extra[key] = v }
            case "Layer": if let n = Int(v) { s.layer = n } else { s.extra[key] = v }
            case "CFG rescale": if let d = Double(v) { s.guidanceRescale = d } else { s.extra[key] = v }
            case "Guidance interval":
                let parts = v.split(separator: "-", maxSplits: 1).compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                if parts.count == 2 { s.guidanceInterval = GuidanceInterval(runStart: parts[0], runEnd: parts[1]) } else { s.extra[key] = v }
            case "Shift": if let d = Double(v) { s.shift = d } else { s.extra[key] = v }
            case "Variation seed": if let n = UInt64(v) { s.variationSeed = n } else { s.extra[key] = v }
            case "Variation seed strength": if let d = Double(v) { s.variationStrength = d } else { s.extra[key] = v }
            case "Denoising strength": if let d = Double(v) { s.denoisingStrength = d } else { s.extra[key] = v }
            case "Init image": s.initImage = v
            case "Time taken":
                let t = v.hasSuffix("s") ? String(v.dropLast()).trimmingCharacters(in: .whitespaces) : v
                if let d = Double(t) { s.elapsedSeconds = d } else { s.extra[key] = v }
            case "Created":
                if let d = ISO8601.parse(v) { s.created = d } else { s.extra[key] = v }
            case "Version":
                if v.hasPrefix("lidit ") { s.appVersion = String(v.dropFirst(6)) } else { s.extra[key] = v }
            default:
                s.extra[key] = v
            }
        }
        return s
    }

    static let knownKeys: Set<String> = [
        "Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model hash", "Model", "Fusion",
        "Templates", "Layer", "CFG rescale", "Guidance interval", "Shift", "Time taken", "Created",
        "Variation seed", "Variation seed strength", "Denoising strength", "Init image",
    ]

    /// All matches of A1111's `re_param`, `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`,
    /// scanned left to right like Python's `findall` (values still quoted).
    public static func findPairs(_ line: String) -> [(String, String)] {
        let c = Array(line.unicodeScalars)
        let n = c.count
        func isWord(_ u: Unicode.Scalar) -> Bool {
            u == "_" || u.properties.isAlphabetic || u.properties.numericType != nil
        }
        func isKeyChar(_ u: Unicode.Scalar) -> Bool { isWord(u) || u == " " || u == "-" || u == "/" }
        func isSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace }
        func str(_ a: Int, _ b: Int) -> String { String(String.UnicodeScalarView(c[a..<b])) }

        /// Where the next match can start after a failed one (see below).
        var resume = 0
        /// The last quoted value that did not match: its opening quote and where its scan stopped.
        /// A quote inside that span was escaped in it, so a scan from there runs in step to the
        /// same stop and fails too; skipping it keeps the scan linear.
        var failedQuote = (open: Int.max, stop: Int.min)
        /// Tries a match at `start`; returns (key, value, end) on success.
        func match(at start: Int) -> (String, String, Int)? {
            var i = start
            while i < n, isSpace(c[i]) { i += 1 }
            guard i < n, isWord(c[i]) else { resume = i; return nil }
            let keyStart = i
            i += 1
            while i < n, isKeyChar(c[i]) { i += 1 }
            // `[\w \-/]+` needs at least one character after the first, and the run must end at ':'.
            // (Backtracking cannot help: a shorter key would end on a key character, not ':'.)
            guard i - keyStart >= 2, i < n, c[i] == ":" else {
                // Every start up to `i` runs to the same end and fails the same way (likewise for
                // the spaces above): skipping them keeps the scan linear (100 KB of letters took
                // minutes).
                resume = i
                return nil
            }
            let key = str(keyStart, i)
            i += 1
            while i < n, isSpace(c[i]) { i += 1 }
            let valueStart = i
            // Alternative 1: a quoted string followed by ',' or the end.
            if i < n, c[i] == "\"", !(i > failedQuote.open && i < failedQuote.stop) {
                var j = i + 1
                var content = 0
                var closed = false
                while j < n {
                    if c[j] == "\\" {
                        guard j + 1 < n else { break }
                        j += 2; content += 1
                    } else if c[j] == "\"" {
                        closed = content > 0
                        break
                    } else {
                        j += 1; content += 1
                    }
                }
                if closed {
                    let end = j + 1
                    if end == n { return (key, str(valueStart, end), end) }
                    if c[end] == "," { return (key, str(valueStart, end), end + 1) }
                }
                failedQuote = (i, j < n && c[j] == "\"" ? j : n)
            }
            // Alternative 2: everything up to the next ','.
            var j = valueStart
            while j < n, c[j] != "," { j += 1 }
            return (key, str(valueStart, j), j < n ? j + 1 : j)
        }

        var out: [(String, String)] = []
        var pos = 0
        while pos <= n {
            if let (k, v, end) = match(at: pos) {
                out.append((k, v))
                pos = end > pos ? end : pos + 1
            } else {
                pos = max(pos + 1, resume)
            }
            if pos >= n { break }
        }
        return out
    }

    /// A1111 `number` formatting: integers without a fraction ("7"), others shortest ("7.5").
    static func number(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }
}
