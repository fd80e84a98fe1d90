import XCTest
import Foundation
@testable import Gallery
import ImageIO
import Sampling
@testable import Studio

/// The heat-map view of the preview (issue 26): picking a word, the plain-mode character map, the
/// overlay over a batch grid, and the whole path in tmux with the real encoders.
final class HeatMapTests: XCTestCase {
    /// Two words over a 2×2 grid: "red" all in the top-left patch, "circle" in the bottom-right.
    static func attention(prompt: String = "red circle") -> WordAttention {
        WordAttention(prompt: prompt, words: ["red", "circle"], wordBytes: [0..<3, 4..<10], width: 4, height: 4,
                      gridWidth: 2, gridHeight: 2, patchMaps: [[1, 0, 0, 0], [0, 0, 0, 1]],
                      branches: ["smollm2", "gemma3"], branchShares: [0.25, 0.75], templateShare: 0.1, step: 2, totalSteps: 4)
    }

    func testTheWordUnderThePromptCursorIsShownElseF8Cycles() {
        var s = StudioState()
        s.prompt = TextBuffer("red circle")
        let a = Self.attention()
        s.focus = .prompt
        _ = s.handle(.home)
        XCTAssertEqual(s.heatWordIndex(a), 0, "cursor at the start of 'red'")
        _ = s.handle(.end)
        XCTAssertEqual(s.heatWordIndex(a), 1, "cursor at the end of 'circle'")
        s.focus = .settings
        XCTAssertEqual(s.heatWordIndex(a), 0)
        _ = s.handle(.function(8))
        XCTAssertTrue(s.heatMap, "F8 turns the heat map on")
        XCTAssertEqual(s.heatWordIndex(a), 1)
        _ = s.handle(.function(8))
        XCTAssertEqual(s.heatWordIndex(a), 0, "wraps around")
        _ = s.handle(.function(7))
        XCTAssertFalse(s.heatMap)
    }

    func testAttentionFollowsTheJobAndItsGalleryPictures() {
        var s = StudioState()
        let a = Self.attention()
        _ = s.apply(.jobProgress(id: 3, step: 1, total: 4, preview: RGBImage(width: 4, height: 4, fill: 100), at: Date()))
        _ = s.apply(.jobAttention(id: 3, [a]))
        XCTAssertEqual(s.attention(for: .preview), [a])
        XCTAssertEqual(s.attention(for: .job(3)), [a])
        XCTAssertNil(s.attention(for: .job(4)))
    }

    func testCharacterMapPutsTheDensestCharacterOnTheWordsPatch() {
        let a = Self.attention()
        let red = HeatMap.characterMap(a, word: 0, columns: 4, rows: 2)
        XCTAssertEqual(red, ["@@  ", "    "])
        let circle = HeatMap.characterMap(a, word: 1, columns: 4, rows: 2)
        XCTAssertEqual(circle, ["    ", "  @@"])
    }

    func testOverlayOfABatchMapsEachCellWithItsOwnPicture() {
        let a = Self.attention(), b = WordAttention(prompt: "red circle", words: ["red", "circle"], wordBytes: [0..<3, 4..<10],
                                                      width: 4, height: 4, gridWidth: 2, gridHeight: 2,
                                                      patchMaps: [[0, 0, 0, 1], [1, 0, 0, 0]], branches: ["smollm2", "gemma3"],
                                                      branchShares: [0.5, 0.5], templateShare: 0, step: 4, totalSteps: 4)
        let picture = RGBImage(width: 4, height: 4, fill: 128)
        let grid = try! XCTUnwrap(PictureGrid.make([picture, picture]))
        let out = HeatMap.overlay(grid, [a, b], word: 0)
        func bright(_ x: Int, _ y: Int) -> Int { let (r, g, bl) = out.rgb(x: x, y: y); return Int(r) + Int(g) + Int(bl) }
        // Cell 0: "red" hot top-left; cell 1 (x from 6): "red" hot bottom-right.
        XCTAssertGreaterThan(bright(0, 0), bright(3, 3))
        XCTAssertGreaterThan(bright(6 + 3, 3), bright(6, 0))
    }

    func testPlainModeDrawsTheCharacterMapAndTheEncoderPanelTheShares() {
        var s = StudioState()
        s.columns = 120; s.rows = 36
        s.model = .ready(ModelInfo(modelID: "m", path: "m", encoders: [
            EncoderInfo(id: "smollm2", blockCount: 30, defaultLayer: -3, templateText: "{prompt}", templateEnabledByDefault: true),
            EncoderInfo(id: "gemma3", blockCount: 18, defaultLayer: -3, templateText: "{prompt}", templateEnabledByDefault: true),
        ], imageSize: 4))
        s.leftStack = .encoders
        _ = s.apply(.jobProgress(id: 1, step: 2, total: 4, preview: RGBImage(width: 4, height: 4, fill: 100), at: Date()))
        _ = s.apply(.jobAttention(id: 1, [Self.attention()]))
        s.focus = .settings
        _ = s.handle(.function(7))
        let text = StudioView.render(s, pictures: false).text
        XCTAssertTrue(text.contains("heat: red (step 2/4)"), text)
        XCTAssertTrue(text.contains("@@@@"), text)
        XCTAssertTrue(text.contains("smollm2 25% · gemma3 75% · template 10%"), text)
        XCTAssertTrue(text.contains("attention") && text.contains("25%") && text.contains("75%"), text)
    }
}

