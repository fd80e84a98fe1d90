import Foundation
import Gallery
import ModelFiles
import Studio
import UserFolders
import XCTest

/// Every folder comes from `UserFolder`: `LIDIT_*`, then XDG, then `$HOME` — never the account's
/// home from the system, so `HOME=/elsewhere` moves all of them (issue 28).
final class UserFoldersTests: XCTestCase {
    func testOrderIsLiditThenXDGThenHome() {
        let home = ["HOME": "/h"]
        let xdg = home.merging(["XDG_CACHE_HOME": "/cache", "XDG_DATA_HOME": "/data", "XDG_CONFIG_HOME": "/config"]) { $1 }
        let own = xdg.merging(["LIDIT_MODELS": "/m", "LIDIT_FEATURES": "/f", "LIDIT_GALLERY": "/g",
                               "LIDIT_CONFIG": "/c", "LIDIT_THEMES": "/t"]) { $1 }
        let expected: [(UserFolder, home: String, xdg: String, own: String)] = [
            (.models, "/h/.cache/lidit/models", "/cache/lidit/models", "/m"),
            (.features, "/h/.cache/lidit/features", "/cache/lidit/features", "/f"),
            (.gallery, "/h/.local/share/lidit/gallery", "/data/lidit/gallery", "/g"),
            (.settings, "/h/.config/lidit", "/config/lidit", "/c"),
            (.themes, "/h/.config/lidit/themes", "/config/lidit/themes", "/t"),
        ]
        XCTAssertEqual(Set(expected.map(\.0)), Set(UserFolder.allCases))
        for (folder, h, x, o) in expected {
            XCTAssertEqual(folder.path(environment: home), h, "\(folder)")
            XCTAssertEqual(folder.path(environment: xdg), x, "\(folder)")
            XCTAssertEqual(folder.path(environment: own), o, "\(folder)")
            // Empty variables count as unset.
            XCTAssertEqual(folder.path(environment: home.merging([folder.variable: "", "XDG_CACHE_HOME": "",
                                                                   "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": ""]) { $1 }), h)
        }
        // The themes follow a moved settings folder.
        XCTAssertEqual(UserFolder.themes.path(environment: ["HOME": "/h", "LIDIT_CONFIG": "/c"]), "/c/themes")
        // Without HOME the working folder stands in, never the password database's home.
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssertEqual(UserFolder.gallery.path(environment: [:]), cwd + "/.local/share/lidit/gallery")
    }

    /// Each user of a folder goes through `UserFolder`.
    func testEveryUserResolvesThroughUserFolder() {
        let env = ["HOME": "/h", "LIDIT_CONFIG": "/c"]
        XCTAssertEqual(ModelStore(environment: env).folder.path, "/h/.cache/lidit/models")
        XCTAssertEqual(GalleryStore.defaultRoot(environment: env), "/h/.local/share/lidit/gallery")
        let paths = StudioPaths.standard(environment: env)
        XCTAssertEqual(paths.settingsFile, "/c/studio.json")
        XCTAssertEqual(paths.themesDirectory, "/c/themes")
        XCTAssertEqual(StudioPaths.standard(environment: ["HOME": "/h", "LIDIT_THEMES": "/t"]).themesDirectory, "/t")
    }

    /// The case: a user who sets HOME for a clean profile gets the LLM files there too.
    func testLiditFollowsHome() throws {
        guard let binary = StudioTmuxTests.binaryPath() else { throw XCTSkip("no built lidit (run `swift build`)") }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("home-\(UUID().uuidString)").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["models", "list"]
        p.environment = ["HOME": home, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("models folder: \(home)/.cache/lidit/models"), text)
    }
}
