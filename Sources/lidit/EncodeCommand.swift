import ArgumentParser
import Foundation
import ImageIO
import Kernels
import ModelFiles
import Pipeline
import PromptEncoder

enum EncoderID: String, ExpressibleByArgument, CaseIterable {
    case smollm2, gemma3
}

/// Writes a float32 array as NumPy's .npy (format 1.0, little-endian, C order).
func writeNPY(_ values: [Float], shape: [Int], to path: String) throws {
    let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
    let len = UInt16(header.utf8.count)
    data.append(contentsOf: [UInt8(len & 0xFF), UInt8(len >> 8)])
    data.append(contentsOf: Array(header.utf8))
    values.withUnsafeBytes { data.append(contentsOf: $0) }
    do { try OutputFile.write(data, to: path) } catch { throw CLIError("\(error)") }
}

struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Hidden states of one LLM for a prompt, as float32 .npy [tokens, width].",
        discussion: """
        --layer uses Hugging Face hidden_states indexing: 0 = token embeddings (after Gemma's √width scale), \
        k = output of block k (blocks counted from 1, before any final norm), negative counts from the end \
        (-1 = last block, -3 = third-to-last, the default). Without --raw the prompt is wrapped in the \
        encoder's instruction template and all tokens (template and prompt) are returned.
        """)

    @Option(help: "smollm2 or gemma3.") var encoder: EncoderID
    @Option(parsing: .unconditional, help: "Layer, HF hidden_states indexing (0 = embeddings, negative from the end; the LLM's range).") var layer: Int = -3
    @Flag(help: "Apply the model's final norm.") var finalNorm = false
    @Flag(help: "No instruction template; the model's default BOS handling.") var raw = false
    @Option(help: "The prompt (plain text: special-token spellings stay text).") var prompt: String
    @Option(help: "Write the hidden states here.") var npy: String?
    @Flag(help: "Print the token ids as a JSON array.") var ids = false

    func validate() throws {
        try Bounds.layer.check(layer)
        do { try GenerationRequest.checkPromptSize(prompt) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        if let npy { do { try OutputFile.check(npy) } catch { throw CLIError("--npy: \(error)") } }
        let enc = try loadEncoder(encoder.rawValue, raw: raw)
        let e = try enc.encode(prompt, layer: layer, finalNorm: finalNorm)
        for w in e.warnings { FileHandle.standardError.write(Data("lidit: warning: \(w)\n".utf8)) }
        if ids { print("[" + e.tokens.map(String.init).joined(separator: ", ") + "]") }
        if let npy { try writeNPY(e.features, shape: [e.tokens.count, e.width], to: npy) }
        if !ids && npy == nil {
            print("encoder=\(encoder.rawValue) layer=\(layer) tokens=\(e.tokens.count) width=\(e.width) instruction_tokens=\(e.instructionTokenCount)")
        }
    }
}

func loadEncoder(_ id: String, raw: Bool) throws -> LLMTextEncoder {
    do {
        var template = InstructionTemplate.default(for: id)
        template.enabled = !raw
        return try LLMTextEncoder.load(id, template: template)
    } catch let e as ModelStoreError { throw CLIError(e.description) }
    catch let e as GGUFError { throw CLIError(e.description) }
    catch let e as PromptEncoderError { throw CLIError(e.description) }
}
