import ArgumentParser
import Foundation
import Gallery
import ImageIO
import PromptEncoder
import Sampling
import TerminalGraphics
import Pipeline

/// One axis of an X/Y grid: a generation setting and the values it takes ("cfg=1,4,7").
struct GridAxis: Equatable {
    enum Setting: Equatable { case seed, steps, cfg, sampler, shift, fusion(String), template(String?), layer(String?) }
    var name: String
    var setting: Setting
    var values: [String]

    static let help = "seed, steps, cfg, sampler, shift, fusion.LLM, template or template.LLM (on/off), layer or layer.LLM; LLM is smollm2 or gemma3"

    /// Parses `NAME=V1,V2,…`, checking every value as the matching `generate` option would.
    static func parse(_ text: String, option: String) throws -> GridAxis {
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[1].isEmpty else { throw ValidationError("\(option) takes NAME=V1,V2,… (NAME: \(help)), got '\(text)'") }
        let name = parts[0].lowercased()
        let values = parts[1].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard values.count <= 32 else { throw ValidationError("\(option): at most 32 values") }
        let dot = name.split(separator: ".", maxSplits: 1).map(String.init)
        let llm = dot.count == 2 ? dot[1] : nil
        if let llm, EncoderID(rawValue: llm) == nil { throw ValidationError("\(option): unknown LLM '\(llm)' (smollm2 or gemma3)") }
        let setting: Setting
        switch (dot[0], llm) {
        case ("seed", nil): setting = .seed
        case ("steps", nil): setting = .steps
        case ("cfg", nil): setting = .cfg
        case ("sampler", nil): setting = .sampler
        case ("shift", nil): setting = .shift
        case ("fusion", let l?): setting = .fusion(l)
        case ("template", let l): setting = .template(l)
        case ("layer", let l): setting = .layer(l)
        default: throw ValidationError("\(option): unknown setting '\(parts[0])' (\(help))")
        }
        let axis = GridAxis(name: name, setting: setting, values: values)
        for v in values { _ = try axis.apply(v, to: GridCell(), option: option) }
        return axis
    }

    /// `cell` with this axis set to `value` (checked).
    func apply(_ value: String, to cell: GridCell, option: String) throws -> GridCell {
        var c = cell
        func bad(_ why: String) -> ValidationError { ValidationError("\(option) \(name)=\(value): \(why)") }
        switch setting {
        case .seed: guard let v = UInt64(value) else { throw bad("a seed is 0...\(UInt64.max)") }; c.seed = v
        case .steps:
            guard let v = Int(value), Bounds.steps.range.contains(v) else { throw bad("steps are \(Bounds.steps.text)") }; c.steps = v
        case .cfg:
            guard let v = Double(value), Bounds.cfg.range.contains(v) else { throw bad("cfg is \(Bounds.cfg.text)") }; c.cfg = v
        case .sampler:
            do { c.sampler = try SamplerKind(parsing: value) } catch { throw bad("\(error)") }
        case .shift:
            guard let v = Double(value), Bounds.shift.range.contains(v) else { throw bad("shift is \(Bounds.shift.text)") }; c.shift = v
        case .fusion(let llm):
            guard let v = Float(value), v.isFinite, (0...4).contains(v) else { throw bad("fusion weights are 0...4") }; c.fusion[llm] = v
        case .template(let llm):
            let on: Bool
            switch value.lowercased() {
            case "on", "true", "1", "yes": on = true
            case "off", "false", "0", "no": on = false
            default: throw bad("a template is on or off")
            }
            for id in llm.map({ [$0] }) ?? EncoderID.allCases.map(\.rawValue) { c.template[id] = on }
        case .layer(let llm):
            guard let v = Int(value), Bounds.layer.range.contains(v) else { throw bad("layers are \(Bounds.layer.text) (the LLM's range)") }
            for id in llm.map({ [$0] }) ?? EncoderID.allCases.map(\.rawValue) { c.layer[id] = v }
        }
        return c
    }

    /// The label drawn for a value ("cfg=4").
    func label(_ value: String) -> String { "\(name)=\(value)" }
}

