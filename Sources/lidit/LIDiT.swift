import ArgumentParser
import Foundation
import TerminalGraphics

@main
struct LIDiT: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "lidit",
        abstract: "LI-DiT Studio: text-to-image with LLM-infused diffusion transformers, in the terminal.",
        discussion: "Run without a subcommand to open the studio.",
        version: version,
        subcommands: [StudioCommand.self, GenerateCommand.self, EvalCommand.self, TrainCommand.self, EncodeCommand.self, ShowCommand.self, GalleryCommand.self,
                      ModelsCommand.self, BenchCommand.self, DatasetCommand.self, DebugCommand.self, GridCommand.self],
        defaultSubcommand: StudioCommand.self
    )
}

/// Turns thrown errors into one line on stderr and a non-zero exit, never a trap. Messages quote
/// prompts, file names and file contents, so they are made terminal-safe here.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = TerminalText.safe(description, keepNewlines: true) }
}
