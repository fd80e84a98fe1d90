import XCTest
import Foundation
import ImageIO
@testable import Gallery

final class GalleryStoreTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws { root = try makeTempDir("gallery") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func settings(_ prompt: String, seed: UInt64 = 42) -> GenerationSettings {
        GenerationSettings(prompt: prompt, negativePrompt: "blurry, dark", seed: seed, steps: 20, guidanceScale: 7,
                           sampler: "euler_a", width: 32, height: 32, fusionWeights: ["smollm2": 1, "gemma3": 1],
                           templates: ["gemma3": PromptTemplateSetting(instruction: true)], layer: -3,
                           modelID: "lidit-s", modelHash: "abcdef0123", appVersion: "0.1.0")
    }

    func testDefaultRoot() {
        XCTAssertEqual(GalleryStore.defaultRoot(environment: ["LIDIT_GALLERY": "/g", "XDG_DATA_HOME": "/x", "HOME": "/h"]), "/g")
        XCTAssertEqual(GalleryStore.defaultRoot(environment: ["XDG_DATA_HOME": "/x", "HOME": "/h"]), "/x/lidit/gallery")
        XCTAssertEqual(GalleryStore.defaultRoot(environment: ["HOME": "/h"]), "/h/.local/share/lidit/gallery")
    }