/// The settings of one grid cell.
struct GridCell: Equatable {
    var seed: UInt64 = 0
    var steps = 24
    var cfg = 4.0
    var sampler = SamplerKind.euler
    var shift = 1.0
    /// Per LLM id; absent = 1, or the --fusion value.
    var fusion: [String: Float] = [:]
    var template: [String: Bool] = [:]
    var layer: [String: Int] = [:]
}

/// What a grid PNG carries besides its A1111 `parameters` (those of the first cell): every
/// cell's rectangle and settings, in the `lidit-grid` chunk.
struct GridMetadata: Codable {
    struct Axis: Codable { var name: String; var values: [String] }
    struct Cell: Codable {
        var row: Int, column: Int
        var x: Int, y: Int, width: Int, height: Int
        var settings: GenerationSettings
    }
    var x: Axis
    var y: Axis?
    var cells: [Cell]
}

struct GridCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grid",
        abstract: "An X/Y grid of pictures over generation settings, in one labelled PNG (A1111's X/Y plot).",
        discussion: """
            Axes: \(GridAxis.help). Every cell is generated exactly as `lidit generate` would with its \
            settings (the same pixels); the PNG's `lidit-grid` text chunk holds every cell's rectangle \
            and parameters, its `parameters` chunk those of the first cell. Example: \
            lidit grid -p "a red circle" --x cfg=1,4,7 --y seed=1,2 -o grid.png
            """)

    @Option(name: [.short, .customLong("prompt")], help: "The prompt (at most \(Bounds.promptBytes) bytes).") var prompt: String
    @Option(name: [.short, .customLong("negative")], help: "Negative prompt.") var negative: String = ""
    @Option(name: .customLong("x"), help: ArgumentHelp("Columns: NAME=V1,V2,… (\(GridAxis.help)).", valueName: "NAME=V1,V2,…")) var xAxis: String
    @Option(name: .customLong("y"), help: ArgumentHelp("Rows: NAME=V1,V2,… (default: one row).", valueName: "NAME=V1,V2,…")) var yAxis: String?
    @Option(name: [.short, .customLong("output")], help: "The grid PNG.") var output: String
    @Option(parsing: .unconditional, help: "Seed of every cell unless an axis sets it (0...\(UInt64.max); default 0).") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Sampling steps (\(Bounds.steps.text)).") var steps: Int = 24
    @Option(parsing: .unconditional, help: "Classifier-free guidance scale (\(Bounds.cfg.text)).") var cfg: Double = 4
    @Option(help: "Sampler: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")).") var sampler: String = "euler"
    @Option(parsing: .unconditional, help: "Schedule shift (SD3; \(Bounds.shift.text)).") var shift: Double = 1
    @Option(help: "Fusion weights, e.g. smollm2=1,gemma3=1 (weights 0...4).") var fusion: String?
    @Option(parsing: .unconditional, help: "Whole-number upscaling of the cells (\(Bounds.scale.text); default: to about 96 pixels).") var scale: Int?
    @Option(help: "Model file (default: the trained default model).") var model: String?
    @Option(parsing: .unconditional, help: "Worker threads (\(Bounds.threads.text); results are identical for any count).") var threads: Int?

    func axes() throws -> (GridAxis, GridAxis?) {
        let x = try GridAxis.parse(xAxis, option: "--x")
        let y = try yAxis.map { try GridAxis.parse($0, option: "--y") }
        if let y, y.setting == x.setting { throw ValidationError("--x and --y set the same setting (\(x.name))") }
        return (x, y)
    }

    func validate() throws {
        try Bounds.steps.check(steps)
        try Bounds.cfg.check(cfg)
        try Bounds.shift.check(shift)
        try Bounds.scale.check(scale)
        try Bounds.threads.check(threads)
        do { try GenerationRequest.checkPromptSize(prompt, negative: negative) } catch { throw ValidationError("\(error)") }
        _ = try axes()
    }

    func run() throws {
        try applyThreads(threads)
        let (xAxis, yAxis) = try axes()
        var base = GridCell(seed: seed, steps: steps, cfg: cfg, shift: shift)
        do { base.sampler = try SamplerKind(parsing: sampler) } catch { throw CLIError("\(error)") }
        do { try OutputFile.check(output) } catch { throw CLIError("-o: \(error)") }
        let pipeline = try loadPipeline(model)
        let ids = pipeline.encoders.map(\.id)
        if let given = try parseFusion(fusion, encoders: ids) { for (id, w) in zip(ids, given) { base.fusion[id] = w } }
        for axis in [xAxis] + (yAxis.map { [$0] } ?? []) {
            switch axis.setting {
            case .fusion(let l), .template(let l?), .layer(let l?):
                guard ids.contains(l) else { throw CLIError("\(axis.name): the model has no \(l) (it uses \(ids.joined(separator: ", ")))") }
            default: break
            }
        }
        let defaultTemplates = Dictionary(uniqueKeysWithValues: pipeline.encoders.map { ($0.id, $0.template.enabled) })
        let rowValues = yAxis?.values ?? [""]
        var cells: [GridCell] = []
        for r in rowValues {
            let row = try yAxis.map { try $0.apply(r, to: base, option: "--y") } ?? base
            for c in xAxis.values { cells.append(try xAxis.apply(c, to: row, option: "--x")) }
        }
        var pictures: [RGBImage] = []
        var recorded: [GenerationSettings] = []
        for (i, cell) in cells.enumerated() {
            for enc in pipeline.encoders {
                let want = cell.template[enc.id] ?? defaultTemplates[enc.id] ?? true
                if enc.template.enabled != want {
                    do { try enc.setTemplate(InstructionTemplate(text: enc.template.text, enabled: want)) } catch { throw CLIError("\(error)") }
                }
            }
            let layers = zip(pipeline.encoders, pipeline.layers).map { enc, trained in cell.layer[enc.id] ?? trained }
            for (enc, layer) in zip(pipeline.encoders, layers) where enc.model.resolveLayer(layer) == nil {
                throw CLIError("layer \(layer) is out of range for \(enc.id) (0...\(enc.model.config.blockCount) or -1...-\(enc.model.config.blockCount + 1))")
            }
            let p: ImagePipeline
            do { p = try pipeline.withLayers(layers) } catch { throw CLIError("\(error)") }
            var request = GenerationRequest(prompt: prompt)
            request.negativePrompt = negative
            request.sampler = SamplerSettings(sampler: cell.sampler, steps: cell.steps, shift: cell.shift, guidanceScale: cell.cfg)
            do { try request.sampler.validate() } catch { throw CLIError("\(error)") }
            request.fusionWeights = cell.fusion.isEmpty ? nil : ids.map { cell.fusion[$0] ?? 1 }
            let start = Date()
            let image: RGBImage
            do {
                image = try p.generate(request, seeds: [cell.seed]) { step, total, _ in
                    FileHandle.standardError.write(Data("\rlidit: cell \(i + 1)/\(cells.count) step \(step + 1)/\(total)".utf8))
                    return true
                }[0]
            } catch let e as PipelineError { throw CLIError(e.description) }
            var settings = p.recordedSettings(request, seed: cell.seed, image: image, appVersion: LIDiT.version)
            settings.elapsedSeconds = Date().timeIntervalSince(start)
            pictures.append(image)
            recorded.append(settings)
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let size = pipeline.model.config.imageSize
        let grid = PictureGrid(columnLabels: xAxis.values.map(xAxis.label), rowLabels: yAxis.map { y in y.values.map(y.label) } ?? [""],
                               cellWidth: size, cellHeight: size, scale: scale ?? max(1, 96 / size))
        let picture = grid.render(pictures)
        let metadata = GridMetadata(x: .init(name: xAxis.name, values: xAxis.values),
                                    y: yAxis.map { .init(name: $0.name, values: $0.values) },
                                    cells: zip(grid.cells, recorded).map { cell, s in
                                        .init(row: cell.row, column: cell.column, x: cell.x, y: cell.y, width: cell.width, height: cell.height, settings: s)
                                    })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: (try? encoder.encode(metadata)) ?? Data("{}".utf8), as: UTF8.self)
        let texts = [PNGText(keyword: "parameters", text: A1111Parameters.format(recorded[0])),
                     PNGText(keyword: "lidit-grid", text: json)]
        do { try OutputFile.replace(output) { try PNGFile(image: picture, texts: texts).write(path: $0) } } catch { throw CLIError("\(error)") }
        print(output)
    }
}
