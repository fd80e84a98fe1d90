import ArgumentParser
import Studio

struct StudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "studio",
        abstract: "Open the ncurses studio (the default command)."
    )

    func run() throws {
        do {
            try StudioApp().run()
        } catch let error as StudioError {
            throw CLIError(error.description)
        }
    }
}
