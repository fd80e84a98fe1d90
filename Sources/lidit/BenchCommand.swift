import ArgumentParser
import Foundation
import Kernels
import PromptEncoder
import Diffusion
import Pipeline
import Sampling
import Shapes
import ImageIO

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Timings: kernels, prompt encoding, a training step, a sampling step, a whole picture.",
        subcommands: [BenchKernels.self, BenchEncode.self, BenchTrain.self, BenchSample.self, BenchGenerate.self, BenchEval.self, BenchLoad.self, BenchAttention.self]
    )
}

/// Median wall time of `body` over `repeats` runs after one warm-up.
func medianSeconds(repeats: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<max(1, repeats) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    times.sort()
    return times[times.count / 2]
}

/// Repeats chosen so each shape runs for roughly `budget` seconds in total.
func adaptiveMedian(budget: Double = 0.4, _ body: () -> Void) -> Double {
    let once = medianSeconds(repeats: 1, body)
    return medianSeconds(repeats: max(3, min(200, Int(budget / max(once, 1e-6)))), body)
}

/// Applies a `--threads` value after checking it.
func applyThreads(_ threads: Int?) throws {
    guard let threads else { return }
    do { try Bounds.threads.check(threads) } catch { throw CLIError("\(error)") }
    Parallel.setThreads(threads)
}

/// GFLOP/s of a 1536³ sgemm: the peak every benchmark reports its ratio against.
func measureSgemmPeak() -> Double {
    let (m, n, k) = (1536, 1536, 1536)
    let a = RandomGenerator(seed: 1).normals(count: m * k), b = RandomGenerator(seed: 2).normals(count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    let t = adaptiveMedian { sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n) }
    return 2 * Double(m * n * k) / t / 1e9
}

struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "sgemm GFLOP/s at the models' shapes against the peak of a large square product, and attention throughput."
    )

    @Option(parsing: .unconditional, help: "Worker threads (\(Bounds.threads.text); default: all cores).")
    var threads: Int?

    func run() throws {
        try applyThreads(threads)
        print("threads=\(Parallel.threads)")
        let peakShape = (m: 1536, n: 1536, k: 1536)
        let shapes: [(String, Int, Int, Int, Bool)] = [
            ("smollm2 q/o proj, 40 tokens", 40, 576, 576, true),
            ("smollm2 ffn up, 40 tokens", 40, 1536, 576, true),
            ("smollm2 ffn down, 40 tokens", 40, 576, 1536, true),
            ("gemma3 ffn up, 128 tokens", 128, 2048, 640, true),
            ("dit ffn up, 64 tokens", 64, 768, 192, true),
            ("dit ffn up, batch 64×64 tokens", 4096, 768, 192, true),
            ("dit ffn down, batch 64×64 tokens", 4096, 192, 768, true),
            ("peak: square", peakShape.m, peakShape.n, peakShape.k, false),
        ]
        var results: [(String, Int, Int, Int, Double)] = []
        for (name, m, n, k, tb) in shapes {
            let a = RandomGenerator(seed: 1).normals(count: m * k)
            let b = RandomGenerator(seed: 2).normals(count: k * n)
            var c = [Float](repeating: 0, count: m * n)
            let t = adaptiveMedian {
                sgemm(transposeB: tb, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: tb ? k : n, c: &c, ldc: n)
            }
            results.append((name, m, n, k, 2 * Double(m * n * k) / t / 1e9))
        }
        let peak = results.last!.4
        let native: Double = {
            let (m, n, k) = peakShape
            let a = RandomGenerator(seed: 1).normals(count: m * k), b = RandomGenerator(seed: 2).normals(count: k * n)
            var c = [Float](repeating: 0, count: m * n)
            let t = adaptiveMedian { referenceThreadedSgemm(m: m, n: n, k: k, a: a, b: b, c: &c, threads: Parallel.threads) }
            return 2 * Double(m * n * k) / t / 1e9
        }()
        print("OpenBLAS kernels: \(BLASCore.name)")
        print("sgemm                                      m      n      k   GFLOP/s  of peak")
        for (name, m, n, k, g) in results {
            print(name.padding(toLength: 38, withPad: " ", startingAt: 0)
                  + String(format: "%7d%7d%7d%10.1f%8.0f%%", m, n, k, g, 100 * g / peak))
        }

        print("attention (causal, fp32)                 batch heads kv   T   D  GFLOP/s  of peak")
        let attn: [(String, Int, Int, Int, Int, Int)] = [
            ("smollm2 layer, 40 tokens", 1, 9, 3, 40, 64),
            ("gemma3 layer, 128 tokens", 1, 4, 1, 128, 256),
            ("dit self-attn, batch 64", 64, 4, 4, 64, 48),
        ]
        for (name, batch, heads, kv, T, D) in attn {
            let shape = AttentionShape(batch: batch, queries: T, keys: T, heads: heads, kvHeads: kv, headDim: D)
            let q = RandomGenerator(seed: 3).normals(count: batch * T * heads * D)
            let kk = RandomGenerator(seed: 4).normals(count: batch * T * kv * D)
            let v = RandomGenerator(seed: 5).normals(count: batch * T * kv * D)
            var out = [Float](repeating: 0, count: q.count), p = [Float](repeating: 0, count: shape.probabilityCount)
            let t = adaptiveMedian {
                multiHeadAttention(q: q, k: kk, v: v, out: &out, shape: shape, scale: 0.125,
                                   mask: AttentionMask(.causal), probabilities: &p)
            }
            let flops = 4.0 * Double(batch * heads * T * T * D)
            let g = flops / t / 1e9
            print(name.padding(toLength: 40, withPad: " ", startingAt: 0)
                  + String(format: "%6d%6d%3d%5d%4d%9.1f%8.0f%%", batch, heads, kv, T, D, g, 100 * g / peak))
        }
        print(String(format: "OpenBLAS's own threading on the square shape: %.1f GFLOP/s (deterministic tiling reaches %.0f%% of it)", native, 100 * peak / native))
        print("peak sgemm GFLOP/s=\(String(format: "%.1f", peak))")
    }
}

