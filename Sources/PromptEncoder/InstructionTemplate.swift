import Foundation

/// Usage guidance: the instruction an LLM reads before the user's prompt (LI-DiT §3.1).
///
/// The template is text with one `{prompt}` placeholder. Special tokens (like `<|im_start|>` or
/// `<bos>`) are recognised only in the template's own text; the user's prompt is always
/// tokenized as plain text. The part before `{prompt}` is the *instruction prefix*: its tokens
/// are computed once, cached, run through the refiners, and dropped before the DiT sees the text.
public struct InstructionTemplate: Codable, Equatable, Sendable {
    public var text: String
    public var enabled: Bool

    public init(text: String, enabled: Bool = true) {
        self.text = text
        self.enabled = enabled
    }

    /// The paper's instruction (Ma et al. 2024, Fig. 4).
    public static let paperInstruction =
        "Describe the image by detailing the color, shape, size, texture, quantity, text, and spatial relationships of the objects"

    /// SmolLM2-Instruct is chat-tuned: the instruction goes in a system turn, the prompt in the user turn.
    public static let smollm2 = InstructionTemplate(
        text: "<|im_start|>system\n\(paperInstruction).<|im_end|>\n<|im_start|>user\n{prompt}")

    /// Gemma-3-270M is a base model: a plain prefix after BOS, as the paper writes it.
    public static let gemma3 = InstructionTemplate(text: "<bos>\(paperInstruction): {prompt}")

    public static func `default`(for encoderID: String) -> InstructionTemplate {
        switch encoderID {
        case "gemma3": return gemma3
        default: return smollm2
        }
    }

    public struct Parts: Equatable {
        /// Tokenized with special tokens recognised.
        public var prefix: String
        /// Put before the prompt, tokenized with it (a separating space belongs to the prompt's
        /// first word in both BPE and SentencePiece, so it is moved here from the prefix).
        public var promptLead: String
        /// After the prompt; tokenized with special tokens recognised.
        public var suffix: String
    }

    public func parts() throws -> Parts {
        let marker = "{prompt}"
        guard let range = text.range(of: marker) else {
            throw PromptEncoderError("instruction template must contain {prompt} exactly once")
        }
        let after = String(text[range.upperBound...])
        guard !after.contains(marker) else {
            throw PromptEncoderError("instruction template must contain {prompt} exactly once")
        }
        var prefix = String(text[..<range.lowerBound])
        var lead = ""
        while prefix.hasSuffix(" ") { prefix.removeLast(); lead += " " }
        return Parts(prefix: prefix, promptLead: lead, suffix: after)
    }
}

public struct PromptEncoderError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One LLM of a model's prompt encoder, as a model file and a training configuration record it:
/// which LLM, which hidden layer (HF `hidden_states` indexing; negative counts from the end) and
/// the instruction template around the prompt.
public struct EncoderSpec: Codable, Equatable, Sendable {
    public var id: String
    public var layer: Int = -3
    public var template: InstructionTemplate
    public init(id: String, layer: Int = -3, template: InstructionTemplate? = nil) {
        self.id = id; self.layer = layer; self.template = template ?? .default(for: id)
    }
}
