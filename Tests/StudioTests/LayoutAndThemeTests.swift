import Foundation
import ImageIO
import XCTest
@testable import Studio

/// The package root (Tests/StudioTests/<file> → three levels up).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

final class LayoutTests: XCTestCase {
    override func setUp() { TextWidth.prepareLocale() }

    func testLayoutsFitAndDoNotOverlap() {
        for cols in stride(from: 60, through: 260, by: 7) {
            for rows in stride(from: 18, through: 80, by: 5) {
                for left in [Focus.settings, .encoders] {
                    for right in [Focus.queue, .gallery] {
                        guard let l = MainLayout.compute(columns: cols, rows: rows, leftStack: left, rightStack: right) else {
                            return XCTFail("\(cols)x\(rows) should fit")
                        }
                        var rects = Array(l.panes.values) + [l.preview, l.title, l.status]
                        if l.panes[.prompt] == nil { rects.append(l.prompt) }
                        for r in rects {
                            XCTAssertGreaterThanOrEqual(r.x, 0)
                            XCTAssertGreaterThanOrEqual(r.y, 0)
                            XCTAssertLessThanOrEqual(r.maxX, cols, "\(cols)x\(rows) \(r)")
                            XCTAssertLessThanOrEqual(r.maxY, rows, "\(cols)x\(rows) \(r)")
                            XCTAssertGreaterThanOrEqual(r.height, 1)
                        }
                        for i in rects.indices {
                            for j in rects.indices where j > i {
                                XCTAssertFalse(rects[i].intersects(rects[j]), "\(cols)x\(rows): \(rects[i]) overlaps \(rects[j])")
                            }
                        }
                        // Pictures stay above the last row (a sixel there would scroll the screen).
                        XCTAssertLessThan(l.preview.maxY, rows)
                        XCTAssertGreaterThanOrEqual(l.prompt.inner.height, 2)
                        // Every pane can be shown: the focused one of a stack is visible.
                        XCTAssertNotNil(l.panes[left])
                        XCTAssertNotNil(l.panes[right])
                    }
                }
            }
        }
        XCTAssertNil(MainLayout.compute(columns: 59, rows: 30))
        XCTAssertNil(MainLayout.compute(columns: 100, rows: 17))
    }

    func testGalleryLayout() {
        let g = GalleryLayout.compute(columns: 120, rows: 36)!
        XCTAssertGreaterThanOrEqual(g.gridColumns, 3)
        XCTAssertGreaterThanOrEqual(g.gridRows, 2)
        XCTAssertFalse(g.grid.intersects(g.details))
        for i in 0..<(g.gridColumns * g.gridRows) {
            let c = g.cell(i, firstRow: 0)!
            XCTAssertLessThanOrEqual(c.maxX, g.grid.maxX)
            XCTAssertLessThanOrEqual(c.maxY, g.grid.maxY)
        }
        XCTAssertNil(g.cell(g.gridColumns * g.gridRows, firstRow: 0))
    }

    func testRenderEverySize() {
        var s = makeState()
        _ = s.apply(.modelReady(testModel, seconds: 1))
        _ = s.type("a red circle 🙂 猫 with a fairly long tail of words that wraps around the field")
        _ = s.handle(.enter)
        s.preview = PreviewState(image: RGBImage(width: 8, height: 8, fill: 1), key: "p", caption: "#1 step 1/2")
        for (c, r) in [(30, 10), (60, 18), (80, 24), (100, 30), (120, 36), (200, 60)] {
            s.columns = c; s.rows = r
            for focus in Focus.allCases {
                s.focus = focus
                let canvas = StudioView.render(s)
                XCTAssertEqual(canvas.width, c)
                XCTAssertEqual(canvas.height, r)
                if c < MainLayout.minimumColumns {
                    XCTAssertTrue(canvas.text.contains("Terminal too small"), canvas.text)
                    continue
                }
                XCTAssertTrue(canvas.text.contains("LI-DiT Studio"))
                XCTAssertTrue(canvas.text.contains("field"), "the end of the prompt, where the cursor is, shows")
                for p in canvas.pictures {
                    XCTAssertLessThan(p.rect.maxY, r - 1 + 1)
                    XCTAssertLessThanOrEqual(p.rect.maxX, c)
                }
                if let cur = canvas.cursor {
                    XCTAssertTrue((0..<r).contains(cur.y) && (0..<c).contains(cur.x))
                }
                if focus == .prompt { XCTAssertNotNil(canvas.cursor) }
                // Wide characters keep every row exactly `c` columns.
                for y in 0..<r { XCTAssertEqual(TextWidth.width(canvas.row(y)), c, "row \(y) at \(c)x\(r)") }
            }
        }
    }

