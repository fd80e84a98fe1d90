import ArgumentParser
import ImageIO
import Sampling
import Pipeline
import Evaluation
import Foundation
import Shapes
import TerminalGraphics

/// `lidit eval`: the prompt-following benchmark. The prompt-file format is documented on
/// `BenchmarkCase` (Sources/Shapes/BenchmarkCase.swift); the committed sets in benchmarks/README.md.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score prompt following: GenEval's six tasks on the shapes domain, with an analytic detector.",
        discussion: """
        Reads a JSON Lines prompt file (one case per line: prompt, task, objects, relation), generates \
        --seeds images per prompt, detects the objects in each, and scores GenEval's rules. Prints a \
        per-task table and the overall score (the unweighted mean of the tasks), and the \
        positional-bias table when the file holds positional_bias cases. --ground-truth renders each \
        case's own description instead of running a model, which measures the detector itself.
        """
    )

    @Option(help: ArgumentHelp("Prompt file, JSON Lines (format: benchmarks/README.md) (prompts of at most \(Bounds.promptBytes) bytes).", valueName: "FILE"))
    var prompts = "benchmarks/shapes-geneval.jsonl"

    @Option(parsing: .unconditional, help: ArgumentHelp("Images per prompt (seeds 0..<N; \(Bounds.seeds.text)).", valueName: "N"))
    var seeds = 4

    @Option(help: ArgumentHelp("Write the per-case report (JSON) here.", valueName: "FILE"))
    var json: String?

    @Option(help: ArgumentHelp("Save failing images here (PNG), named in the JSON report.", valueName: "DIR"))
    var saveFailures = "eval-failures"

    @Flag(help: "Do not save failing images.")
    var noSaveFailures = false

    @Option(help: ArgumentHelp("Model file to generate with.", valueName: "PATH"))
    var model: String?

    @Option(help: ArgumentHelp("Sampler: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "NAME"))
    var sampler = "euler"

    @Option(parsing: .unconditional, help: ArgumentHelp("Sampling steps (\(Bounds.steps.text)).", valueName: "N"))
    var steps: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Classifier-free guidance scale (\(Bounds.cfg.text)).", valueName: "F"))
    var cfg: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Guidance rescale φ (\(Bounds.cfgRescale.text)); 0 is plain guidance.", valueName: "F"))
    var cfgRescale: Double = 0

    @Option(parsing: .unconditional, help: ArgumentHelp("Schedule shift (SD3; \(Bounds.shift.text)): above 1 spends more steps at high noise.", valueName: "F"))
    var shift: Double = 1

    @Option(parsing: .unconditional, help: ArgumentHelp("Apply guidance only at noise levels σ in LOW-HIGH (1 is pure noise).", valueName: "LOW-HIGH"))
    var cfgInterval: String?

    @Flag(help: "Render each case's description instead of generating: scores the detector itself.")
    var groundTruth = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Image size for --ground-truth renders (\(Bounds.resolution.text)).", valueName: "PX"))
    var resolution = 64

    @Flag(help: "Score each image against another case's prompt (a sanity check: should be near chance).")
    var shufflePrompts = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Only the first N cases of the prompt file (\(Bounds.limit.text)).", valueName: "N"))
    var limit: Int?

    @Option(help: ArgumentHelp("Write the committed prompt sets (\(PromptSets.files.joined(separator: ", "))) into DIR and exit.", valueName: "DIR"))
    var makePrompts: String?

    func validate() throws {
        try Bounds.seeds.check(seeds)
        try Bounds.resolution.check(resolution)
        try Bounds.steps.check(steps)
        try Bounds.cfg.check(cfg)
        try Bounds.cfgRescale.check(cfgRescale)
        try Bounds.shift.check(shift)
        try Bounds.limit.check(limit)
        do { _ = try parseGuidanceInterval(cfgInterval) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        if let directory = makePrompts {
            for path in try PromptSets.write(to: directory) { print("wrote \(path)") }
            return
        }

        var cases = try readPromptFile()
        if let limit { cases = Array(cases.prefix(limit)) }
        guard !cases.isEmpty else { throw EvalError("\(prompts) holds no cases") }
        if let json { do { try OutputFile.check(json) } catch { throw EvalError("--json: \(error)") } }

        let generator = try makeGenerator()
        var benchmark = Benchmark(seeds: (0..<seeds).map(UInt64.init))
        if shufflePrompts { benchmark.pairing = .shuffled(seed: 1) }

        let failureDirectory = noSaveFailures ? nil : saveFailures
        if let failureDirectory {
            do { try FileManager.default.createDirectory(atPath: failureDirectory, withIntermediateDirectories: true) } catch {
                throw EvalError("cannot create \(failureDirectory): \(error.localizedDescription)")
            }
        }
        var saved = 0
        let bar = ProgressBar(label: "eval")
        let report = try benchmark.run(cases, generator: generator, progress: bar.update) { result, image in
            guard !result.passed, let failureDirectory else { return nil }
            saved += 1
            let path = "\(failureDirectory)/\(String(format: "%05d", saved))-\(result.benchmarkCase.task.rawValue)-seed\(result.seed).png"
            let png = PNGFile(image: RGBImage(width: image.width, height: image.height, channels: 3, pixels: image.rgb8()),
                              texts: [PNGText(keyword: "prompt", text: result.benchmarkCase.prompt)])
            do { try OutputFile.replace(path) { try png.write(path: $0) } } catch { throw EvalError("\(error)") }
            return path
        }
        bar.finish()

        print(report.table())
        if let json {
            do { try OutputFile.write(Data((report.json().pretty() + "\n").utf8), to: json) } catch { throw EvalError("\(error)") }
            print("wrote \(json)")
        }
        if let failureDirectory, saved > 0 { print("\(saved) failing images in \(failureDirectory)/") }
    }

    /// Longest line of a prompt file: a case with a prompt at the cap fits, a 10 MB line does not
    /// get to the JSON parser.
    static let maximumLineBytes = 65_536
    static let maximumFileBytes = 64 << 20

    /// The prompt file, with its size, line lengths and prompt lengths bounded (a hostile line
    /// would otherwise take minutes to parse and tokenize).
    private func readPromptFile() throws -> [BenchmarkCase] {
        let attributes = try? FileManager.default.attributesOfItem(atPath: prompts)
        if let size = attributes?[.size] as? Int, size > Self.maximumFileBytes {
            throw EvalError("\(prompts): \(size) bytes, more than a prompt file may hold (\(Self.maximumFileBytes))")
        }
        guard let data = FileManager.default.contents(atPath: prompts) else { throw EvalError("cannot read \(prompts)") }
        guard let text = String(data: data, encoding: .utf8) else { throw EvalError("\(prompts) is not UTF-8 text") }
        var caseLines: [Int] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.utf8.count > Self.maximumLineBytes {
                throw EvalError("\(prompts):\(i + 1): the line is longer than \(Self.maximumLineBytes) bytes (prompts are at most \(Bounds.promptBytes))")
            }
            if !line.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { caseLines.append(i + 1) }
        }
        let cases: [BenchmarkCase]
        do { cases = try PromptFile.parse(text) } catch let error as PromptFileError {
            throw EvalError("\(prompts) is malformed:\n\(error)")
        }
        for (c, line) in zip(cases, caseLines) where c.prompt.utf8.count > Bounds.promptBytes {
            throw EvalError("\(prompts):\(line): the prompt is longer than \(Bounds.promptBytes) bytes")
        }
        return cases
    }

    private func makeGenerator() throws -> ImageGenerator {
        if groundTruth { return GroundTruthGenerator(resolution: resolution) }
        let pipeline = try loadPipeline(model)
        var request = GenerationRequest(prompt: "")
        let kind: SamplerKind
        do { kind = try SamplerKind(parsing: sampler) } catch { throw EvalError("\(error)") }
        do {
            request.sampler = SamplerSettings(sampler: kind, steps: steps ?? 24, shift: shift, guidanceScale: cfg ?? 4, guidanceRescale: cfgRescale,
                                              guidanceInterval: try parseGuidanceInterval(cfgInterval))
            try request.sampler.validate()
        } catch let error as CLIError { throw EvalError(error.description) } catch { throw EvalError("\(error)") }
        return ModelGenerator(pipeline: pipeline, request: request)
    }
}

/// Generates a benchmark case's pictures from its prompt and the seeds only: the prompt encoded
/// once, the seeds sampled side by side (the same pictures as one seed at a time).
struct ModelGenerator: ImageGenerator {
    let pipeline: ImagePipeline
    let request: GenerationRequest

    func generate(_ benchmarkCase: BenchmarkCase, seeds: [UInt64]) throws -> [FloatImage] {
        var r = request
        r.prompt = benchmarkCase.prompt
        return try pipeline.generate(r, seeds: seeds).map { FloatImage(width: $0.width, height: $0.height, rgb8: $0.pixels) }
    }
}

struct EvalError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = TerminalText.safe(description, keepNewlines: true) }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar {
    let label: String
    let enabled = isatty(STDERR_FILENO) != 0
    private var lastDrawn = -1

    init(label: String) { self.label = label }

    func update(done: Int, total: Int) {
        guard enabled, total > 0 else { return }
        let width = 30, filled = done * width / total
        guard filled != lastDrawn || done == total else { return }
        lastDrawn = filled
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }

    func finish() {
        if enabled && lastDrawn >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
