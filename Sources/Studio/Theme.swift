import Foundation
import TerminalGraphics

/// What a piece of the screen is, for colouring. Each theme gives every role a foreground, a
/// background and attributes; roles a theme leaves out take the base role's colours.
public enum Role: String, CaseIterable, Codable, Sendable {
    case base, title, border, borderFocus, heading, headingFocus, label, value, dim, accent
    case selection, selectionInactive, field, fieldFocus, status, error, warning, success, running
    case progress, progressEmpty, key, help
}

/// An sRGB colour or the terminal's own default.
public enum ThemeColor: Equatable, Sendable, Codable {
    case rgb(UInt8, UInt8, UInt8)
    case terminalDefault

    public init(parsing s: String) throws {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "default" || t == "none" || t.isEmpty { self = .terminalDefault; return }
        var hex = t
        if hex.hasPrefix("#") { hex.removeFirst() }
        if hex.count == 3 { hex = hex.map { "\($0)\($0)" }.joined() }
        guard hex.count == 6, let v = UInt32(hex, radix: 16) else {
            throw ThemeError("colour '\(s)' is not #rrggbb, #rgb or default")
        }
        self = .rgb(UInt8(v >> 16), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF))
    }

    public init(from decoder: Decoder) throws {
        self = try ThemeColor(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }

    public var text: String {
        switch self {
        case .terminalDefault: return "default"
        case .rgb(let r, let g, let b): return String(format: "#%02x%02x%02x", r, g, b)
        }
    }
}

public struct ThemeError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Colours and attributes of one role.
public struct RoleStyle: Equatable, Sendable, Codable {
    public var fg: ThemeColor?
    public var bg: ThemeColor?
    public var bold: Bool?
    public var underline: Bool?
    public var reverse: Bool?

    public init(fg: ThemeColor? = nil, bg: ThemeColor? = nil, bold: Bool? = nil, underline: Bool? = nil, reverse: Bool? = nil) {
        self.fg = fg; self.bg = bg; self.bold = bold; self.underline = underline; self.reverse = reverse
    }
}

/// A colour theme (`themes/NAME.json`).
public struct Theme: Equatable, Sendable, Codable {
    public var name: String
    public var description: String?
    public var roles: [String: RoleStyle]

    public init(name: String, description: String? = nil, roles: [String: RoleStyle]) {
        self.name = name; self.description = description; self.roles = roles
    }

