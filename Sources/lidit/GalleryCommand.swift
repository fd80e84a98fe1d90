import ArgumentParser
import Foundation
import Gallery
import ImageIO
import TerminalGraphics

struct GalleryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallery",
        abstract: "The on-disk history of generated pictures.",
        discussion: """
            The gallery is a folder of PNG files: $LIDIT_GALLERY, else $XDG_DATA_HOME/lidit/gallery, else \
            ~/.local/share/lidit/gallery. Each PNG carries A1111-style `parameters` text and a JSON chunk \
            with every setting; the SQLite index beside them is rebuilt from the files when needed.
            """,
        subcommands: [GalleryList.self, GallerySearch.self, GalleryShow.self, GalleryExport.self,
                      GalleryDelete.self, GalleryRestore.self, GalleryRebuild.self],
        defaultSubcommand: GalleryList.self
    )
}

struct GalleryLocation: ParsableArguments {
    @Option(name: .customLong("dir"), help: "The gallery folder (default: $LIDIT_GALLERY or the XDG data folder).")
    var dir: String?

    func open(printWarnings: Bool = true) throws -> GalleryStore {
        let root = dir ?? GalleryStore.defaultRoot()
        let store: GalleryStore
        do { store = try GalleryStore(root: root) } catch { throw CLIError("cannot open the gallery at \(root): \(error)") }
        if printWarnings { for w in store.warnings { TerminalOutput.warn(w.description) } }
        return store
    }
}

/// One entry as JSON for `--json` output.
struct EntryJSON: Encodable {
    var name: String
    var path: String
    var source: String
    var settings: GenerationSettings

    init(_ e: GalleryEntry) {
        name = e.name; path = e.path; source = e.source.rawValue; settings = e.settings
    }
}

func printEntries(_ entries: [GalleryEntry], json: Bool) throws {
    if json {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        TerminalOutput.writeStdout(String(decoding: try enc.encode(entries.map(EntryJSON.init)), as: UTF8.self) + "\n")
        return
    }
    var cols = 100
    if isatty(STDOUT_FILENO) != 0, let ws = TerminalCapabilities.windowSize(fd: STDOUT_FILENO), ws.cols > 20 { cols = ws.cols }
    let fmt = DateFormatter()
    fmt.dateFormat = "yyyy-MM-dd HH:mm"
    for e in entries {
        let s = e.settings
        // Names, sampler labels and prompts come from files: terminal-safe, one line each.
        let head = "\(TerminalText.safe(e.shortID).padding(toLength: 8, withPad: " ", startingAt: 0))  \(fmt.string(from: s.created))  "
            + "seed \(s.seed)  \(s.width)x\(s.height)  \(TerminalText.safe(s.samplerLabel)) \(s.steps)  "
        let prompt = TerminalText.safe(s.prompt.replacingOccurrences(of: "\n", with: " "))
        let room = max(10, cols - head.count)
        TerminalOutput.writeStdout(head + (prompt.count > room ? String(prompt.prefix(room - 1)) + "…" : prompt) + "\n")
    }
}

struct GalleryList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List pictures, newest first.")

    @OptionGroup var location: GalleryLocation
    @Option(parsing: .unconditional, help: "Show at most this many (\(Bounds.limit.text)).") var limit: Int?
    @Flag(help: "JSON output (every setting).") var json = false

    func validate() throws { try Bounds.limit.check(limit) }

    func run() throws {
        let store = try location.open()
        let entries = try store.entries(limit: limit)
        if entries.isEmpty && !json {
            FileHandle.standardError.write(Data("The gallery at \(store.root) is empty.\n".utf8))
            return
        }
        try printEntries(entries, json: json)
    }
}

struct GallerySearch: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Find pictures whose prompt contains every word given.")

    @OptionGroup var location: GalleryLocation
    @Argument(help: "Words to look for (any script; case-insensitive).") var words: [String]
    @Flag(help: "Search the negative prompts too.") var negative = false
    @Option(parsing: .unconditional, help: "Show at most this many (\(Bounds.limit.text)).") var limit: Int?
    @Flag(help: "JSON output (every setting).") var json = false

    func validate() throws { try Bounds.limit.check(limit) }

    func run() throws {
        let store = try location.open()
        let hits = try store.search(words.joined(separator: " "), includeNegative: negative, limit: limit)
        if hits.isEmpty && !json {
            FileHandle.standardError.write(Data("No picture matches.\n".utf8))
            throw ExitCode(1)
        }
        try printEntries(hits, json: json)
    }
}

/// A gallery reference (name, id, short id, prefix) or the path of any PNG file.
func loadPicture(_ ref: String, location: GalleryLocation) throws -> (path: String, settings: GenerationSettings, source: MetadataSource, parameters: String?) {
    var isDir: ObjCBool = false
    if ref.contains("/") || ref.lowercased().hasSuffix(".png"), FileManager.default.fileExists(atPath: ref, isDirectory: &isDir), !isDir.boolValue {
        let png: PNGFile
        do { png = try PNGFile.read(path: ref) } catch { throw CLIError("cannot read \(error)") }
        let m = PictureMetadata.read(png)
        return (ref, m.settings, m.source, m.parametersText)
    }
    let store = try location.open()
    do {
        let e = try store.resolve(ref)
        return (e.path, e.settings, e.source, e.parametersText)
    } catch let e as GalleryError {
        throw CLIError(e.description)
    }
}

