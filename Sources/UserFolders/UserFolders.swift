import Foundation

/// Every folder the tool keeps user files in, resolved in one place: the folder's own `LIDIT_*`
/// variable, then the XDG base-directory variable, then `$HOME` with the XDG default. The
/// account's home from the system (`NSHomeDirectory()`, the password database) is never used,
/// so pointing `HOME` elsewhere gives a whole clean profile; without `HOME` the working folder
/// stands in for it.
///
/// | folder | `LIDIT_*` | XDG | default |
/// |---|---|---|---|
/// | models (LLM files) | `LIDIT_MODELS` | `$XDG_CACHE_HOME/lidit/models` | `~/.cache/lidit/models` |
/// | features (training cache) | `LIDIT_FEATURES` | `$XDG_CACHE_HOME/lidit/features` | `~/.cache/lidit/features` |
/// | gallery | `LIDIT_GALLERY` | `$XDG_DATA_HOME/lidit/gallery` | `~/.local/share/lidit/gallery` |
/// | settings (studio.json, prompt history) | `LIDIT_CONFIG` | `$XDG_CONFIG_HOME/lidit` | `~/.config/lidit` |
/// | themes (the user's own) | `LIDIT_THEMES` | the settings folder + `/themes` | `~/.config/lidit/themes` |
public enum UserFolder: String, CaseIterable, Sendable {
    case models, features, gallery, settings, themes

    /// The variable that names this folder outright.
    public var variable: String {
        switch self {
        case .models: return "LIDIT_MODELS"
        case .features: return "LIDIT_FEATURES"
        case .gallery: return "LIDIT_GALLERY"
        case .settings: return "LIDIT_CONFIG"
        case .themes: return "LIDIT_THEMES"
        }
    }

    /// The folder's path (no trailing slash added, none removed from a variable's value).
    public func path(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let own = value(variable) { return own }
        let home = value("HOME") ?? FileManager.default.currentDirectoryPath
        func xdg(_ name: String, _ fallback: String) -> String { value(name) ?? home + "/" + fallback }
        switch self {
        case .models: return xdg("XDG_CACHE_HOME", ".cache") + "/lidit/models"
        case .features: return xdg("XDG_CACHE_HOME", ".cache") + "/lidit/features"
        case .gallery: return xdg("XDG_DATA_HOME", ".local/share") + "/lidit/gallery"
        case .settings: return xdg("XDG_CONFIG_HOME", ".config") + "/lidit"
        case .themes: return UserFolder.settings.path(environment: env) + "/themes"
        }
    }

    public func url(environment env: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        URL(fileURLWithPath: path(environment: env))
    }
}
