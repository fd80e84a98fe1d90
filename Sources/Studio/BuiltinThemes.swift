import Foundation

/// Copies of `themes/dark.json`, `light.json` and `high-contrast.json`, so the studio has its
/// themes when installed away from the repository (a test keeps them identical to the files).
enum BuiltinThemes {
    static let darkJSON = #"""
    {
      "name": "dark",
      "description": "Light text on a deep blue-black background (the default).",
      "roles": {
        "base": { "fg": "#c0caf5", "bg": "#1a1b26" },
        "title": { "fg": "#1a1b26", "bg": "#7aa2f7", "bold": true },
        "border": { "fg": "#3b4261" },
        "borderFocus": { "fg": "#7aa2f7", "bold": true },
        "heading": { "fg": "#7982a9", "bold": true },
        "headingFocus": { "fg": "#7dcfff", "bold": true },
        "label": { "fg": "#7982a9" },
        "value": { "fg": "#c0caf5", "bold": true },
        "dim": { "fg": "#565f89" },
        "accent": { "fg": "#bb9af7" },
        "selection": { "fg": "#1a1b26", "bg": "#7aa2f7" },
        "selectionInactive": { "fg": "#c0caf5", "bg": "#2f3549" },
        "field": { "fg": "#c0caf5", "bg": "#1f2335" },
        "fieldFocus": { "fg": "#e0e6ff", "bg": "#292e42" },
        "status": { "fg": "#a9b1d6", "bg": "#16161e" },
        "error": { "fg": "#f7768e", "bold": true },
        "warning": { "fg": "#e0af68" },
        "success": { "fg": "#9ece6a" },
        "running": { "fg": "#7dcfff", "bold": true },
        "progress": { "fg": "#7aa2f7" },
        "progressEmpty": { "fg": "#3b4261" },
        "key": { "fg": "#e0af68", "bold": true },
        "help": { "fg": "#c0caf5", "bg": "#24283b" }
      }
    }
    """#
    static let lightJSON = #"""
    {
      "name": "light",
      "description": "Dark text on an off-white background.",
      "roles": {
        "base": { "fg": "#383a42", "bg": "#fafafa" },
        "title": { "fg": "#fafafa", "bg": "#4078f2", "bold": true },
        "border": { "fg": "#c2c3c9" },
        "borderFocus": { "fg": "#4078f2", "bold": true },
        "heading": { "fg": "#696c77", "bold": true },
        "headingFocus": { "fg": "#0184bc", "bold": true },
        "label": { "fg": "#696c77" },
        "value": { "fg": "#383a42", "bold": true },
        "dim": { "fg": "#a0a1a7" },
        "accent": { "fg": "#a626a4" },
        "selection": { "fg": "#fafafa", "bg": "#4078f2" },
        "selectionInactive": { "fg": "#383a42", "bg": "#e0e1e6" },
        "field": { "fg": "#383a42", "bg": "#f0f0f1" },
        "fieldFocus": { "fg": "#202227", "bg": "#ffffff" },
        "status": { "fg": "#383a42", "bg": "#e5e5e6" },
        "error": { "fg": "#e45649", "bold": true },
        "warning": { "fg": "#c18401" },
        "success": { "fg": "#50a14f" },
        "running": { "fg": "#0184bc", "bold": true },
        "progress": { "fg": "#4078f2" },
        "progressEmpty": { "fg": "#d0d0d8" },
        "key": { "fg": "#986801", "bold": true },
        "help": { "fg": "#383a42", "bg": "#f0f0f1" }
      }
    }
    """#
    static let highContrastJSON = #"""
    {
      "name": "high-contrast",
      "description": "Pure white, yellow and cyan on black; focus and selection never rely on colour alone.",
      "roles": {
        "base": { "fg": "#ffffff", "bg": "#000000" },
        "title": { "fg": "#000000", "bg": "#ffff00", "bold": true },
        "border": { "fg": "#ffffff" },
        "borderFocus": { "fg": "#ffff00", "bold": true },
        "heading": { "fg": "#ffffff", "bold": true },
        "headingFocus": { "fg": "#ffff00", "bold": true, "underline": true },
        "label": { "fg": "#ffffff" },
        "value": { "fg": "#ffffff", "bold": true },
        "dim": { "fg": "#c0c0c0" },
        "accent": { "fg": "#00ffff" },
        "selection": { "fg": "#000000", "bg": "#ffff00", "bold": true },
        "selectionInactive": { "fg": "#000000", "bg": "#ffffff" },
        "field": { "fg": "#ffffff", "bg": "#000000" },
        "fieldFocus": { "fg": "#ffffff", "bg": "#000000", "bold": true },
        "status": { "fg": "#000000", "bg": "#ffffff" },
        "error": { "fg": "#ff5555", "bold": true },
        "warning": { "fg": "#ffff00", "bold": true },
        "success": { "fg": "#00ff00", "bold": true },
        "running": { "fg": "#00ffff", "bold": true },
        "progress": { "fg": "#00ff00" },
        "progressEmpty": { "fg": "#808080" },
        "key": { "fg": "#ffff00", "bold": true },
        "help": { "fg": "#ffffff", "bg": "#000000" }
      }
    }
    """#

    static let all: [Theme] = [darkJSON, lightJSON, highContrastJSON].map { json in
        // The JSON is fixed at build time and checked by the tests.
        (try? Theme.parse(Data(json.utf8))) ?? Theme(name: "plain", roles: ["base": RoleStyle()])
    }
}