    func testHelpListsEveryKey() {
        var s = makeState(columns: 120, rows: 200)
        s.showHelp = true
        let text = StudioView.render(s).text
        for section in KeyHelp.sections {
            XCTAssertTrue(text.contains(section.title))
            for (keys, _) in section.keys { XCTAssertTrue(text.contains(keys), "help lacks \(keys)") }
        }
        XCTAssertTrue(StudioView.render(s).pictures.isEmpty)
    }

    func testReadmeListsEveryKey() throws {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        for section in KeyHelp.sections {
            for (keys, _) in section.keys {
                XCTAssertTrue(readme.contains("| \(keys) |"), "README's studio keys table lacks `\(keys)`")
            }
        }
    }

    func testCanvasClipsWideCharacters() {
        var c = Canvas(width: 5, height: 1)
        XCTAssertEqual(c.put(0, 0, "ab猫猫", role: .base), 4)
        XCTAssertEqual(c.row(0), "ab猫 ")
        c.put(0, 3, "x", role: .base) // overwrites the cat's right half
        XCTAssertEqual(TextWidth.width(c.row(0)), 5)
        XCTAssertEqual(c.row(0), "ab x ")
    }
}

final class ThemeAndSettingsTests: XCTestCase {
    func testShippedThemesMatchTheBuiltIns() throws {
        let dir = packageRoot.appendingPathComponent("themes")
        for name in ["dark", "light", "high-contrast"] {
            let data = try Data(contentsOf: dir.appendingPathComponent("\(name).json"))
            let t = try Theme.parse(data)
            XCTAssertEqual(t.name, name)
            XCTAssertEqual(BuiltinThemes.all.first { $0.name == name }, t, "\(name).json differs from BuiltinThemes.swift")
            for role in Role.allCases { XCTAssertNotNil(t.roles[role.rawValue], "\(name) lacks \(role)") }
        }
    }

    func testThemeLibraryPrefersUserThemes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("themes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try ##"{"name": "x", "roles": {"base": {"fg": "#123", "bg": "default"}}}"##.write(to: dir.appendingPathComponent("mine.json"), atomically: true, encoding: .utf8)
        try ##"{"name": "dark", "roles": {"base": {"fg": "#ffffff"}}}"##.write(to: dir.appendingPathComponent("dark.json"), atomically: true, encoding: .utf8)
        try #"{"name": "bad", "roles": {"nope": {}}}"#.write(to: dir.appendingPathComponent("bad.json"), atomically: true, encoding: .utf8)
        let lib = ThemeLibrary(directories: [dir.path])
        XCTAssertEqual(Array(lib.names().prefix(3)), ["dark", "light", "high-contrast"])
        XCTAssertTrue(lib.names().contains("mine"))
        let mine = try lib.load("mine")
        XCTAssertEqual(mine.name, "mine")
        XCTAssertEqual(mine.style(.selection).fg, .rgb(0x11, 0x22, 0x33), "missing roles take base colours")
        XCTAssertEqual(try lib.load("dark").roles.count, 1, "the user's file wins")
        XCTAssertEqual(try lib.load("light"), BuiltinThemes.all[1])
        XCTAssertThrowsError(try lib.load("bad"))
        XCTAssertThrowsError(try lib.load("missing"))
        XCTAssertThrowsError(try lib.load("../etc"))
    }

