import Diffusion
import Evaluation
import Foundation
import Gallery
import ImageIO
import LLM
import ModelFiles
import Shapes
import Studio
import TerminalGraphics
import Tokenizers

/// The parsers of outside data, one fuzz target per family, each calling the entry point the
/// tool itself uses on that data and then what the tool does next with the result. The libFuzzer
/// driver (`fuzz/driver`, built by `scripts/fuzz`) and the replay tests (`Tests/FuzzTests`) run
/// these same functions, so a crash the fuzzer finds is a failing test once its input is kept in
/// `fuzz/regressions/<target>/`.
///
/// A target must return for any bytes: a thrown error is a refusal (fine), a trap, a hang or a
/// leak is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A GGUF file (`GGUFFile(path:)`), then its tokenizer (`makeTokenizer`), its LLM
    /// (`DecoderLM.load`) and every tensor dequantized.
    case gguf
    /// A safetensors model file (`SafetensorsFile.parse`), then its `lidit.training_config` decoded
    /// and checked as `ModelFile.read` does for `ImagePipeline.load`, up to counting the weights.
    case safetensors
    /// A PNG (`PNGFile.read(data:)`), then the settings in its text chunks (`PictureMetadata.read`).
    case png
    /// PNG text chunk contents: the first byte picks the keyword (`parameters`, `lidit`,
    /// `invokeai_metadata`, `prompt`, `Comment`), the rest is the text; through
    /// `PictureMetadata.read`, `A1111Parameters.parse` and back to A1111 text and JSON.
    case metadata
    /// An eval prompt file (`PromptFile.parse`, after the UTF-8 and line-length checks of `lidit
    /// eval`), then each case's scene laid out as `--ground-truth` does.
    case promptfile
    /// A theme file (`Theme.parse`), then every role's colours at every colour depth.
    case theme
    /// The first byte picks: even, `studio.json` (`StudioSettings` decoding, then the studio's
    /// state and its screen); odd, `prompt-history.jsonl` (`PromptHistory.load(path:)`).
    case settings
    /// The LLM tokenizers (SmolLM2's BPE and Gemma 3's SentencePiece, from the GGUF files in the
    /// models folder) on arbitrary bytes: the first byte picks the tokenizer, encode or decode,
    /// BOS and special-token parsing; the rest is the text, or token ids (little-endian Int32).
    case tokenizer

    /// Runs one input. Never throws: refusals are part of the contract.
    public func run(_ data: Data) { _ = accepts(data) }

    /// Runs one input; true when the first parser accepted it (for checking that seeds are real).
    public func accepts(_ data: Data) -> Bool {
        switch self {
        case .gguf: Self.gguf(data)
        case .safetensors: Self.safetensors(data)
        case .png: Self.png(data)
        case .metadata: Self.metadata(data)
        case .promptfile: Self.promptFile(data)
        case .theme: Self.theme(data)
        case .settings: Self.settings(data)
        case .tokenizer: Self.tokenizer(data)
        }
    }

    /// Whether the target can run here (the tokenizer target needs the LLM files).
    public var unavailableReason: String? {
        guard self == .tokenizer else { return nil }
        let store = ModelStore()
        for m in [KnownModel.smollm2, KnownModel.gemma3] where !store.isPresent(m) {
            return "\(store.path(m)) is missing: run `lidit models fetch`"
        }
        return nil
    }

    // MARK: targets

    static func gguf(_ data: Data) -> Bool {
        ScratchFile.shared.with(data) { path in
            guard let file = try? GGUFFile(path: path) else { return false }
            _ = file.metadataKeys.map { file.metadata[$0]?.string }
            if let tok = try? makeTokenizer(from: file) {
                let ids = tok.encode("a red circle <|im_start|> left of é", addBOS: tok.addsBOSByDefault, parseSpecial: true)
                _ = tok.decode(ids + [-1, Int32.max, Int32.min])
                _ = (ids + [-1, Int32.max]).map(tok.tokenText)
            }
            _ = try? DecoderLM.load(from: file)
            for t in file.tensors { _ = try? file.tensor(t, rows: 0..<t.rowCount) }
            return true
        } ?? false
    }

    static func safetensors(_ data: Data) -> Bool {
        guard (try? SafetensorsFile.parse(data, path: "fuzz.safetensors")) != nil else { return false }
        // As ImagePipeline.load (through ModelFile): decode, range-check, match encoders to branches, count the weights.
        _ = try? ModelFile.parse(data, path: "fuzz.safetensors")
        return true
    }

    static func png(_ data: Data) -> Bool {
        guard let png = try? PNGFile.read(data: data) else { return false }
        let meta = PictureMetadata.read(png)
        _ = TerminalText.safe(meta.settings.prompt)
        _ = meta.parametersText.map { TerminalText.safe($0, keepNewlines: true) }
        _ = meta.settings.jsonString()
        return true
    }

    static let metadataKeywords = ["parameters", PictureMetadata.jsonKeyword, "invokeai_metadata", "prompt", "Comment"]

    static func metadata(_ data: Data) -> Bool {
        guard let selector = data.first else { return false }
        let text = String(decoding: data.dropFirst(), as: UTF8.self)
        let keyword = metadataKeywords[Int(selector) % metadataKeywords.count]
        let png = PNGFile(image: RGBImage(width: 1, height: 1), texts: [PNGText(keyword: keyword, text: text)])
        let meta = PictureMetadata.read(png)
        // What the gallery and `show` do next: index it, print it, write it back as A1111 text.
        _ = A1111Parameters.format(meta.settings)
        _ = meta.settings.jsonString()
        _ = TerminalText.safe(meta.settings.prompt)
        let parsed = A1111Parameters.parse(text)
        _ = A1111Parameters.settings(from: parsed)
        _ = A1111Parameters.format(prompt: parsed.prompt, negativePrompt: parsed.negativePrompt, pairs: parsed.pairs)
        _ = try? GenerationSettings.fromJSON(text)
        return meta.source != .none
    }

    static func promptFile(_ data: Data) -> Bool {
        // `lidit eval` refuses non-UTF-8 files and lines over 64 KiB before parsing.
        guard let text = String(data: data, encoding: .utf8),
              !text.split(separator: "\n", omittingEmptySubsequences: false).contains(where: { $0.utf8.count > 65_536 }),
              let cases = try? PromptFile.parse(text) else { return false }
        let generator = GroundTruthGenerator(resolution: 16)
        for c in cases.prefix(8) {
            _ = try? generator.scene(for: c, seed: 0)
            _ = PromptFile.serialize([c])
        }
        return true
    }

    static func theme(_ data: Data) -> Bool {
        guard let theme = try? Theme.parse(data) else { return false }
        for role in Role.allCases {
            let s = theme.style(role)
            for depth in ColorDepth.allCases { _ = (depth.colorNumber(s.fg), depth.colorNumber(s.bg)) }
        }
        return true
    }

    static func settings(_ data: Data) -> Bool {
        guard let selector = data.first else { return false }
        let body = data.dropFirst()
        if selector & 1 == 0 {
            guard let settings = try? JSONDecoder().decode(StudioSettings.self, from: Data(body)) else { return false }
            _ = settings.samplerSettings
            let state = StudioState(settings: settings)
            for row in SettingRow.allCases { _ = state.settingValue(row) }
            _ = StudioView.render(state, now: Date(timeIntervalSince1970: 0), pictures: false)
            return true
        }
        return ScratchFile.shared.with(Data(body)) { path in
            let history = PromptHistory.load(path: path)
            _ = StudioState(history: history)
            return !history.items.isEmpty
        } ?? false
    }

    static func tokenizer(_ data: Data) -> Bool {
        guard let selector = data.first, let tokenizers = LoadedTokenizers.shared else { return false }
        let tok = tokenizers[Int(selector & 1)]
        let body = data.dropFirst()
        if selector & 8 == 0 {
            let ids = tok.encode(String(decoding: body, as: UTF8.self), addBOS: selector & 4 != 0, parseSpecial: selector & 2 != 0)
            _ = tok.decode(ids)
        } else {
            let bytes = [UInt8](body)
            var ids: [Int32] = []
            for i in stride(from: 0, to: bytes.count - 3, by: 4) {
                var v: UInt32 = 0
                for k in 0..<4 { v |= UInt32(bytes[i + k]) << (8 * UInt32(k)) }
                ids.append(Int32(bitPattern: v))
            }
            _ = tok.decode(ids)
            _ = ids.map(tok.tokenText)
        }
        return true
    }
}

/// The two LLM tokenizers, built once from the models folder (nil when the files are missing).
enum LoadedTokenizers {
    static let shared: [Tokenizer]? = {
        let store = ModelStore()
        return try? [KnownModel.smollm2, KnownModel.gemma3].map { m in
            try makeTokenizer(from: GGUFFile(path: store.path(m)))
        }
    }()
}

/// Entry points that take a path get the input through one reused file (in /dev/shm when there is
/// one): the fuzzer runs one input at a time.
final class ScratchFile: @unchecked Sendable {
    static let shared = ScratchFile()
    let path: String
    private let lock = NSLock()

    init() {
        let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        path = dir + "/lidit-fuzz-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    deinit { unlink(path) }

    func with<T>(_ data: Data, _ body: (String) -> T) -> T? {
        lock.lock()
        defer { lock.unlock(); unlink(path) }
        guard FileManager.default.createFile(atPath: path, contents: data) else { return nil }
        return body(path)
    }
}
