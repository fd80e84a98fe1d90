import Foundation
import Gallery
import ImageIO
import Sampling
import XCTest
@testable import Studio

/// The gallery's `i` (use this picture as the start) and `v` (variations), and reusing an
/// img2img or variation picture (issue 28).
final class StudioStartAndVariationTests: XCTestCase {
    override func setUp() { TextWidth.prepareLocale() }

    func submitted(_ effects: [Effect]) -> JobSpec? {
        for e in effects { if case .submit(let s) = e { return s } }
        return nil
    }

    func gallery() throws -> (GalleryStore, plain: GalleryEntry, derived: GalleryEntry) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("studio-start-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let store = try GalleryStore(root: dir)
        let plain = try store.save(image: RGBImage(width: 4, height: 4, fill: 10),
                                   settings: GenerationSettings(prompt: "a blue square", seed: 99, steps: 12, guidanceScale: 3.5,
                                                                sampler: "heun", width: 4, height: 4))
        var g = GenerationSettings(prompt: "a red circle", seed: 7, steps: 10, sampler: "euler", width: 4, height: 4)
        g.initImage = plain.path
        g.denoisingStrength = 0.45
        g.variationSeed = 8
        g.variationStrength = 0.3
        let derived = try store.save(image: RGBImage(width: 4, height: 4, fill: 20), settings: g)
        return (store, plain, derived)
    }

    func testUseAsStartThenEnterQueuesImg2Img() throws {
        let (store, plain, _) = try gallery()
        var s = makeState()
        _ = s.apply(.modelReady(testModel, seconds: 1))
        s.setGallery(try store.entries())
        s.gallery.selected = s.gallery.entries.firstIndex { $0.name == plain.name }!
        s.focus = .gallery
        XCTAssertEqual(s.handle(.char("i")), [])
        XCTAssertEqual(s.startPicture?.path, plain.path)
        XCTAssertTrue(s.settingValue(.startStrength).contains("from \(plain.shortID)"), s.settingValue(.startStrength))
        s.focus = .prompt
        _ = s.type("a green star")
        let spec = try XCTUnwrap(submitted(s.handle(.enter)))
        XCTAssertEqual(spec.initImage, plain.path)
        XCTAssertEqual(spec.strength, 0.6, "the Start strength setting")
        XCTAssertEqual(spec.prompt, "a green star", "the form's prompt, the picture as the start")
        XCTAssertTrue(spec.variationSeeds.isEmpty)
        // i again on the same picture removes it; so does Space on the Start strength row.
        s.focus = .gallery
        _ = s.handle(.char("i"))
        XCTAssertNil(s.startPicture)
        _ = s.handle(.char("i"))
        s.focus = .settings
        s.settingsRow = SettingRow.allCases.firstIndex(of: .startStrength)!
        _ = s.handle(.right)
        XCTAssertEqual(s.settings.startStrength, 0.65, accuracy: 1e-9)
        _ = s.handle(.char(" "))
        XCTAssertNil(s.startPicture)
        let plainSpec = try XCTUnwrap(submitted(s.handle(.ctrl("g"))))
        XCTAssertNil(plainSpec.initImage)
        XCTAssertEqual(plainSpec.strength, 1)
    }

    func testVariationsQueueFourPicturesOfTheSeed() throws {
        let (store, plain, _) = try gallery()
        var st = StudioSettings()
        st.seedMode = .fixed
        st.seed = 5
        var s = makeState(settings: st)
        _ = s.apply(.modelReady(testModel, seconds: 1))
        s.setGallery(try store.entries())
        s.gallery.selected = s.gallery.entries.firstIndex { $0.name == plain.name }!
        s.focus = .gallery
        let spec = try XCTUnwrap(submitted(s.handle(.char("v"))))
        XCTAssertEqual(spec.seeds, [99, 99, 99, 99])
        XCTAssertEqual(spec.variationSeeds.count, 4)
        XCTAssertEqual(Set(spec.variationSeeds).count, 4)
        XCTAssertEqual(spec.variationStrength, 0.2)
        XCTAssertEqual(spec.prompt, "a blue square")
        XCTAssertEqual(spec.sampler.steps, 12)
        XCTAssertEqual(spec.sampler.sampler, .heun)
        XCTAssertNil(spec.initImage)
        XCTAssertEqual(s.settings.seed, 5, "the form is kept")
        XCTAssertEqual(s.jobs.count, 1)
    }