    func testColorFallback() {
        let orange = ThemeColor.rgb(255, 135, 0)
        XCTAssertEqual(ColorDepth.truecolor.colorNumber(orange), 0xFF8700)
        XCTAssertEqual(ColorDepth.ansi256.colorNumber(orange), 208)
        XCTAssertEqual(ColorDepth.ansi16.colorNumber(.rgb(250, 10, 10)), 9)
        XCTAssertEqual(ColorDepth.ansi16.colorNumber(.rgb(0x1a, 0x1b, 0x26)), 0)
        XCTAssertEqual(ColorDepth.ansi8.colorNumber(.rgb(250, 250, 250)), 7)
        XCTAssertEqual(ColorDepth.ansi256.colorNumber(.terminalDefault), -1)
        XCTAssertEqual(ColorDepth.from(colors: 0x1000000), .truecolor)
        XCTAssertEqual(ColorDepth.from(colors: 256), .ansi256)
        XCTAssertEqual(ColorDepth.from(colors: 0x1000000, cap: .ansi16), .ansi16)
        XCTAssertEqual(ColorDepth.from(colors: 8, cap: .ansi256), .ansi8)
        XCTAssertEqual(ColorDepth.from(colors: 0), .monochrome)
        // High contrast stays distinct even in 16 colours.
        let hc = BuiltinThemes.all.first { $0.name == "high-contrast" }!
        let sel = hc.style(.selection), base = hc.style(.base)
        XCTAssertNotEqual(ColorDepth.ansi16.colorNumber(sel.bg), ColorDepth.ansi16.colorNumber(base.bg))
    }

    func testSettingsRoundTripAndTolerance() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let paths = StudioPaths(configDirectory: dir)
        XCTAssertEqual(paths.loadSettings().0, StudioSettings())
        var s = StudioSettings()
        s.steps = 9; s.seed = 5; s.seedMode = .increment; s.theme = "light"; s.lastPrompt = "猫 on a mat"
        s.fusionWeights = ["gemma3": 0.5]; s.eta = 0.3
        try paths.saveSettings(s)
        XCTAssertEqual(paths.loadSettings().0, s)
        // Missing and out-of-range values.
        try #"{"steps": 100000, "sampler": "nonsense", "guidanceLow": 0.9, "guidanceHigh": 0.1, "count": 0}"#
            .write(toFile: paths.settingsFile, atomically: true, encoding: .utf8)
        let (t, note) = paths.loadSettings()
        XCTAssertNil(note)
        XCTAssertEqual(t.steps, 200)
        XCTAssertEqual(t.sampler, "euler")
        XCTAssertLessThanOrEqual(t.guidanceLow, t.guidanceHigh)
        XCTAssertEqual(t.count, 1)
        try "not json".write(toFile: paths.settingsFile, atomically: true, encoding: .utf8)
        XCTAssertNotNil(paths.loadSettings().1)
        XCTAssertEqual(StudioPaths.standard(environment: ["XDG_CONFIG_HOME": "/x"]).settingsFile, "/x/lidit/studio.json")
        XCTAssertEqual(StudioPaths.standard(environment: ["HOME": "/h"]).historyFile, "/h/.config/lidit/prompt-history.jsonl")
    }

    func testPromptHistoryFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hist-\(UUID().uuidString)/h.jsonl").path
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        var h = PromptHistory()
        XCTAssertTrue(h.add(.init(prompt: "one")))
        XCTAssertTrue(h.add(.init(prompt: "two\nlines", negative: "blur")))
        XCTAssertFalse(h.add(.init(prompt: "two\nlines", negative: "blur")))
        XCTAssertTrue(h.add(.init(prompt: "one")))
        XCTAssertFalse(h.add(.init(prompt: "   ")))
        XCTAssertEqual(h.items.map(\.prompt), ["two\nlines", "one"])
        try h.save(path: path)
        XCTAssertEqual(PromptHistory.load(path: path), h)
        XCTAssertEqual(PromptHistory.load(path: path + ".missing").items, [])
    }
}
