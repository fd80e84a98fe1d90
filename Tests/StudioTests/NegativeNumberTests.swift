import Foundation
import XCTest

/// Every option that takes a number takes a negative one after a space (`--layer -3`): a value in
/// range is used, one out of range gets the option's range error, never "Missing value" or
/// "Unknown option" (issue 28). The table covers every numeric option of every command; a scan of
/// `Sources/lidit` fails when a numeric option is added without `parsing: .unconditional` or
/// without a row here.
final class NegativeNumberTests: XCTestCase {
    struct Outcome { var status: Int32; var stdout: String; var stderr: String }

    func lidit(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["LIDIT_MODELS"] = StudioTmuxTests.llmDirectory()
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-neg-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { unlink(errPath) }
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        p.standardError = errHandle
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try errHandle.close()
        return Outcome(status: p.terminationStatus, stdout: String(decoding: data, as: UTF8.self),
                       stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// (arguments, the option given a negative value, what stderr must say). "models fetch" marks a
    /// value that parsed and was accepted: the command then stopped for the missing LLM files.
    static func cases(dir: String) -> [([String], String, String)] {
        let noGallery = ["--no-gallery"], missing = "lidit models fetch"
        return [
            (["generate", "-p", "x", "--seed", "-1"] + noGallery, "--seed", "'-1' is invalid for '--seed"),
            (["generate", "-p", "x", "--steps", "-1"] + noGallery, "--steps", "--steps must be 1...1000 (got -1)"),
            (["generate", "-p", "x", "--cfg", "-3"] + noGallery, "--cfg", "--cfg must be"),
            (["generate", "-p", "x", "--cfg-rescale", "-0.5"] + noGallery, "--cfg-rescale", "--cfg-rescale must be 0.0...1.0 (got -0.5)"),
            (["generate", "-p", "x", "--cfg-interval", "-0.5-1"] + noGallery, "--cfg-interval", "--cfg-interval takes LOW-HIGH"),
            (["generate", "-p", "x", "--shift", "-1"] + noGallery, "--shift", "--shift must be"),
            (["generate", "-p", "x", "--count", "-2"] + noGallery, "--count", "--count must be 1...64 (got -2)"),
            (["generate", "-p", "x", "--threads", "-1"] + noGallery, "--threads", "--threads must be 1...1024 (got -1)"),
            (["eval", "--ground-truth", "--seeds", "-4"], "--seeds", "--seeds must be 1...1000 (got -4)"),
            (["eval", "--steps", "-1"], "--steps", "--steps must be 1...1000 (got -1)"),
            (["eval", "--cfg", "-1"], "--cfg", "--cfg must be"),
            (["eval", "--cfg-rescale", "-1"], "--cfg-rescale", "--cfg-rescale must be 0.0...1.0 (got -1.0)"),
            (["eval", "--cfg-interval", "-1-1"], "--cfg-interval", "--cfg-interval takes LOW-HIGH"),
            (["eval", "--shift", "-1"], "--shift", "--shift must be"),
            (["eval", "--ground-truth", "--resolution", "-16"], "--resolution", "--resolution must be 16...1024 (got -16)"),
            (["eval", "--limit", "-1"], "--limit", "--limit must be 1...1000000 (got -1)"),
            (["gallery", "list", "--limit", "-5", "--dir", dir], "--limit", "--limit must be 1...1000000 (got -5)"),
            (["gallery", "search", "red", "--limit", "-5", "--dir", dir], "--limit", "--limit must be 1...1000000 (got -5)"),
            (["show", "x.png", "--scale", "-2"], "--scale", "--scale must be 1...32 (got -2)"),
            (["show", "x.png", "--width", "-1"], "--width", "--width must be 1...10000 (got -1)"),
            (["show", "x.png", "--height", "-1"], "--height", "--height must be 1...10000 (got -1)"),
            (["gallery", "show", "x", "--dir", dir, "--scale", "-1"], "--scale", "--scale must be 1...32 (got -1)"),
            (["studio", "--preview-every", "-1"], "--preview-every", "--preview-every must be 0...100 (got -1)"),
            (["studio", "--preview-interval", "-1"], "--preview-interval", "--preview-interval must be 0...5000 (got -1)"),
            (["train", "--minutes", "-1", "--print-config"], "--minutes", "--minutes must be"),
            (["train", "--steps", "-1", "--print-config"], "--steps", "--steps must be 1...100000000 (got -1)"),
            (["train", "--captions", "-1", "--print-config"], "--captions", "--captions must be 1...1000000 (got -1)"),
            (["train", "--batch", "-8", "--print-config"], "--batch", "--batch must be 1...4096 (got -8)"),
            (["train", "--threads", "-2", "--print-config"], "--threads", "--threads must be 1...1024 (got -2)"),
            (["encode", "--encoder", "smollm2", "--prompt", "x", "--layer", "-5000"], "--layer", "--layer must be -1000...1000 (got -5000)"),
            (["encode", "--encoder", "smollm2", "--layer", "-3", "--prompt", "x"], "--layer", missing),
            (["bench", "kernels", "--threads", "-1"], "--threads", "--threads must be 1...1024 (got -1)"),
            (["bench", "encode", "--encoder", "smollm2", "--prompt", "x", "--repeat", "-1"], "--repeat", "--repeat must be 1...1000"),
            (["bench", "encode", "--encoder", "smollm2", "--prompt", "x", "--threads", "-1"], "--threads", "--threads must be 1...1024 (got -1)"),
            (["bench", "encode", "--encoder", "smollm2", "--prompt", "x", "--layer", "-1"], "--layer", missing),
            (["bench", "encode", "--encoder", "smollm2", "--prompt", "x", "--tokens", "-1"], "--tokens", missing),
            (["bench", "train", "--batch", "-1"], "--batch", "--batch must be 1...1024"),
            (["bench", "train", "--text-tokens", "-1"], "--text-tokens", "--text-tokens 1...512"),
            (["bench", "train", "--threads", "-1"], "--threads", "--threads must be 1...1024 (got -1)"),
            (["bench", "sample", "--text-tokens", "-1"], "--text-tokens", "--text-tokens 1...512"),
            (["bench", "sample", "--repetitions", "-1"], "--repetitions", "--repetitions 1...1000"),
            (["bench", "sample", "--threads", "-1"], "--threads", "--threads must be 1...1024 (got -1)"),
            (["bench", "generate", "--repetitions", "-1"], "--repetitions", "--repetitions must be 1...100"),
            (["bench", "generate", "--steps", "-1"], "--steps", "--steps must be 1...1000 (got -1)"),
            (["bench", "generate", "--threads", "-1"], "--threads", "--threads must be 1...1024 (got -1)"),
            (["bench", "eval", "--limit", "-1"], "--limit", "--limit must be 1...600"),
            (["bench", "eval", "--seeds", "-1"], "--seeds", "--seeds must be 1...1000 (got -1)"),
            (["bench", "eval", "--threads", "-1"], "--threads", "--threads must be 1...1024 (got -1)"),
            (["dataset", "export", "--out", dir + "/ds", "--samples", "-1"], "--samples", "--samples must be 1...10000000 (got -1)"),
            (["dataset", "export", "--out", dir + "/ds", "--samples", "1", "--captions", "-1"], "--captions", "--captions must be 1...1000000 (got -1)"),
            (["dataset", "export", "--out", dir + "/ds", "--samples", "1", "--shard-size", "-1"], "--shard-size", "--shard-size must be 1...100000 (got -1)"),
            (["debug", "train-step", "--inputs", "x", "--out", "y", "--step", "-1"], "--step", "--step must be 0...100000000 (got -1)"),
            (["grid", "-p", "x", "--x", "cfg=1", "-o", dir + "/g.png", "--seed", "-1"], "--seed", "'-1' is invalid for '--seed"),
            (["grid", "-p", "x", "--x", "cfg=1", "-o", dir + "/g.png", "--steps", "-1"], "--steps", "--steps must be 1...1000 (got -1)"),
            (["grid", "-p", "x", "--x", "cfg=1", "-o", dir + "/g.png", "--cfg", "-3"], "--cfg", "--cfg must be"),
            (["grid", "-p", "x", "--x", "cfg=1", "-o", dir + "/g.png", "--shift", "-1"], "--shift", "--shift must be"),
            (["grid", "-p", "x", "--x", "cfg=1", "-o", dir + "/g.png", "--scale", "-2"], "--scale", "--scale must be 1...32 (got -2)"),
            (["grid", "-p", "x", "--x", "cfg=1", "-o", dir + "/g.png", "--threads", "-1"], "--threads", "--threads must be 1...1024 (got -1)"),
            (["generate", "-p", "x", "--init-image", "x.png", "--strength", "-0.5"] + noGallery, "--strength", "--strength must be 0.0...1.0 (got -0.5)"),
            (["generate", "-p", "x", "--variation-of", "-1"] + noGallery, "--variation-of", "'-1' is invalid for '--variation-of"),
            (["generate", "-p", "x", "--variation-of", "3", "--variation-strength", "-1"] + noGallery, "--variation-strength", "--variation-strength must be 0.0...1.0 (got -1.0)"),
        ]
    }

    func testEveryNumericOptionTakesANegativeNumberAfterASpace() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-neg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (args, _, expected) in Self.cases(dir: dir) {
            let env = expected == "lidit models fetch" ? ["LIDIT_MODELS": dir + "/no-models"] : [:]
            let r = try lidit(args, environment: env)
            let line = args.joined(separator: " ")
            XCTAssertNotEqual(r.status, 0, line)
            for refused in ["Missing value", "Unknown option", "Unexpected argument"] {
                XCTAssertFalse(r.stderr.contains(refused), "\(line): \(r.stderr)")
            }
            XCTAssertTrue(r.stderr.contains(expected), "\(line): \(r.stderr)")
        }
    }

    /// The issue's own example, run for real.
    func testEncodeWithANegativeLayerRuns() throws {
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory()) (run `lidit models fetch`)")
        }
        let r = try lidit(["encode", "--encoder", "gemma3", "--layer", "-1", "--final-norm", "--raw", "--prompt", "a red circle"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("encoder=gemma3 layer=-1 tokens="), r.stdout)
        XCTAssertTrue(r.stdout.contains("width=640"), r.stdout)
    }