    public static func parse(_ data: Data) throws -> Theme {
        let t: Theme
        do { t = try JSONDecoder().decode(Theme.self, from: data) } catch let e as ThemeError { throw e } catch {
            throw ThemeError("not a theme file (\(error))")
        }
        for key in t.roles.keys where Role(rawValue: key) == nil {
            throw ThemeError("unknown role '\(key)' (roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard t.roles["base"] != nil else { throw ThemeError("a theme must define the base role") }
        return t
    }

    /// The full style of a role (missing colours come from base, missing attributes are off).
    public func style(_ role: Role) -> (fg: ThemeColor, bg: ThemeColor, bold: Bool, underline: Bool, reverse: Bool) {
        let base = roles["base"] ?? RoleStyle()
        let r = roles[role.rawValue] ?? RoleStyle()
        return (r.fg ?? base.fg ?? .terminalDefault, r.bg ?? base.bg ?? .terminalDefault,
                r.bold ?? false, r.underline ?? false, r.reverse ?? false)
    }
}

/// How many colours the terminal can show through curses.
public enum ColorDepth: String, Sendable, Equatable, CaseIterable {
    /// 24-bit colour (a terminfo with direct colour, e.g. TERM=xterm-direct).
    case truecolor
    case ansi256 = "256"
    case ansi16 = "16"
    case ansi8 = "8"
    /// No colour: attributes only.
    case monochrome = "mono"

    /// From curses' COLORS (and an optional user cap such as `--colors 16`).
    public static func from(colors: Int, cap: ColorDepth? = nil) -> ColorDepth {
        let detected: ColorDepth = colors >= 0x1000000 ? .truecolor : colors >= 256 ? .ansi256 : colors >= 16 ? .ansi16 : colors >= 8 ? .ansi8 : .monochrome
        guard let cap else { return detected }
        let order: [ColorDepth] = [.monochrome, .ansi8, .ansi16, .ansi256, .truecolor]
        return order[min(order.firstIndex(of: detected)!, order.firstIndex(of: cap)!)]
    }

    /// The standard xterm colours 0–15.
    static let ansi16Palette: [(UInt8, UInt8, UInt8)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]

    /// The curses colour number for a theme colour (-1 = the terminal default).
    public func colorNumber(_ c: ThemeColor) -> Int32 {
        guard case .rgb(let r, let g, let b) = c else { return -1 }
        switch self {
        case .truecolor: return Int32(r) << 16 | Int32(g) << 8 | Int32(b)
        case .ansi256: return Int32(HalfBlockRenderer.ansi256Index(r, g, b))
        case .ansi16: return Int32(Self.nearest(r, g, b, among: 16))
        case .ansi8: return Int32(Self.nearest(r, g, b, among: 8))
        case .monochrome: return -1
        }
    }

    static func nearest(_ r: UInt8, _ g: UInt8, _ b: UInt8, among n: Int) -> Int {
        var best = 0, bestD = Int.max
        for i in 0..<n {
            let p = ansi16Palette[i]
            // Weighted distance (the eye is most sensitive to green).
            let dr = Int(p.0) - Int(r), dg = Int(p.1) - Int(g), db = Int(p.2) - Int(b)
            let d = 3 * dr * dr + 4 * dg * dg + 2 * db * db
            if d < bestD { bestD = d; best = i }
        }
        return best
    }
}

/// Finds themes: the user's folder first, then the repository's `themes/`, then the built-in
/// copies of dark, light and high-contrast.
public struct ThemeLibrary: Sendable {
    public var directories: [String]

    public init(directories: [String]) { self.directories = directories }

    /// The user's themes folder (`UserFolder.themes`), then `themes/` in the checkout the executable was built in.
    public static func standard(paths: StudioPaths) -> ThemeLibrary {
        var dirs = [paths.themesDirectory]
        if let repo = repositoryThemesDirectory() { dirs.append(repo) }
        return ThemeLibrary(directories: dirs)
    }

    static func repositoryThemesDirectory() -> String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        if let exe = Bundle.main.executableURL { dir = exe.resolvingSymlinksInPath().deletingLastPathComponent() }
        for _ in 0..<7 {
            let candidate = dir.appendingPathComponent("themes").path
            if FileManager.default.fileExists(atPath: candidate + "/dark.json") { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    /// Every theme name available, sorted (built-ins included).
    public func names() -> [String] {
        var set = Set(BuiltinThemes.all.map(\.name))
        for d in directories {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [] where f.hasSuffix(".json") {
                set.insert(String(f.dropLast(5)))
            }
        }
        let order = BuiltinThemes.all.map(\.name)
        return set.sorted { a, b in
            let ia = order.firstIndex(of: a) ?? Int.max, ib = order.firstIndex(of: b) ?? Int.max
            return ia != ib ? ia < ib : a < b
        }
    }

    /// The theme called `name` (a file name without .json).
    public func load(_ name: String) throws -> Theme {
        let clean = name.trimmingCharacters(in: .whitespaces)
        guard !clean.isEmpty, !clean.contains("/") else { throw ThemeError("'\(name)' is not a theme name") }
        for d in directories {
            let path = d + "/" + clean + ".json"
            if let data = FileManager.default.contents(atPath: path) {
                do {
                    var t = try Theme.parse(data)
                    t.name = clean
                    return t
                } catch let e as ThemeError {
                    throw ThemeError("\(path): \(e.description)")
                }
            }
        }
        if let t = BuiltinThemes.all.first(where: { $0.name == clean }) { return t }
        throw ThemeError("no theme named '\(clean)' (available: \(names().joined(separator: ", ")))")
    }
}