    func testReuseRestoresStartPictureAndVariationSeed() throws {
        let (store, plain, derived) = try gallery()
        var s = makeState()
        _ = s.apply(.modelReady(testModel, seconds: 1))
        s.setGallery(try store.entries())
        s.gallery.selected = s.gallery.entries.firstIndex { $0.name == derived.name }!
        s.focus = .gallery
        _ = s.handle(.char("r"))
        XCTAssertEqual(s.startPicture?.path, plain.path)
        XCTAssertEqual(s.startPicture?.shortID, plain.shortID)
        XCTAssertEqual(s.variation, PendingVariation(seed: 8))
        XCTAssertEqual(s.settings.startStrength, 0.45)
        XCTAssertEqual(s.settings.variationStrength, 0.3)
        let spec = try XCTUnwrap(submitted(s.handle(.enter)))
        XCTAssertEqual(spec.seeds, [7])
        XCTAssertEqual(spec.variationSeeds, [8])
        XCTAssertEqual(spec.variationStrength, 0.3)
        XCTAssertEqual(spec.initImage, plain.path)
        XCTAssertEqual(spec.strength, 0.45)
        // Variations of a variation picture vary its seed, from its start picture.
        s.focus = .gallery
        let v = try XCTUnwrap(submitted(s.handle(.char("v"))))
        XCTAssertEqual(v.seeds, [7, 7, 7, 7])
        XCTAssertEqual(v.initImage, plain.path)
        XCTAssertEqual(v.strength, 0.45)
        // Space on the Variation row drops the pending variation seed.
        s.focus = .settings
        s.settingsRow = SettingRow.allCases.firstIndex(of: .variationStrength)!
        _ = s.handle(.char(" "))
        XCTAssertNil(s.variation)
    }

    func testHelpAndSettingsFileKnowTheNewKnobs() throws {
        let keys = KeyHelp.sections.flatMap(\.keys).map(\.keys)
        XCTAssertTrue(keys.contains("i") && keys.contains("v"))
        var st = StudioSettings()
        st.startStrength = 0.35
        st.variationStrength = 0.15
        let data = try JSONEncoder().encode(st)
        XCTAssertEqual(try JSONDecoder().decode(StudioSettings.self, from: data), st)
        var wild = StudioSettings()
        wild.startStrength = 7
        wild.variationStrength = -.infinity
        wild.clamp()
        XCTAssertEqual(wild.startStrength, 1)
        XCTAssertEqual(wild.variationStrength, 0.2)
    }

    /// The real backend: a gallery picture as the start, with variation seeds, recorded in the
    /// settings it stores.
    func testPipelineBackendRunsImg2ImgAndVariations() throws {
        let model = packageRoot.appendingPathComponent("models/lidit-shapes.safetensors").path
        for f in StudioTmuxTests.llmFiles where !FileManager.default.fileExists(atPath: StudioTmuxTests.llmDirectory() + "/" + f) {
            throw XCTSkip("the LLM file \(f) is not in \(StudioTmuxTests.llmDirectory())")
        }
        setenv("LIDIT_MODELS", StudioTmuxTests.llmDirectory(), 1)
        let backend = try PipelineBackend(path: model, appVersion: "test")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("studio-backend-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let start = dir + "/start.png"
        try PNGFile(image: RGBImage(width: 32, height: 32, fill: 128)).write(path: start)
        let sampler = SamplerSettings(sampler: .euler, steps: 4, guidanceScale: 4)
        var spec = JobSpec(id: 1, prompt: "a red circle", seeds: [3, 3], sampler: sampler, initImage: start, strength: 0,
                           variationSeeds: [4, 5], variationStrength: 0.5)
        let (pictures, _) = try backend.generate(spec) { _, _, _ in true }
        XCTAssertEqual(pictures.count, 2)
        XCTAssertEqual(pictures[0].0, RGBImage(width: 32, height: 32, fill: 128), "strength 0 is the start picture")
        XCTAssertEqual(pictures[1].1.variationSeed, 5)
        XCTAssertEqual(pictures[0].1.variationStrength, 0.5)
        XCTAssertEqual(pictures[0].1.initImage, start)
        XCTAssertEqual(pictures[0].1.denoisingStrength, 0)
        spec.initImage = dir + "/missing.png"
        spec.strength = 0.5
        XCTAssertThrowsError(try backend.generate(spec) { _, _, _ in true }) { error in
            XCTAssertTrue("\(error)".contains("start picture \(dir)/missing.png"), "\(error)")
        }
    }
}