    /// Every `@Option` of `Sources/lidit` whose type is a number parses unconditionally and has a
    /// row in the table above.
    func testEveryNumericOptionIsUnconditionalAndCovered() throws {
        let folder = packageRoot.appendingPathComponent("Sources/lidit")
        let covered = Set(Self.cases(dir: "/d").map(\.1))
        var numeric: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let text = Array(try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8))
            var i = 0
            let marker = Array("@Option(")
            while i + marker.count <= text.count {
                guard Array(text[i..<(i + marker.count)]) == marker else { i += 1; continue }
                // The attribute's arguments, to the matching parenthesis.
                var depth = 0, j = i + marker.count - 1
                repeat {
                    if text[j] == "(" { depth += 1 } else if text[j] == ")" { depth -= 1 }
                    j += 1
                } while depth > 0 && j < text.count
                let attribute = String(text[i..<j])
                // `var name: Type` or `var name = literal` after it.
                let rest = String(text[j..<min(text.count, j + 200)]).trimmingCharacters(in: .whitespacesAndNewlines)
                i = j
                guard rest.hasPrefix("var ") else { continue }
                let declaration = rest.dropFirst(4).prefix { $0 != "\n" }
                let name = String(declaration.prefix { $0.isLetter || $0.isNumber })
                let after = declaration.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
                let type: String
                if after.hasPrefix(":") {
                    type = String(after.dropFirst().trimmingCharacters(in: .whitespaces).prefix { $0.isLetter || $0.isNumber })
                } else {
                    let literal = after.dropFirst().trimmingCharacters(in: .whitespaces)
                    type = Double(literal) != nil ? "Double" : "other"
                }
                guard ["Int", "Double", "Float", "UInt64", "UInt32", "Int64"].contains(type) else { continue }
                var long = "--" + name.reduce(into: "") { s, c in s += c.isUppercase ? "-" + c.lowercased() : String(c) }
                if let r = attribute.range(of: #"customLong\("([^"]+)"\)"#, options: .regularExpression) {
                    long = "--" + attribute[r].dropFirst("customLong(\"".count).dropLast(2)
                }
                numeric.append(long)
                XCTAssertTrue(attribute.contains("parsing: .unconditional"), "\(file): \(long) takes a number but not `parsing: .unconditional`")
                XCTAssertTrue(covered.contains(long), "\(file): \(long) has no negative-number case in NegativeNumberTests")
            }
        }
        XCTAssertGreaterThan(numeric.count, 30, "the scan found the options: \(numeric)")
    }
}