struct BenchEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Time encoding one prompt with a loaded LLM (median of --repeat runs after a warm-up).",
        discussion: "The last line reads `encode E tokens=N median_ms=X`. Without --prefix-cache every run processes the whole token sequence.")

    @Option(help: "smollm2 or gemma3.") var encoder: EncoderID
    @Option(help: "The prompt.") var prompt: String
    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Timed runs (1...1000).") var repetitions: Int = 7
    @Option(parsing: .unconditional, help: "Worker threads (\(Bounds.threads.text)).") var threads: Int?
    @Option(parsing: .unconditional, help: "Layer to stop at (HF indexing); -1 runs every block, like llama.cpp.") var layer: Int = -1
    @Flag(help: "No instruction template (the tokens llama.cpp would see for the plain prompt).") var raw = false
    @Flag(help: "Reuse the cached instruction prefix (only the prompt's own tokens run).") var prefixCache = false
    @Flag(help: "Print the token ids first, as a JSON array.") var ids = false
    @Option(parsing: .unconditional, help: "Keep only the first N tokens of the sequence (1...the prompt's tokens; to time a fixed token count).") var tokens: Int?

    func run() throws {
        guard (1...1000).contains(repetitions) else { throw CLIError("--repeat must be 1...1000") }
        try applyThreads(threads)
        let enc = try loadEncoder(encoder.rawValue, raw: raw)
        let first = try enc.encode(prompt, layer: layer)
        if let tokens, !(1...first.tokens.count).contains(tokens) || prefixCache {
            throw CLIError("--tokens must be 1...\(first.tokens.count) for this prompt, without --prefix-cache")
        }
        let sequence = tokens.map { Array(first.tokens.prefix($0)) } ?? first.tokens
        if ids { print("[" + sequence.map(String.init).joined(separator: ", ") + "]") }
        let seconds: Double
        if prefixCache {
            seconds = medianSeconds(repeats: repetitions) { _ = try? enc.encode(prompt, layer: layer) }
        } else {
            // The whole sequence through every block, nothing cached: what a plain forward costs.
            let model = enc.model
            let resolved = model.resolveLayer(layer) ?? model.config.blockCount
            seconds = medianSeconds(repeats: repetitions) { _ = model.hiddenStates(batch: [sequence], layers: [resolved]) }
        }
        print("encode \(encoder.rawValue) tokens=\(prefixCache ? first.tokens.count - first.instructionTokenCount : sequence.count) median_ms=\(String(format: "%.2f", seconds * 1000))")
    }
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "One training step of the default LI-DiT (forward + backward): samples/s and GFLOP/s against the sgemm peak measured in the same run.")

    @Option(parsing: .unconditional, help: "Batch size (1...1024).") var batch: Int = 32
    @Option(parsing: .unconditional, help: "Text tokens per LLM branch (instruction prefix + prompt; 1...512).") var textTokens: Int = 40
    @Option(parsing: .unconditional, help: "Worker threads (\(Bounds.threads.text)).") var threads: Int?

    func run() throws {
        guard (1...1024).contains(batch), (1...512).contains(textTokens) else { throw CLIError("--batch must be 1...1024, --text-tokens 1...512") }
        try applyThreads(threads)
        let peak = measureSgemmPeak()
        let r = benchmarkTrainingStep(config: .standard(), batch: batch, textTokens: [textTokens, textTokens], repeats: 3)
        print(r)
        print(String(format: "train step batch=%d samples_per_s=%.1f gflops=%.1f peak_gflops=%.1f of_peak=%.0f%%",
                     batch, r.samplesPerSecond, r.gflops, peak, 100 * r.gflops / peak))
    }
}

