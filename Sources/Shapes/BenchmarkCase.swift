import Foundation

/// GenEval's six tasks, plus LI-DiT's positional-bias probe.
public enum BenchmarkTask: String, CaseIterable, Codable, Sendable {
    case singleObject = "single_object"
    case twoObject = "two_object"
    case counting
    case colors
    case position
    case colorAttribute = "color_attr"
    /// 3–4 "color shape" segments; each scored on its own and binned by its place in the prompt.
    case positionalBias = "positional_bias"

    /// The six whose unweighted mean is the overall score.
    public static let geneval: [BenchmarkTask] = [.singleObject, .twoObject, .counting, .colors, .position, .colorAttribute]
}

/// One line of a prompt file (JSON Lines, what `lidit eval --prompts` reads; the committed sets are
/// described in benchmarks/README.md):
///
///     {"prompt": "a red circle to the left of a blue square", "task": "position",
///      "objects": [{"shape": "circle", "color": "red", "count": 1},
///                  {"shape": "square", "color": "blue", "count": 1}],
///      "relation": {"subject": 0, "relation": "left of", "object": 1}}
///
/// `color` may be null (any color), `count` defaults to 1, `size` ("small", "medium", "large") is
/// optional, `relation` is null or absent when the task has none. For `positional_bias`, `objects`
/// lists the segments in the order the prompt names them.
public struct BenchmarkCase: Hashable, Sendable {
    public var prompt: String
    public var task: BenchmarkTask
    public var objects: [ObjectGroup]
    public var relation: GroupRelation?

    public init(prompt: String, task: BenchmarkTask, objects: [ObjectGroup], relation: GroupRelation? = nil) {
        self.prompt = prompt; self.task = task; self.objects = objects; self.relation = relation
    }

    public init(prompt: String, task: BenchmarkTask, description: SceneDescription) {
        self.init(prompt: prompt, task: task, objects: description.groups, relation: description.relation)
    }

    public var description: SceneDescription { SceneDescription(groups: objects, relation: relation) }
}

// MARK: JSON

/// Why a prompt-file value is malformed; `path` names the field ("objects[1].shape").
public struct CaseFormatError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

extension BenchmarkCase: Codable {
    public var json: JSONValue {
        .object([
            ("prompt", .string(prompt)),
            ("task", .string(task.rawValue)),
            ("objects", .array(objects.map { group in
                var members: [(String, JSONValue)] = [("shape", .string(group.shape.rawValue)),
                                                      ("color", group.color.map { .string($0.rawValue) } ?? .null),
                                                      ("count", .int(group.count))]
                if let size = group.size { members.append(("size", .string(size.rawValue))) }
                return .object(members)
            })),
            ("relation", relation.map { .object([("subject", .int($0.subject)), ("relation", .string($0.relation.rawValue)),
                                                 ("object", .int($0.object))]) } ?? .null),
        ])
    }

    /// Validates strictly: unknown keys, unknown words, wrong types, counts below 1, relation
    /// indices out of range, and a position case without a relation are all errors.
    public init(json: JSONValue) throws {
        let top = try Fields(json, path: "", allowed: ["prompt", "task", "objects", "relation"])
        prompt = try top.string("prompt")
        guard !prompt.trimmingCharacters(in: .whitespaces).isEmpty else { throw top.error("prompt", "is empty") }
        task = try top.word("task", as: BenchmarkTask.self)

        guard case .array(let items)? = top["objects"] else {
            throw top.error("objects", top["objects"].map { "must be an array, not \($0.typeName)" } ?? "is missing")
        }
        guard !items.isEmpty else { throw top.error("objects", "is empty") }
        objects = try items.enumerated().map { index, item in
            let fields = try Fields(item, path: "objects[\(index)]", allowed: ["shape", "color", "count", "size"])
            let count = try fields.optionalInt("count") ?? 1
            guard count >= 1 else { throw fields.error("count", "must be at least 1, not \(count)") }
            return ObjectGroup(shape: try fields.word("shape", as: ShapeKind.self),
                               color: try fields.optionalWord("color", as: PaletteColor.self),
                               count: count,
                               size: try fields.optionalWord("size", as: Size.self))
        }

        switch top["relation"] {
        case nil, .null?:
            relation = nil
        case let value?:
            let fields = try Fields(value, path: "relation", allowed: ["subject", "relation", "object"])
            let subject = try fields.int("subject"), object = try fields.int("object")
            for (key, index) in [("subject", subject), ("object", object)] where !objects.indices.contains(index) {
                throw fields.error(key, "\(index) is not an index into objects (0..<\(objects.count))")
            }
            guard subject != object else { throw fields.error("object", "must differ from subject") }
            relation = GroupRelation(subject: subject, relation: try fields.word("relation", as: Relation.self), object: object)
        }
        if task == .position && relation == nil { throw top.error("relation", "a position case needs a relation") }
    }

