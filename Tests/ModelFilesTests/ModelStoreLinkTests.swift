import Foundation
import XCTest
@testable import ModelFiles

/// Issue 30, finding 5: LLM files kept on another disk and linked into the models folder.
final class ModelStoreLinkTests: XCTestCase {
    func testSymlinkedFilesAreFollowed() throws {
        let top = FileManager.default.temporaryDirectory.appendingPathComponent("modelstore-links-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: top) }
        let folder = top.appendingPathComponent("models"), elsewhere = top.appendingPathComponent("other-disk")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let model = KnownModel.smollm2
        // A sparse file of the right size stands in for the real one (presence is by size).
        let target = elsewhere.appendingPathComponent(model.fileName).path
        XCTAssertTrue(FileManager.default.createFile(atPath: target, contents: nil))
        XCTAssertEqual(truncate(target, off_t(model.size)), 0)
        let store = ModelStore(folder: folder)
        try FileManager.default.createSymbolicLink(atPath: store.path(model), withDestinationPath: target)

        XCTAssertTrue(store.isPresent(model), "a link to a complete file is present")
        XCTAssertEqual(try store.require(model), store.path(model))

        // A link to a short file is reported with the target's size, not the link's.
        XCTAssertEqual(truncate(target, 1000), 0)
        XCTAssertFalse(store.isPresent(model))
        XCTAssertThrowsError(try store.require(model)) { error in
            XCTAssertTrue("\(error)".contains("(1000 bytes"), "\(error)")
        }
        // A dangling link is missing.
        try FileManager.default.removeItem(atPath: target)
        XCTAssertThrowsError(try store.require(model)) { error in
            XCTAssertTrue("\(error)".contains("is not in"), "\(error)")
        }
    }
}
