import XCTest
import Foundation
import ImageIO
@testable import Gallery

/// Kill -9 at random moments, concurrent writers and a full disk, each with real processes
/// (this test binary re-run in a child role, see `GalleryChildProcess`).
final class CrashSafetyTests: XCTestCase {
    var root: String!
    var log: String!

    override func setUpWithError() throws {
        root = try makeTempDir("gallery-crash")
        log = root + ".log"
    }
    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: log)
    }

    func loggedNames() throws -> [String] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // A kill can cut the last line short; complete lines only.
        var lines = text.components(separatedBy: "\n")
        lines.removeLast()
        XCTAssertFalse(lines.contains { $0.hasPrefix("ERROR") }, lines.filter { $0.hasPrefix("ERROR") }.joined(separator: "; "))
        return lines.filter { !$0.hasPrefix("ERROR") }
    }

    /// Checks that every visible picture is complete, the index agrees with the files, and every
    /// picture whose save() returned is there.
    func assertGalleryConsistent(file: StaticString = #filePath, line: UInt = #line) throws {
        // Before any repair: whatever the (possibly stale) index lists must be whole.
        let raw = try GalleryStore(root: root, sync: false)
        for e in try raw.entries() {
            let png = try PNGFile.read(path: e.path)
            XCTAssertEqual(try GenerationSettings.fromJSON(png.text("lidit")!), e.settings, file: file, line: line)
        }
        // Every visible file is a complete gallery PNG.
        for name in visiblePNGs(root) {
            let png = try PNGFile.read(path: root + "/" + name)
            XCTAssertNotNil(png.text("lidit"), name, file: file, line: line)
            XCTAssertNotNil(png.text("parameters"), name, file: file, line: line)
            XCTAssertEqual(png.image.width, 40, file: file, line: line)
        }
        let store = try GalleryStore(root: root)
        XCTAssertEqual(store.warnings, [], file: file, line: line)
        XCTAssertEqual(try store.consistencyProblems(), [], file: file, line: line)
        let listed = Set(try store.entries().map(\.name))
        XCTAssertEqual(listed, Set(visiblePNGs(root)), file: file, line: line)
        let saved = try loggedNames()
        let lost = saved.filter { !listed.contains($0) }
        XCTAssertEqual(lost, [], "pictures whose save() returned were lost", file: file, line: line)
        XCTAssertEqual(try store.search("picture").count, listed.count, file: file, line: line)
    }

    func testKillWriterAtRandomMoments() throws {
        var rng = SystemRandomNumberGenerator()
        let rounds = 25
        for round in 0..<rounds {
            let p = try spawnChild(["LIDIT_TEST_CHILD": "writer", "LIDIT_TEST_ROOT": root, "LIDIT_TEST_LOG": log,
                                    "LIDIT_TEST_SEED": String(round * 100_000)])
            if round % 2 == 0 {
                // Mid-run: wait (on a busy machine, as long as it takes) for the writer's first
                // save of this round, then kill it a random moment later.
                let before = try loggedNames().count
                let deadline = Date().addingTimeInterval(30)
                while try loggedNames().count == before, p.isRunning, Date() < deadline { usleep(5_000) }
                usleep(UInt32.random(in: 0...250_000, using: &rng))
            } else {
                // Any moment, start-up (opening and syncing the index) included.
                usleep(UInt32.random(in: 0...700_000, using: &rng))
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the writer stopped by itself (round \(round))")
        }
        let saved = try loggedNames()
        XCTAssertGreaterThan(saved.count, rounds, "the writer should have saved pictures between kills")
        try assertGalleryConsistent()
        // Killed writers leave only dot-named temp files, which are never listed.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix(".tmp-") }
        XCTAssertLessThanOrEqual(leftovers.count, rounds)
        print("kill test: \(rounds) kills, \(saved.count) pictures saved, \(leftovers.count) killed mid-write")
    }

    func testTwoConcurrentWritersLoseNothing() throws {
        let count = 30
        let a = try spawnChild(["LIDIT_TEST_CHILD": "writer", "LIDIT_TEST_ROOT": root, "LIDIT_TEST_LOG": log,
                                "LIDIT_TEST_COUNT": String(count), "LIDIT_TEST_SEED": "1000"])
        let b = try spawnChild(["LIDIT_TEST_CHILD": "writer", "LIDIT_TEST_ROOT": root, "LIDIT_TEST_LOG": log,
                                "LIDIT_TEST_COUNT": String(count), "LIDIT_TEST_SEED": "1000"])   // same seeds: same names but for the random part
        a.waitUntilExit()
        b.waitUntilExit()
        XCTAssertEqual(a.terminationStatus, 0)
        XCTAssertEqual(b.terminationStatus, 0)
        let saved = try loggedNames()
        XCTAssertEqual(saved.count, 2 * count)
        XCTAssertEqual(Set(saved).count, 2 * count, "names never collide")
        XCTAssertEqual(visiblePNGs(root).count, 2 * count)
        // Both writers indexed their own pictures: nothing missing even before a sync.
        let raw = try GalleryStore(root: root, sync: false)
        XCTAssertEqual(try raw.consistencyProblems(), [])
        XCTAssertEqual(try raw.entries().count, 2 * count)
        try assertGalleryConsistent()
    }

    func testFullDiskFailsCleanlyAndKeepsSavedPictures() throws {
        let store = try GalleryStore(root: root)
        var before: [String] = []
        for i in 0..<3 {
            before.append(try store.save(image: testImage(width: 40, height: 40, seed: UInt64(i)),
                                         settings: GenerationSettings(prompt: "picture \(i)", seed: UInt64(i))).name)
        }
        let p = try spawnChild(["LIDIT_TEST_CHILD": "fulldisk", "LIDIT_TEST_ROOT": root])
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "save on a full disk must throw GalleryError.writeFailed (3 = it succeeded, 2 = other error)")
        XCTAssertEqual(visiblePNGs(root), before.sorted())
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: root).contains { $0.hasPrefix(".tmp-") })
        let again = try GalleryStore(root: root)
        XCTAssertEqual(Set(try again.entries().map(\.name)), Set(before))
        XCTAssertEqual(try again.consistencyProblems(), [])
        for name in before { XCTAssertNoThrow(try PNGFile.read(path: root + "/" + name)) }
    }
}
