import ArgumentParser
import Foundation
import Kernels
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

    static func main() {
        restartWithVectorBLASIfNeeded()
        main(nil)
    }

    /// OpenBLAS reads its kernel family once, when the library loads, so a fallback to generic
    /// kernels on a CPU it does not know (`BLASCore`) is corrected by starting again with
    /// `OPENBLAS_CORETYPE` set. A user's own `OPENBLAS_CORETYPE` is left alone, which also ends the
    /// restart after one round.
    static func restartWithVectorBLASIfNeeded() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let core = BLASCore.recommendedCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        // The binary's own path, not /proc/self/exe: the kernel names the new process after the
        // path it was started from, and `ps`, `pgrep lidit` and `kill` scripts look for "lidit".
        if let path = realpath("/proc/self/exe", nil) {
            execv(path, &argv)
        }
        // Not restarted (no /proc): go on with the generic kernels, correct but slower.
        unsetenv("OPENBLAS_CORETYPE")
    }
}

/// Turns thrown errors into one line on stderr and a non-zero exit, never a trap. Messages quote
/// prompts, file names and file contents, so they are made terminal-safe here.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = TerminalText.safe(description, keepNewlines: true) }
}