    public init(from decoder: Decoder) throws {
        do {
            try self.init(json: JSONValue(from: decoder))
        } catch let error as CaseFormatError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws { try json.encode(to: encoder) }
}

/// Typed, strict access to one JSON object's fields.
private struct Fields {
    let members: [(String, JSONValue)]
    let path: String

    init(_ value: JSONValue, path: String, allowed: [String]) throws {
        self.path = path
        guard case .object(let members) = value else {
            throw CaseFormatError(path: path, reason: "must be a JSON object, not \(value.typeName)")
        }
        for (key, _) in members where !allowed.contains(key) {
            throw CaseFormatError(path: path, reason: "unknown key \"\(key)\" (allowed: \(allowed.joined(separator: ", ")))")
        }
        self.members = members
    }

    subscript(key: String) -> JSONValue? { members.first { $0.0 == key }?.1 }

    func error(_ key: String, _ reason: String) -> CaseFormatError {
        CaseFormatError(path: path.isEmpty ? key : "\(path).\(key)", reason: reason)
    }

    func string(_ key: String) throws -> String {
        guard let value = self[key] else { throw error(key, "is missing") }
        guard case .string(let s) = value else { throw error(key, "must be a string, not \(value.typeName)") }
        return s
    }

    func int(_ key: String) throws -> Int {
        guard let value = self[key] else { throw error(key, "is missing") }
        guard case .int(let i) = value else { throw error(key, "must be an integer, not \(value.typeName)") }
        return i
    }

    func optionalInt(_ key: String) throws -> Int? {
        if self[key] == nil || self[key] == .null { return nil }
        return try int(key)
    }

    func word<W: RawRepresentable & CaseIterable>(_ key: String, as type: W.Type) throws -> W where W.RawValue == String {
        let s = try string(key)
        guard let word = W(rawValue: s) else {
            throw error(key, "unknown value \"\(s)\" (expected one of: \(W.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return word
    }

    func optionalWord<W: RawRepresentable & CaseIterable>(_ key: String, as type: W.Type) throws -> W? where W.RawValue == String {
        if self[key] == nil || self[key] == .null { return nil }
        return try word(key, as: type)
    }
}

// MARK: JSON Lines files

/// Every malformed line of a prompt file, as "line N: reason".
public struct PromptFileError: Error, CustomStringConvertible, Sendable {
    public var problems: [(line: Int, reason: String)]
    public var description: String { problems.map { "line \($0.line): \($0.reason)" }.joined(separator: "\n") }
}

public enum PromptFile {
    /// Parses JSON Lines text: one case per line, blank lines skipped. Throws `PromptFileError`
    /// listing every bad line (numbered from 1), so one run shows all that needs fixing.
    public static func parse(_ text: String) throws -> [BenchmarkCase] {
        var cases: [BenchmarkCase] = []
        var problems: [(line: Int, reason: String)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let value: JSONValue
            do {
                value = try JSONValue.parse(trimmed)
            } catch {
                problems.append((index + 1, "not valid JSON"))
                continue
            }
            do {
                cases.append(try BenchmarkCase(json: value))
            } catch let error as CaseFormatError {
                problems.append((index + 1, error.description))
            }
        }
        if !problems.isEmpty { throw PromptFileError(problems: problems) }
        return cases
    }

    public static func read(path: String) throws -> [BenchmarkCase] {
        try parse(String(contentsOfFile: path, encoding: .utf8))
    }

    public static func serialize(_ cases: [BenchmarkCase]) -> String {
        cases.map { $0.json.serialized() + "\n" }.joined()
    }

    public static func write(_ cases: [BenchmarkCase], to path: String) throws {
        try serialize(cases).write(toFile: path, atomically: true, encoding: .utf8)
    }
}
