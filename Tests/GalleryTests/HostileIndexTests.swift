import Foundation
import ImageIO
import XCTest
@testable import Gallery

/// Issue 30, findings 6 and 9: an edited index, a truncated picture and an index that cannot open.
final class HostileIndexTests: XCTestCase {
    var top: String!
    var root: String { top + "/gallery" }

    override func setUpWithError() throws { top = try makeTempDir("hostile-index") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: top) }

    /// A row naming `../victim-11111111.png` (a real, readable picture beside the gallery) is
    /// neither listed, found, deleted nor kept by the next sync.
    func testIndexRowsCannotReachOutsideTheGallery() throws {
        let store = try GalleryStore(root: root)
        let inside = try store.save(image: testImage(), settings: GenerationSettings(prompt: "inside", seed: 1, width: 32, height: 32))
        let victim = top + "/victim-11111111.png"
        let settings = GenerationSettings(prompt: "victim", seed: 2, width: 32, height: 32)
        try PNGFile(image: testImage(seed: 2), texts: PictureMetadata.textChunks(for: settings)).write(path: victim)
        let db = try SQLiteDB(path: store.indexPath)
        try db.run("INSERT INTO entries(name, size, mtime, created, prompt, negative, source, parameters, settings) VALUES(?,?,?,?,?,?,?,?,?)",
                   [.text("../victim-11111111.png"), .int(1), .int(1), .double(Date().timeIntervalSince1970 + 60), .text("victim"),
                    .text(""), .text("lidit"), .null, .text(settings.jsonString())])
        db.close()

        XCTAssertEqual(try store.entries().map(\.name), [inside.name], "the outside row is not listed")
        XCTAssertThrowsError(try store.resolve("11111111"))
        XCTAssertThrowsError(try store.resolve("victim"))
        let forged = GalleryEntry(name: "../victim-11111111.png", path: victim, settings: settings, source: .lidit,
                                  parametersText: nil, fileSize: 1, modified: Date())
        XCTAssertThrowsError(try store.delete(forged))
        XCTAssertTrue(FileManager.default.fileExists(atPath: victim), "the file outside stays where it is")
        XCTAssertThrowsError(try store.restore("../victim-11111111.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: victim))

        _ = try GalleryStore(root: root)   // syncs
        let check = try SQLiteDB(path: store.indexPath)
        defer { check.close() }
        XCTAssertEqual(try check.query("SELECT count(*) FROM entries WHERE name LIKE '%victim%'").first?.first?.int64, 0)
    }

    func testPlainNames() {
        for good in ["20261127-201500-42-1a2b3c4d.png", "cat.PNG", "a b.png"] { XCTAssertTrue(GalleryStore.isPlainName(good), good) }
        for bad in ["", "../x.png", "/etc/x.png", "sub/x.png", ".index.sqlite", ".hidden.png", "x.txt", "x\0.png"] {
            XCTAssertFalse(GalleryStore.isPlainName(bad), bad)
        }
    }

    /// A picture truncated after it was indexed leaves the list at the next sync, not at `rebuild`.
    func testATruncatedPictureIsNoLongerListed() throws {
        let store = try GalleryStore(root: root)
        let a = try store.save(image: testImage(seed: 1), settings: GenerationSettings(prompt: "a", seed: 1, width: 32, height: 32))
        let b = try store.save(image: testImage(seed: 2), settings: GenerationSettings(prompt: "b", seed: 2, width: 32, height: 32))
        XCTAssertEqual(try store.entries().count, 2)
        let data = try Data(contentsOf: URL(fileURLWithPath: b.path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: b.path))
        let reopened = try GalleryStore(root: root)
        XCTAssertEqual(try reopened.entries().map(\.name), [a.name])
        XCTAssertTrue(reopened.warnings.contains { $0.file == b.name }, "\(reopened.warnings)")
        XCTAssertEqual(try reopened.consistencyProblems(), [])
    }

    /// `rebuild` where the index cannot be opened fails, instead of reporting "indexed 0 pictures".
    func testRebuildWithoutAnIndexFails() throws {
        try FileManager.default.createDirectory(atPath: root + "/" + GalleryStore.indexFileName, withIntermediateDirectories: true)
        let store = try GalleryStore(root: root)
        XCTAssertThrowsError(try store.rebuildIndex()) { error in
            XCTAssertTrue("\(error)".contains("cannot rebuild the index"), "\(error)")
        }
    }
}