extension StudioTmuxTests {
    /// The real encoders and a tiny model in tmux, plain mode: generate, F7, the word under the
    /// prompt cursor is named in the preview's caption with a character map, F8 moves to the next.
    func testHeatMapOfTheFinishedPictureInPlainMode() throws {
        let setup = try requirements(model: true)
        let s = try StudioSession(setup, settings: ["steps": 6, "seedMode": "fixed", "seed": 7, "previewEvery": 1, "previewMinInterval": 0],
                                  environment: ["LIDIT_GRAPHICS": "none"])
        defer { s.close() }
        try s.waitFor("the model", timeout: 60) { $0.contains("smollm2+gemma3") }
        s.type("a red circle")
        s.keys("Enter")
        try s.waitFor("the job to finish", timeout: 90) { $0.contains("#1 done") }
        s.keys("F7")
        // The cursor is at the end of the prompt, on "circle".
        try s.waitFor("the heat map of 'circle'", timeout: 10) { $0.contains("heat: circle") }
        XCTAssertTrue(s.capture().range(of: #"smollm2 [0-9]+% · gemma3 [0-9]+% · template [0-9]+%"#, options: .regularExpression) != nil, "branch shares beside the map:\n\(s.capture())")
        s.keys("Tab", "Tab")   // out of the prompt: F8 picks words in turn
        s.keys("F8")
        try s.waitFor("another word", timeout: 10) { $0.contains("heat: red") }
        s.keys("C-q")
        try s.waitForExit()
    }
}

/// A/B compare: two finished pictures side by side with the settings that differ.
final class ABCompareTests: XCTestCase {
    static func settings(seed: UInt64, gemma: Double, template: Bool) -> GenerationSettings {
        var g = GenerationSettings(prompt: "a red circle", negativePrompt: "", seed: seed, steps: 24, guidanceScale: 4, sampler: "euler",
                                   width: 4, height: 4)
        g.fusionWeights = ["smollm2": 1, "gemma3": gemma]
        g.templates = ["smollm2": PromptTemplateSetting(instruction: template, text: nil), "gemma3": PromptTemplateSetting(instruction: true, text: nil)]
        return g
    }

    func testDifferencesNameEachChangedKnob() {
        let a = Self.settings(seed: 1, gemma: 1, template: true), b = Self.settings(seed: 2, gemma: 0, template: false)
        XCTAssertEqual(ABCompare.differences(a, b), ["fusion gemma3: 1 → 0", "template smollm2: on → off", "seed: 1 → 2"])
        XCTAssertEqual(ABCompare.differences(a, a), [])
    }

    func testMarkingTwoJobsShowsThemSideBySide() {
        var s = StudioState()
        s.columns = 120; s.rows = 36
        for (id, gemma) in [(1, 1.0), (2, 0.5)] {
            s.jobs.append(Job(spec: JobSpec(id: id, prompt: "a red circle", seeds: [UInt64(id)], sampler: SamplerSettings(sampler: .euler, steps: 24, guidanceScale: 4))))
            let entry = GalleryEntry(name: "p\(id).png", path: "/tmp/p\(id).png", settings: Self.settings(seed: UInt64(id), gemma: gemma, template: true),
                                     source: .lidit, parametersText: nil, fileSize: 0, modified: Date())
            _ = s.apply(.jobDone(id: id, entries: [entry], image: RGBImage(width: 4, height: 4, fill: UInt8(50 * id)), seconds: 1, warnings: []))
        }
        s.focus = .queue
        s.selectedJobID = 1
        _ = s.handle(.char("a"))
        XCTAssertEqual(s.compare?.a.label, "#1")
        XCTAssertNil(s.compare?.b)
        _ = s.handle(.char("a"))
        XCTAssertNil(s.compare?.b, "B must be another picture")
        _ = s.handle(.up) // the list is newest first: #2, #1
        _ = s.handle(.char("a"))
        XCTAssertEqual(s.compare?.b?.label, "#2")
        let canvas = StudioView.render(s, pictures: true)
        XCTAssertTrue(canvas.text.contains("A #1 | B #2"), canvas.text)
        XCTAssertTrue(canvas.text.contains("fusion gemma3: 1 → 0.5"), canvas.text)
        XCTAssertTrue(canvas.text.contains("seed: 1 → 2"), canvas.text)
        XCTAssertTrue(canvas.pictures.contains { $0.ref == .pair(.job(1), .job(2)) })
        _ = s.handle(.char("a"))
        XCTAssertNil(s.compare)
    }
}

extension StudioTmuxTests {
    /// Two jobs with different fusion weights, compared A/B from the queue in tmux.
    func testABCompareOfTwoJobsInTmux() throws {
        let setup = try requirements(model: true)
        let s = try StudioSession(setup, settings: ["steps": 4, "seedMode": "fixed", "seed": 11, "previewEvery": 1, "previewMinInterval": 0])
        defer { s.close() }
        try s.waitFor("the model", timeout: 60) { $0.contains("smollm2+gemma3") }
        s.type("a blue star")
        s.keys("Enter")
        try s.waitFor("job 1", timeout: 90) { $0.contains("#1 done") }
        s.keys("C-g")
        try s.waitFor("job 2", timeout: 90) { $0.contains("#2 done") }
        // Queue pane: Tab from the prompt goes negative, settings, encoders, queue. The queue
        // lists finished jobs newest first, so A is #2 and B (one down) #1.
        s.keys("Tab", "Tab", "Tab", "Tab")
        s.keys("a")
        try s.waitFor("A marked", timeout: 10) { $0.contains("A = #") }
        s.keys("Down")
        s.keys("a")
        try s.waitFor("the A/B pair", timeout: 10) { $0.range(of: #"A #[12] \| B #[12]"#, options: .regularExpression) != nil }
        XCTAssertTrue(s.capture().contains("no settings differ"), "same settings, same seed:\n\(s.capture())")
        s.keys("C-q")
        try s.waitForExit()
    }
}