/// Peak resident set size of this process, in MB (Linux reports ru_maxrss in KB).
func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load both LLM encoders (weights dequantized once): load time each, peak resident memory.")

    func run() throws {
        var encoders: [LLMTextEncoder] = []
        for id in ["smollm2", "gemma3"] {
            let t0 = Date()
            encoders.append(try loadEncoder(id, raw: false))
            print(String(format: "load %@ seconds=%.2f", id, Date().timeIntervalSince(t0)))
        }
        let t0 = Date()
        for e in encoders { _ = try e.encode("a red circle to the left of a blue square") }
        print(String(format: "first encode (both) seconds=%.3f", Date().timeIntervalSince(t0)))
        print(String(format: "both encoders loaded peak_rss_mb=%.0f", peakRSSMegabytes()))
    }
}

struct BenchSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "One sampling step of the LI-DiT with guidance (batch 2: conditional + unconditional): time and GFLOP/s against the sgemm peak of the same run.")

    @Option(parsing: .unconditional, help: "Text tokens per LLM branch (instruction prefix + prompt; 1...512).") var textTokens: Int = 45
    @Option(parsing: .unconditional, help: "Timed steps (1...1000).") var repetitions: Int = 20
    @Option(parsing: .unconditional, help: "Worker threads (\(Bounds.threads.text)).") var threads: Int?
    @Option(help: "A model file whose network to time (default: the standard configuration, the default model's).") var model: String?

    func run() throws {
        guard (1...512).contains(textTokens), (1...1000).contains(repetitions) else { throw CLIError("--text-tokens 1...512, --repetitions 1...1000") }
        try applyThreads(threads)
        let model = try self.model.map { try loadModelFile($0).0 } ?? LIDiTModel(config: .standard(), seed: 0)
        let peakBefore = measureSgemmPeak()
        let batch = randomTrainingBatch(for: model, batch: 2, textTokens: [textTokens, textTokens], seed: 1)
        let t = medianSeconds(repeats: repetitions) {
            _ = model.predict(noisy: batch.images, sigmas: [0.5, 0.5], text: batch.text)
        }
        // The higher of a measurement before and after: a dip in one would flatter the ratio.
        let peak = max(peakBefore, measureSgemmPeak())
        let flops = 2 * Double(model.forwardFlopsPerSample(textTokens: [textTokens, textTokens]))
        let g = flops / t / 1e9
        print(String(format: "sample step batch=2 ms=%.2f gflops=%.1f peak_gflops=%.1f of_peak=%.0f%%", t * 1000, g, peak, 100 * g / peak))
    }
}

struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "One whole guided picture with the default model (both LLMs, 24 steps): time by stage and FLOPs against the sgemm peak of the same run.",
        discussion: "The last line reads `generate ms=X encode_ms=Y sample_ms=Z of_peak=P`: medians of --repetitions pictures; encoding is both LLMs on the prompt with the instruction prefix cached, as `lidit generate` runs it.")

    @Option(help: "The prompt.") var prompt = "a red circle to the left of a blue square"
    @Option(help: "A model file (default: the default model).") var model: String?
    @Option(parsing: .unconditional, help: "Sampling steps (\(Bounds.steps.text)).") var steps = 24
    @Option(parsing: .unconditional, help: "Timed pictures (1...100).") var repetitions = 5
    @Option(parsing: .unconditional, help: "Worker threads (\(Bounds.threads.text)).") var threads: Int?

    func run() throws {
        guard (1...100).contains(repetitions) else { throw CLIError("--repetitions must be 1...100") }
        try Bounds.steps.check(steps)
        try applyThreads(threads)
        let pipeline = try loadPipeline(model)
        var request = GenerationRequest(prompt: prompt)
        request.sampler = SamplerSettings(sampler: .euler, steps: steps, shift: 1, guidanceScale: 4)
        let peakBefore = measureSgemmPeak()
        var failure: Error?
        let encode = medianSeconds(repeats: repetitions) {
            do { _ = try pipeline.textFeatures([prompt]) } catch { failure = error }
        }
        let whole = medianSeconds(repeats: repetitions) {
            do { _ = try pipeline.generate(request, seeds: [1]) } catch { failure = error }
        }
        if let failure { throw CLIError("\(failure)") }
        // The peak is measured before and after and the higher taken: a dip in one measurement
        // would otherwise flatter the ratio.
        let peak = max(peakBefore, measureSgemmPeak())

        // FLOPs (2 × multiply-adds): the LLMs over the prompt's own tokens (the prefix is cached),
        // then every guided step's conditional and unconditional rows.
        var encodeFlops = 0.0
        var textTokens: [Int] = []
        for enc in pipeline.encoders {
            let e = try enc.encode(prompt)
            let c = enc.model.config
            let fresh = e.tokens.count - e.instructionTokenCount, total = e.tokens.count
            let matrices = c.width * c.queryWidth * 2 + 2 * c.width * c.kvWidth + 3 * c.width * c.ffnWidth
            let attention = 2 * c.headCount * c.headDim * total
            encodeFlops += 2 * Double(c.blockCount * fresh * (matrices + attention))
            textTokens.append(e.features.count / e.width)
        }
        let sampleFlops = Double(steps) * 2 * Double(pipeline.model.forwardFlopsPerSample(textTokens: textTokens))
        let sample = max(whole - encode, 1e-9)
        print(String(format: "encode: %.1f ms, %.2f GFLOP (%.1f GFLOP/s)", encode * 1000, encodeFlops / 1e9, encodeFlops / encode / 1e9))
        print(String(format: "sample: %.1f ms for %d guided steps, %.2f GFLOP (%.1f GFLOP/s)", sample * 1000, steps, sampleFlops / 1e9,
                     sampleFlops / sample / 1e9))
        print(String(format: "peak sgemm GFLOP/s=%.1f", peak))
        print(String(format: "generate ms=%.1f encode_ms=%.1f sample_ms=%.1f of_peak=%.0f%%", whole * 1000, encode * 1000, sample * 1000,
                     100 * (encodeFlops + sampleFlops) / whole / 1e9 / peak))
    }
}

