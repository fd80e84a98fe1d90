import Foundation

/// The sampling algorithms, named as stable-diffusion.cpp's `--sampling-method` spells them
/// (the raw value) and labelled as AUTOMATIC1111 shows them (`displayName`, also what its
/// "Sampler:" infotext key carries).
public enum SamplerKind: String, CaseIterable, Sendable {
    case euler
    case eulerAncestral = "euler_a"
    case heun
    case dpmpp2m = "dpm++2m"
    case ddim
    case unipc
    case lcm

    public var displayName: String {
        switch self {
        case .euler: "Euler"
        case .eulerAncestral: "Euler a"
        case .heun: "Heun"
        case .dpmpp2m: "DPM++ 2M"
        case .ddim: "DDIM"
        case .unipc: "UniPC"
        case .lcm: "LCM"
        }
    }

    /// Other spellings users paste from elsewhere, or that pictures of other tools carry: ComfyUI's
    /// `sampler_name`s, InvokeAI's `k_` names and sd.cpp's `ddim_trailing` (its DDIM already uses a
    /// trailing, σ-ending-at-0 schedule like ours).
    var aliases: [String] {
        switch self {
        case .euler: ["k_euler"]
        case .eulerAncestral: ["euler_ancestral", "k_euler_a"]
        case .heun: ["k_heun"]
        case .dpmpp2m: ["dpmpp_2m", "dpm++2mv2"]
        case .ddim: ["ddim_trailing"]
        case .unipc: ["uni_pc", "uni_pc_bh2"]
        case .lcm: []
        }
    }

    /// Parses a raw name, a display label or an alias, ignoring case and surrounding spaces.
    public init(parsing name: String) throws {
        let key = name.trimmingCharacters(in: .whitespaces).lowercased()
        let match = Self.allCases.first { kind in
            ([kind.rawValue, kind.displayName.lowercased()] + kind.aliases).contains(key)
        }
        guard let match else { throw SamplingError.unknownSampler(name) }
        self = match
    }

    /// The A1111 label for a sampler name as stored in settings ("Euler a" for "euler_a"); a name
    /// of a sampler this program does not have (from another tool's picture) is its own label.
    public static func label(forName name: String) -> String {
        (try? SamplerKind(parsing: name))?.displayName ?? name
    }

    /// The stored name for a label or any spelling ("euler_a" for "Euler a"); nil if unknown.
    public static func name(forLabel label: String) -> String? {
        (try? SamplerKind(parsing: label))?.rawValue
    }

    /// Valid names for error messages and help texts: `euler (Euler), euler_a (Euler a), …`.
    public static var validNames: String {
        allCases.map { "\($0.rawValue) (\($0.displayName))" }.joined(separator: ", ")
    }

    /// Whether the sampler reads η (the amount of fresh noise injected per step).
    public var usesEta: Bool { self == .eulerAncestral || self == .ddim }

    /// η when the user gives none: Euler a is fully ancestral, DDIM deterministic.
    public var defaultEta: Double { self == .eulerAncestral ? 1 : 0 }

    /// Network evaluations for a run of `steps` steps without guidance (twice the rows with it).
    public func modelEvaluations(steps: Int) -> Int {
        self == .heun ? 2 * steps - 1 : steps
    }
}