    func testSaveWritesReadablePNGAndIndexes() throws {
        let store = try GalleryStore(root: root)
        let img = testImage()
        let e = try store.save(image: img, settings: settings("a red circle above a blue square"))
        XCTAssertTrue(e.name.hasSuffix(".png"))
        XCTAssertTrue(e.name.contains("-42-"), e.name)
        XCTAssertEqual(e.name.split(separator: "-").count, 4)
        let png = try PNGFile.read(path: e.path)
        XCTAssertEqual(png.image, img)
        XCTAssertEqual(try GenerationSettings.fromJSON(png.text("lidit")!), e.settings)
        let params = try XCTUnwrap(png.text("parameters"))
        XCTAssertTrue(params.hasPrefix("a red circle above a blue square\nNegative prompt: blurry, dark\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 32x32"), params)
        XCTAssertEqual(A1111Parameters.settings(from: params), e.settings)
        XCTAssertEqual(try store.entries().map(\.name), [e.name])
        XCTAssertEqual(try store.entries().first?.settings, e.settings)
        XCTAssertEqual(try store.consistencyProblems(), [])
        XCTAssertEqual(visiblePNGs(root), [e.name])
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: root).contains { $0.hasPrefix(".tmp-") })
    }

    func testSearchAnyScript() throws {
        let store = try GalleryStore(root: root)
        let a = try store.save(image: testImage(seed: 1), settings: settings("a Red circle above a blue square", seed: 1))
        let b = try store.save(image: testImage(seed: 2), settings: settings("赤い丸と青い四角", seed: 2))
        let c = try store.save(image: testImage(seed: 3), settings: settings("красный круг и синий квадрат", seed: 3))
        // iTXt for prompts outside Latin-1.
        XCTAssertEqual(try PNGFile.read(path: b.path).texts.first { $0.keyword == "parameters" }?.international, true)
        XCTAssertEqual(try store.search("red circle").map(\.name), [a.name])
        XCTAssertEqual(try store.search("RED").map(\.name), [a.name], "case-insensitive")
        XCTAssertEqual(try store.search("青い四角").map(\.name), [b.name])
        XCTAssertEqual(try store.search("丸").map(\.name), [b.name], "one-character words use the substring scan")
        XCTAssertEqual(try store.search("синий").map(\.name), [c.name])
        XCTAssertEqual(Set(try store.search("square").map(\.name)), [a.name])
        XCTAssertEqual(try store.search("blurry").count, 0, "the negative prompt is not searched by default")
        XCTAssertEqual(try store.search("blurry", includeNegative: true).count, 3)
        XCTAssertEqual(try store.search("50%_").count, 0)
        XCTAssertEqual(try store.search("\"quoted\" circle").count, 0)
        XCTAssertEqual(try store.resolve(b.shortID).name, b.name)
        XCTAssertEqual(try store.resolve(b.id).name, b.name)
        XCTAssertThrowsError(try store.resolve("nope"))
    }

    func testForeignFilesAndCorruptPNGsAreSkippedWithWarnings() throws {
        let store = try GalleryStore(root: root)
        let good = try store.save(image: testImage(), settings: settings("good"))
        // A PNG written by A1111 (parameters only), a truncated PNG, garbage named .png, a text file.
        try PNGFile(image: testImage(width: 20, height: 10, seed: 5), texts: [PNGText(keyword: "parameters", text: """
            a cat in a hat
            Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 5, Seed: 77, Size: 20x10, Model: sd15, Version: v1.6.0
            """)]).write(path: root + "/00001-77-a cat.png")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good.path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: root + "/truncated.png"))
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: root + "/garbage.png"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: root + "/notes.txt"))
        try PNGFile(image: testImage(width: 8, height: 8)).write(path: root + "/plain.png")

        let report = try store.sync()
        XCTAssertEqual(report.added, 2)
        let warned = Set(store.warnings.map(\.file))
        XCTAssertEqual(warned, ["truncated.png", "garbage.png", "notes.txt"])
        let entries = try store.entries()
        XCTAssertEqual(Set(entries.map(\.name)), [good.name, "00001-77-a cat.png", "plain.png"])
        let cat = try XCTUnwrap(entries.first { $0.name.hasPrefix("00001") })
        XCTAssertEqual(cat.source, .a1111)
        XCTAssertEqual(cat.settings.prompt, "a cat in a hat")
        XCTAssertEqual(cat.settings.sampler, "dpm++2m")
        XCTAssertEqual(cat.settings.seed, 77)
        XCTAssertNotNil(cat.parametersText)
        let plain = try XCTUnwrap(entries.first { $0.name == "plain.png" })
        XCTAssertEqual(plain.source, .none)
        XCTAssertEqual(plain.settings.width, 8)
        XCTAssertEqual(try store.search("hat").map(\.name), ["00001-77-a cat.png"])
        // Warnings persist (without re-reading) until the bad files change.
        let again = try GalleryStore(root: root)
        XCTAssertEqual(Set(again.warnings.map(\.file)), warned)
        XCTAssertEqual(try again.consistencyProblems(), [])
        // Repairing a bad file makes it appear.
        try FileManager.default.removeItem(atPath: root + "/truncated.png")
        try bytes.write(to: URL(fileURLWithPath: root + "/truncated.png"))
        try again.sync()
        XCTAssertTrue(try again.entries().contains { $0.name == "truncated.png" })
    }

    func testComfyAndInvokeMetadata() throws {
        let comfy = #"{"3":{"inputs":{"seed":1102676403634909,"steps":20,"cfg":8.0,"sampler_name":"dpmpp_2m","scheduler":"karras","denoise":1.0,"model":["4",0],"positive":["6",0],"negative":["7",0],"latent_image":["5",0]},"class_type":"KSampler"},"4":{"inputs":{"ckpt_name":"model.ckpt"},"class_type":"CheckpointLoaderSimple"},"5":{"inputs":{"width":512,"height":768,"batch_size":1},"class_type":"EmptyLatentImage"},"6":{"inputs":{"text":"a castle on a hill","clip":["4",1]},"class_type":"CLIPTextEncode"},"7":{"inputs":{"text":"fog","clip":["4",1]},"class_type":"CLIPTextEncode"}}"#
        let m = PictureMetadata.read(PNGFile(image: testImage(), texts: [PNGText(keyword: "prompt", text: comfy)]))
        XCTAssertEqual(m.source, .comfyui)
        XCTAssertEqual(m.settings.prompt, "a castle on a hill")
        XCTAssertEqual(m.settings.negativePrompt, "fog")
        XCTAssertEqual(m.settings.seed, 1102676403634909)
        XCTAssertEqual(m.settings.sampler, "dpm++2m")
        XCTAssertEqual(m.settings.scheduler, "karras")
        XCTAssertEqual(m.settings.width, 512)
        XCTAssertEqual(m.settings.height, 768)
        XCTAssertEqual(m.settings.modelID, "model.ckpt")

        let invoke = #"{"generation_mode":"txt2img","positive_prompt":"a fox","negative_prompt":"","seed":123,"steps":30,"cfg_scale":7.5,"scheduler":"euler_a","width":64,"height":64,"model":{"name":"sd-1.5","hash":"abc"}}"#
        let i = PictureMetadata.read(PNGFile(image: testImage(), texts: [PNGText(keyword: "invokeai_metadata", text: invoke)]))
        XCTAssertEqual(i.source, .invokeai)
        XCTAssertEqual(i.settings.prompt, "a fox")
        XCTAssertEqual(i.settings.seed, 123)
        XCTAssertEqual(i.settings.sampler, "euler_a")
        XCTAssertEqual(i.settings.modelID, "sd-1.5")
    }

    func testDeleteToTrashAndRestore() throws {
        let store = try GalleryStore(root: root)
        let a = try store.save(image: testImage(seed: 1), settings: settings("first", seed: 1))
        let b = try store.save(image: testImage(seed: 2), settings: settings("second", seed: 2))
        let t = try store.delete(a)
        XCTAssertEqual(t.originalName, a.name)
        XCTAssertEqual(try store.entries().map(\.name), [b.name])
        XCTAssertEqual(try store.search("first").count, 0)
        XCTAssertEqual(store.trashed().map(\.trashName), [a.name])
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.trashPath + "/" + a.name))
        XCTAssertEqual(try store.consistencyProblems(), [])
        let back = try store.restore(t.trashName)
        XCTAssertEqual(back.name, a.name)
        XCTAssertEqual(back.settings, a.settings)
        XCTAssertEqual(Set(try store.entries().map(\.name)), [a.name, b.name])
        XCTAssertEqual(try store.search("first").map(\.name), [a.name])
        XCTAssertTrue(store.trashed().isEmpty)
        // Deleting twice the same name keeps both in the trash.
        _ = try store.delete(a)
        try PNGFile(image: testImage()).write(path: a.path)
        try store.sync()
        let a2 = try store.resolve(a.name)
        let t2 = try store.delete(a2)
        XCTAssertNotEqual(t2.trashName, a.name)
        XCTAssertEqual(t2.originalName, a.name)
        XCTAssertEqual(store.trashed().count, 2)
        try store.emptyTrash()
        XCTAssertTrue(store.trashed().isEmpty)
    }

    func testIndexRebuiltWhenMissingStaleOrDamaged() throws {
        var store: GalleryStore? = try GalleryStore(root: root)
        var names: [String] = []
        for i in 0..<5 { names.append(try store!.save(image: testImage(seed: UInt64(i)), settings: settings("picture \(i)", seed: UInt64(i))).name) }
        store = nil
        // Missing.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: root + "/.index.sqlite" + suffix) }
        store = try GalleryStore(root: root)
        XCTAssertEqual(Set(try store!.entries().map(\.name)), Set(names))
        XCTAssertEqual(try store!.search("picture 3").count, 1)
        // Stale: a file removed and one added behind the index's back.
        try FileManager.default.removeItem(atPath: root + "/" + names[0])
        try FileManager.default.copyItem(atPath: root + "/" + names[1], toPath: root + "/copy.png")
        XCTAssertEqual(try store!.entries().count, 4, "a vanished file is never listed")
        let r = try store!.sync()
        XCTAssertEqual(r.added, 1)
        XCTAssertEqual(r.removed, 1)
        XCTAssertEqual(try store!.consistencyProblems(), [])
        store = nil
        // Damaged: garbage over the database file.
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: root + "/.index.sqlite" + suffix) }
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: root + "/.index.sqlite"))
        store = try GalleryStore(root: root)
        XCTAssertEqual(try store!.entries().count, 5)
        XCTAssertEqual(try store!.consistencyProblems(), [])
        XCTAssertTrue(store!.warnings.contains { $0.message.contains("damaged") })
        // Explicit rebuild.
        let rb = try store!.rebuildIndex()
        XCTAssertEqual(rb.added, 5)
        XCTAssertEqual(try store!.search("picture").count, 5)
    }

    func testThumbnailCache() throws {
        let store = try GalleryStore(root: root)
        let e = try store.save(image: testImage(width: 100, height: 50), settings: settings("wide"))
        let t = try store.thumbnail(for: e, maxSide: 32)
        XCTAssertEqual(t.width, 32)
        XCTAssertEqual(t.height, 16)
        let cached = store.thumbsPath + "/\(e.id)-32.png"
        XCTAssertTrue(FileManager.default.fileExists(atPath: cached))
        XCTAssertEqual(try store.thumbnail(for: e, maxSide: 32), t)
        XCTAssertEqual(try store.entries().count, 1, "thumbnails are not entries")
    }

    func testIndexUnavailableStillListsFiles() throws {
        let store = try GalleryStore(root: root)
        _ = try store.save(image: testImage(), settings: settings("kept"))
        // A directory where the index should be: SQLite cannot open it.
        let other = try makeTempDir("gallery-ro")
        defer { try? FileManager.default.removeItem(atPath: other) }
        try FileManager.default.copyItem(atPath: try store.entries()[0].path, toPath: other + "/x.png")
        try FileManager.default.createDirectory(atPath: other + "/.index.sqlite", withIntermediateDirectories: true)
        let s2 = try GalleryStore(root: other)
        XCTAssertEqual(try s2.entries().map(\.name), ["x.png"])
        XCTAssertEqual(try s2.search("kept").map(\.name), ["x.png"])
        XCTAssertTrue(s2.warnings.contains { $0.file == ".index.sqlite" })
    }
}