struct GalleryShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a picture's settings and the picture.",
        discussion: "REF is a gallery file name, its short id (the last 8 hex digits), a unique prefix, or the path of any PNG (A1111, ComfyUI and InvokeAI metadata are read too)."
    )

    @OptionGroup var location: GalleryLocation
    @Argument(help: "The picture.") var ref: String
    @OptionGroup var picture: PictureOptions
    @Flag(help: "Settings only, no picture.") var noImage = false
    @Flag(help: "The settings as JSON, no picture.") var json = false

    func run() throws {
        let p = try loadPicture(ref, location: location)
        if json {
            TerminalOutput.writeStdout(p.settings.jsonString() + "\n")
            return
        }
        TerminalOutput.writeStdout("File:      \(TerminalText.safe(p.path))\n" + TerminalOutput.describe(p.settings, source: p.source, parameters: p.parameters) + "\n")
        if noImage { return }
        let img: RGBImage
        do { img = try PNGFile.read(path: p.path).image } catch { throw CLIError("cannot read \(error)") }
        try TerminalOutput.printPicture(img, options: picture)
    }
}

enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case png, a1111, json
}

struct GalleryExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Copy a picture out of the gallery, or print its parameters (A1111 text or JSON).",
        discussion: "--format a1111 prints the text A1111, Civitai and most other tools paste; --format json every setting."
    )

    @OptionGroup var location: GalleryLocation
    @Argument(help: "The picture (as for `gallery show`).") var ref: String
    @Option(help: "png (copy the file), a1111 or json.") var format: ExportFormat = .png
    @Option(name: .shortAndLong, help: "Where to write (png: a file or folder, default the current folder; text: default stdout).")
    var output: String?

    func run() throws {
        let p = try loadPicture(ref, location: location)
        switch format {
        case .png:
            var dest = output ?? FileManager.default.currentDirectoryPath
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dest, isDirectory: &isDir), isDir.boolValue {
                dest += "/" + (p.path as NSString).lastPathComponent
            }
            if FileManager.default.fileExists(atPath: dest) { throw CLIError("\(dest) already exists") }
            guard let data = FileManager.default.contents(atPath: p.path) else { throw CLIError("cannot read \(p.path)") }
            do { try OutputFile.write(data, to: dest) } catch { throw CLIError("\(error)") }
            FileHandle.standardError.write(Data("wrote \(dest)\n".utf8))
        case .a1111, .json:
            let text = (format == .json ? p.settings.jsonString() : A1111Parameters.format(p.settings)) + "\n"
            if let out = output {
                do { try OutputFile.write(Data(text.utf8), to: out) } catch { throw CLIError("\(error)") }
            } else {
                // Piped, the text goes out exactly; on a terminal, made safe to show.
                TerminalOutput.writeStdout(isatty(STDOUT_FILENO) != 0 ? TerminalText.safe(text, keepNewlines: true) : text)
            }
        }
    }
}

struct GalleryDelete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Move pictures to the gallery's trash folder (undo with `restore`).")

    @OptionGroup var location: GalleryLocation
    @Argument(help: "The pictures.") var refs: [String]

    func run() throws {
        let store = try location.open()
        for ref in refs {
            do {
                let t = try store.delete(try store.resolve(ref))
                print("trashed \(TerminalText.safe(t.originalName)) (restore with: lidit gallery restore \(TerminalText.safe(t.trashName)))")
            } catch let e as GalleryError {
                throw CLIError(e.description)
            }
        }
    }
}

struct GalleryRestore: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Put trashed pictures back; without arguments, list the trash.")

    @OptionGroup var location: GalleryLocation
    @Argument(help: "Names in the trash folder.") var names: [String] = []

    func run() throws {
        let store = try location.open()
        if names.isEmpty {
            let t = store.trashed()
            if t.isEmpty { FileHandle.standardError.write(Data("The trash is empty.\n".utf8)) }
            for item in t { print(TerminalText.safe(item.trashName)) }
            return
        }
        for n in names {
            do { print("restored \(TerminalText.safe(try store.restore(n).name))") } catch let e as GalleryError { throw CLIError(e.description) }
        }
    }
}

struct GalleryRebuild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rebuild", abstract: "Rebuild the index from the PNG files.")

    @OptionGroup var location: GalleryLocation

    func run() throws {
        let store = try location.open(printWarnings: false)
        let r = try store.rebuildIndex()
        for w in store.warnings { TerminalOutput.warn(w.description) }
        print("indexed \(r.added) pictures, skipped \(r.skipped) files")
    }
}
