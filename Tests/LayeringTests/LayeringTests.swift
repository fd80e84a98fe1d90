import Foundation
import XCTest

/// The module graph is the one the README draws: its module table, `Package.swift` and the
/// `import`s of `Sources/` agree. Reads the three as text, so it needs nothing built but itself.
final class LayeringTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Imports that are not targets of this package.
    static let outside: Set<String> = ["Foundation", "Glibc", "Darwin", "Dispatch", "XCTest", "ArgumentParser"]

    func text(_ path: String) throws -> String {
        try String(contentsOf: Self.repository.appendingPathComponent(path), encoding: .utf8)
    }

    /// Module names in the README table's order (row by row, left to right).
    func readmeOrder() throws -> [String] {
        let lines = try text("README.md").components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("| module | concern |") }) else {
            XCTFail("README.md has no module table"); return []
        }
        var order: [String] = []
        for line in lines[(start + 2)...] {
            guard line.hasPrefix("|") else { break }
            let first = line.split(separator: "|", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            order += first.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }
        }
        return order
    }

    /// Every non-test target of Package.swift with its declared target dependencies.
    func packageTargets() throws -> [String: Set<String>] {
        let source = try text("Package.swift")
        let pattern = try NSRegularExpression(pattern: #"\.(target|executableTarget|systemLibrary)\(name: "([A-Za-z]+)"(, dependencies: \[([^\]]*)\])?"#)
        var targets: [String: Set<String>] = [:]
        for m in pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
            let name = String(source[Range(m.range(at: 2), in: source)!])
            guard !name.hasSuffix("TestSupport") else { continue }
            let deps = Range(m.range(at: 4), in: source).map { String(source[$0]) } ?? ""
            let quoted = try NSRegularExpression(pattern: #"^\s*"([A-Za-z]+)""#, options: .anchorsMatchLines)
            let names = deps.components(separatedBy: ",").compactMap { part -> String? in
                guard let q = quoted.firstMatch(in: part, range: NSRange(part.startIndex..., in: part)) else { return nil }
                return String(part[Range(q.range(at: 1), in: part)!])
            }
            targets[name] = Set(names)
        }
        return targets
    }

    /// The modules each Swift target of `Sources/` imports (C targets import nothing Swift sees).
    func imports(of target: String) throws -> Set<String> {
        let folder = Self.repository.appendingPathComponent("Sources/\(target)")
        guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
        var found = Set<String>()
        for case let url as URL in files where url.pathExtension == "swift" {
            for line in try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n") {
                let words = line.split(separator: " ")
                if let i = words.firstIndex(of: "import"), words[..<i].allSatisfy({ $0.hasPrefix("@") }), i + 1 < words.count {
                    found.insert(String(words[i + 1]))
                }
            }
        }
        return found.subtracting(Self.outside)
    }

    func testReadmeTablePackageAndImportsAgree() throws {
        let order = try readmeOrder()
        let targets = try packageTargets()
        XCTAssertEqual(Set(order), Set(targets.keys), "the README's module table and Package.swift name different modules")
        XCTAssertEqual(order.count, Set(order).count, "a module is named twice in the README's table")
        let place = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        for (name, declared) in targets.sorted(by: { $0.key < $1.key }) {
            for dep in declared.sorted() {
                XCTAssertLessThan(place[dep] ?? .max, place[name] ?? -1, "\(name) depends on \(dep), which the README lists below it")
            }
            let folder = Self.repository.appendingPathComponent("Sources/\(name)").path
            guard FileManager.default.fileExists(atPath: folder) else { continue }
            let used = try imports(of: name)
            XCTAssertEqual(used.subtracting(declared).sorted(), [], "\(name) imports modules Package.swift does not declare")
            // A C target's dependencies are its headers', not imports.
            if try FileManager.default.contentsOfDirectory(atPath: folder).contains(where: { $0.hasSuffix(".swift") }) {
                XCTAssertEqual(declared.subtracting(used).sorted(), [], "\(name) declares dependencies it never imports")
            }
        }
    }

    /// Drawing a picture needs none of the trainer: the studio's whole dependency tree is free of it.
    func testTheStudioDoesNotDependOnTraining() throws {
        let targets = try packageTargets()
        var seen = Set<String>(), stack = ["Studio"]
        while let t = stack.popLast() {
            guard seen.insert(t).inserted else { continue }
            stack += targets[t] ?? []
        }
        XCTAssertTrue(seen.contains("Pipeline"))
        XCTAssertFalse(seen.contains("Training"), "the studio reaches Training through \(seen.sorted())")
        XCTAssertFalse(seen.contains("Evaluation"))
    }

    /// A target that lies about its position fails the first test: shown here on a made-up edge,
    /// so that the check itself is known to bite.
    func testAnUpwardEdgeIsCaught() throws {
        let order = try readmeOrder()
        let place = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        XCTAssertGreaterThan(place["Training"]!, place["Pipeline"]!)
        XCTAssertGreaterThan(place["Studio"]!, place["Gallery"]!)
        XCTAssertLessThan(place["Kernels"]!, place["LLM"]!)
    }
}
