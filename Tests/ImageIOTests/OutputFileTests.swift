import Foundation
import XCTest
@testable import ImageIO

/// Issue 30, finding 7: files the user names are checked first and written whole or not at all.
final class OutputFileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("outputfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func leftovers() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".tmp-") } }

    func testAFullDeviceIsAnError() throws {
        var st = stat()
        guard stat("/dev/full", &st) == 0, (st.st_mode & S_IFMT) == S_IFCHR else { throw XCTSkip("no /dev/full device") }
        XCTAssertNoThrow(try OutputFile.check("/dev/full"))
        XCTAssertThrowsError(try OutputFile.write(Data(repeating: 7, count: 100_000), to: "/dev/full")) { error in
            XCTAssertEqual("\(error)", "cannot write /dev/full: No space left on device")
        }
    }

    func testPathsAreCheckedBeforeWork() throws {
        XCTAssertThrowsError(try OutputFile.check(dir + "/missing/x.json")) { XCTAssertTrue("\($0)".contains("no folder"), "\($0)") }
        XCTAssertThrowsError(try OutputFile.check(dir)) { XCTAssertTrue("\($0)".contains("is a folder"), "\($0)") }
        XCTAssertThrowsError(try OutputFile.check(""))
        XCTAssertNoThrow(try OutputFile.check(dir + "/new.json"))
    }

    func testAFailedWriteLeavesTheOldFileAndNoPartialOne() throws {
        let path = dir + "/report.json"
        try OutputFile.write(Data("old".utf8), to: path)
        XCTAssertThrowsError(try OutputFile.replace(path) { tmp in
            try Data("half of the new".utf8).write(to: URL(fileURLWithPath: tmp))
            throw OutputFileError("disk full")
        })
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old")
        XCTAssertEqual(leftovers(), [])
        try OutputFile.write(Data("new".utf8), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "new")
        XCTAssertEqual(leftovers(), [])
    }

    func testPNGsGoThroughReplace() throws {
        let path = dir + "/p.png"
        try OutputFile.replace(path) { try PNGFile(image: RGBImage(width: 4, height: 4, fill: 9)).write(path: $0) }
        XCTAssertEqual(try PNGFile.read(path: path).image.width, 4)
        XCTAssertEqual(leftovers(), [])
    }
}
