import Foundation

/// Reads back what a terminal would get for kitty and iTerm2 pictures: tmux passthrough
/// unwrapped, kitty APC commands (keys and payload) and iTerm2 OSC 1337 files.
struct InlineImageDecoder {
    struct KittyCommand { var keys: [String: String]; var payload: String }
    var kitty: [KittyCommand] = []
    /// iTerm2 files: their parameters and decoded bytes.
    var iterm: [(parameters: [String: String], data: Data)] = []
    /// Text outside any picture sequence (cursor moves, newlines).
    var rest = ""
    /// How many tmux passthrough packets the text held.
    var passthroughPackets = 0

    init(_ text: String) {
        let plain = Self.unwrapTmux(Array(text.unicodeScalars), packets: &passthroughPackets)
        var i = 0
        func starts(_ p: String, at j: Int) -> Bool {
            let u = Array(p.unicodeScalars)
            return j + u.count <= plain.count && Array(plain[j..<(j + u.count)]) == u
        }
        while i < plain.count {
            if starts("\u{1B}_G", at: i) {
                var j = i + 3, body = ""
                while j < plain.count, !starts("\u{1B}\\", at: j) { body.unicodeScalars.append(plain[j]); j += 1 }
                let parts = body.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
                var keys: [String: String] = [:]
                for kv in parts[0].split(separator: ",") {
                    let p = kv.split(separator: "=", maxSplits: 1)
                    if p.count == 2 { keys[String(p[0])] = String(p[1]) }
                }
                kitty.append(KittyCommand(keys: keys, payload: parts.count > 1 ? String(parts[1]) : ""))
                i = j + 2
            } else if starts("\u{1B}]1337;File=", at: i) {
                var j = i + 12, body = ""
                while j < plain.count, plain[j] != "\u{07}" { body.unicodeScalars.append(plain[j]); j += 1 }
                let parts = body.split(separator: ":", maxSplits: 1)
                var params: [String: String] = [:]
                for kv in parts[0].split(separator: ";") {
                    let p = kv.split(separator: "=", maxSplits: 1)
                    if p.count == 2 { params[String(p[0])] = String(p[1]) }
                }
                iterm.append((params, parts.count > 1 ? Data(base64Encoded: String(parts[1])) ?? Data() : Data()))
                i = j + 1
            } else {
                rest.unicodeScalars.append(plain[i])
                i += 1
            }
        }
    }

    /// `ESC P tmux ; payload-with-doubled-ESC ESC \` → payload.
    static func unwrapTmux(_ s: [Unicode.Scalar], packets: inout Int) -> [Unicode.Scalar] {
        let start = Array("\u{1B}Ptmux;".unicodeScalars)
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < s.count {
            if i + start.count <= s.count, Array(s[i..<(i + start.count)]) == start {
                packets += 1
                var j = i + start.count
                while j < s.count {
                    if s[j] == "\u{1B}", j + 1 < s.count, s[j + 1] == "\u{1B}" { out.append("\u{1B}"); j += 2 }
                    else if s[j] == "\u{1B}", j + 1 < s.count, s[j + 1] == "\\" { j += 2; break }
                    else { out.append(s[j]); j += 1 }
                }
                i = j
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// The PNG bytes kitty image `id` was transmitted with (its chunks joined).
    func kittyImage(id: Int) -> Data? {
        var b64 = "", collecting = false
        for c in kitty {
            if c.keys["a"] == "t" { collecting = c.keys["i"] == String(id); if collecting { b64 = "" } }
            if collecting, c.keys["a"] == nil || c.keys["a"] == "t" {
                b64 += c.payload
                if c.keys["m"] == "0" { collecting = false }
            }
        }
        return b64.isEmpty ? nil : Data(base64Encoded: b64)
    }
}
