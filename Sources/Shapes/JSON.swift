import Foundation

/// A JSON value whose objects keep their keys in the order written. Foundation's encoders do not
/// promise an order, and prompt files and reports are read by people: "prompt" should come first.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

    /// JSON on one line (JSON Lines friendly).
    public func serialized() -> String {
        var out = ""
        write(to: &out, indent: nil, depth: 0)
        return out
    }

    /// Indented JSON; arrays of scalars and small objects stay on one line.
    public func pretty() -> String {
        var out = ""
        write(to: &out, indent: "  ", depth: 0)
        return out
    }

    /// Whether `pretty()` keeps the value on one line: scalars, and containers of scalars that fit
    /// in 200 characters (a detected object, a tally).
    private var fitsOnOneLine: Bool {
        switch self {
        case .array(let items): items.allSatisfy(\.isScalar) && serialized().count <= 200
        case .object(let members): members.allSatisfy(\.1.isScalar) && serialized().count <= 200
        default: true
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array(let items): items.isEmpty
        case .object(let members): members.isEmpty
        default: true
        }
    }

    private func write(to out: inout String, indent: String?, depth: Int) {
        let multiline = indent != nil && !fitsOnOneLine
        let newline = multiline ? "\n" + String(repeating: indent!, count: depth + 1) : ""
        let closing = multiline ? "\n" + String(repeating: indent!, count: depth) : ""
        // Python's json.dumps spacing: ", " and ": " on one line.
        let separator = multiline ? "," : ", "
        let colon = ": "
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? Self.format(d) : "null"
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (k, item) in items.enumerated() {
                out += k == 0 ? newline : separator + newline
                item.write(to: &out, indent: indent, depth: depth + 1)
            }
            out += items.isEmpty ? "]" : closing + "]"
        case .object(let members):
            out += "{"
            for (k, (key, value)) in members.enumerated() {
                out += k == 0 ? newline : separator + newline
                Self.quote(key, into: &out)
                out += colon
                value.write(to: &out, indent: indent, depth: depth + 1)
            }
            out += members.isEmpty ? "}" : closing + "}"
        }
    }

    /// Shortest round-tripping form, but never an exponent for ordinary report values.
    private static func format(_ d: Double) -> String {
        if d == d.rounded() && abs(d) < 1e15 { return String(Int(d)) + ".0" }
        return String(d)
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let i = try? container.decode(Int.self) { self = .int(i) }
        else if let d = try? container.decode(Double.self) { self = .double(d) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([JSONValue].self) { self = .array(a) }
        else if let o = try? container.decode([String: JSONValue].self) { self = .object(o.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) }
        else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value") }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(Dictionary(o, uniquingKeysWith: { _, last in last }))
        }
    }

    /// Parses one JSON document.
    public static func parse(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
