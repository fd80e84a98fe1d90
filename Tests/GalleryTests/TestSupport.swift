import Foundation
import XCTest
import ImageIO
@testable import Gallery

/// A fresh folder under /tmp, removed afterwards.
func makeTempDir(_ tag: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lidit-\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A deterministic picture: a gradient with some noise, so PNGs are not trivially small.
func testImage(width: Int = 32, height: Int = 32, seed: UInt64 = 1) -> RGBImage {
    var state = seed &* 0x9E3779B97F4A7C15 | 1
    var px = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let o = (y * width + x) * 3
            px[o] = UInt8((x * 255 / max(1, width - 1) + Int(state & 15)) & 255)
            px[o + 1] = UInt8((y * 255 / max(1, height - 1) + Int((state >> 8) & 15)) & 255)
            px[o + 2] = UInt8(Int((state >> 16) & 255))
        }
    }
    return RGBImage(width: width, height: height, pixels: px)
}

/// The PNG files in a gallery folder (not the dot files).
func visiblePNGs(_ root: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") && $0.hasSuffix(".png") }.sorted()
}

/// Runs this test binary again with one test selected and `env` added: the child-process side of
/// the crash and concurrency tests (see `GalleryChildProcess`).
func spawnChild(_ env: [String: String]) throws -> Process {
    let p = Process()
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = ["GalleryTests.GalleryChildProcess/testChildProcessRole"]
    var e = ProcessInfo.processInfo.environment
    for (k, v) in env { e[k] = v }
    p.environment = e
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
}

/// Not a real test: when started by `spawnChild` it plays a role given by the environment
/// (writer, full-disk writer) and exits; in a normal test run it does nothing.
final class GalleryChildProcess: XCTestCase {
    func testChildProcessRole() throws {
        let env = ProcessInfo.processInfo.environment
        guard let role = env["LIDIT_TEST_CHILD"], let root = env["LIDIT_TEST_ROOT"] else { return }
        switch role {
        case "writer":
            let count = Int(env["LIDIT_TEST_COUNT"] ?? "0") ?? 0
            let base = UInt64(env["LIDIT_TEST_SEED"] ?? "0") ?? 0
            let logFD = open(env["LIDIT_TEST_LOG"]!, O_WRONLY | O_APPEND | O_CREAT, 0o644)
            do {
                let store = try GalleryStore(root: root)
                var i: UInt64 = 0
                while count == 0 || i < UInt64(count) {
                    let seed = base + i
                    let s = GenerationSettings(prompt: "writer \(base) picture \(i) 赤い丸", negativePrompt: "blurry",
                                               seed: seed, steps: 4, fusionWeights: ["smollm2": 1, "gemma3": 1])
                    let e = try store.save(image: testImage(width: 40, height: 40, seed: seed), settings: s)
                    // Logged only once save() has returned: every logged name must survive.
                    let line = e.name + "\n"
                    _ = line.withCString { write(logFD, $0, strlen($0)) }
                    if i % 7 == 3 { try store.sync() }
                    if i % 23 == 11 { try store.rebuildIndex() }
                    i += 1
                }
                exit(0)
            } catch {
                let line = "ERROR \(error)\n"
                _ = line.withCString { write(logFD, $0, strlen($0)) }
                exit(2)
            }
        case "fulldisk":
            // A "disk" that takes no file over 100 KB: writes past it fail with EFBIG.
            signal(SIGXFSZ, SIG_IGN)
            var lim = rlimit(rlim_cur: 100_000, rlim_max: 100_000)
            setrlimit(Int32(RLIMIT_FSIZE.rawValue), &lim)
            do {
                let store = try GalleryStore(root: root)
                _ = try store.save(image: testImage(width: 256, height: 256, seed: 99), settings: GenerationSettings(prompt: "too big"))
                exit(3)
            } catch GalleryError.writeFailed {
                exit(0)
            } catch {
                exit(2)
            }
        default:
            exit(4)
        }
    }
}