struct BenchEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Time `lidit eval`'s pictures: each case's seeds in one call (the prompt encoded once, the seeds side by side) against one call per seed (an encode each, one picture at a time), on the same cases in the same run.",
        discussion: "Both ways run the eval defaults (Euler, 24 steps, guidance 4) on the first --limit cases of --prompts, and every picture is compared. The last line reads `eval cases=N seeds=S batched_s=X one_at_a_time_s=Y ratio=R identical=yes|no`; ratio is batched over one at a time.")

    @Option(help: "Prompt file, JSON Lines.") var prompts = "benchmarks/shapes-geneval.jsonl"
    @Option(parsing: .unconditional, help: "Cases from the start of the file (1...600).") var limit = 40
    @Option(parsing: .unconditional, help: "Seeds per case (\(Bounds.seeds.text)).") var seeds = 4
    @Option(help: "A model file (default: the default model).") var model: String?
    @Option(parsing: .unconditional, help: "Worker threads (\(Bounds.threads.text)).") var threads: Int?

    func run() throws {
        guard (1...600).contains(limit) else { throw CLIError("--limit must be 1...600") }
        try Bounds.seeds.check(seeds)
        try applyThreads(threads)
        let text: String
        do { text = try String(contentsOfFile: prompts, encoding: .utf8) } catch { throw CLIError("cannot read \(prompts): \(error.localizedDescription)") }
        let cases: [BenchmarkCase]
        do { cases = Array(try PromptFile.parse(text).prefix(limit)) } catch { throw CLIError("\(prompts) is malformed: \(error)") }
        guard !cases.isEmpty else { throw CLIError("\(prompts) holds no cases") }
        let pipeline = try loadPipeline(model)
        var request = GenerationRequest(prompt: "")
        request.sampler = SamplerSettings(sampler: .euler, steps: 24, shift: 1, guidanceScale: 4)
        let seedList = (0..<seeds).map(UInt64.init)
        func generate(_ c: BenchmarkCase, _ s: [UInt64]) throws -> [RGBImage] {
            var r = request
            r.prompt = c.prompt
            return try pipeline.generate(r, seeds: s)
        }
        var batched: [[RGBImage]] = [], alone: [[RGBImage]] = []
        let t0 = Date()
        for c in cases { batched.append(try generate(c, seedList)) }
        let t1 = Date()
        for c in cases { alone.append(try seedList.map { try generate(c, [$0])[0] }) }
        let t2 = Date()
        let identical = zip(batched, alone).allSatisfy { zip($0, $1).allSatisfy { $0.pixels == $1.pixels } }
        let (b, a) = (t1.timeIntervalSince(t0), t2.timeIntervalSince(t1))
        print(String(format: "eval cases=%d seeds=%d batched_s=%.2f one_at_a_time_s=%.2f ratio=%.3f identical=%@",
                     cases.count, seeds, b, a, b / a, identical ? "yes" : "no"))
        if !identical { throw ExitCode(1) }
    }
}
