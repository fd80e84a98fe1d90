import Foundation
import FuzzTargets
import XCTest

/// The fuzz targets in the test suite: every seed and every kept crash input replayed through the
/// same entry points the libFuzzer driver calls (a crash here is a crash of the test process),
/// a short deterministic mutation run of each target in-process, and, when `scripts/fuzz` has
/// built the libFuzzer driver, a few seconds of real fuzzing per target.
final class FuzzReplayTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func inputs(_ folder: String, _ target: FuzzTarget) -> [URL] {
        let dir = root.appendingPathComponent("fuzz/\(folder)/\(target.rawValue)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    func available(_ target: FuzzTarget) throws {
        if let reason = target.unavailableReason { throw XCTSkip("\(target.rawValue): \(reason)") }
    }

    /// Every target has seeds, and every seed and kept crash input runs to completion.
    func testCorpusAndRegressionsReplay() throws {
        var ran = 0
        for target in FuzzTarget.allCases where target.unavailableReason == nil {
            let seeds = Self.inputs("corpus", target)
            XCTAssertFalse(seeds.isEmpty, "fuzz/corpus/\(target.rawValue) has no seeds (run fuzz/make-corpus)")
            for url in seeds + Self.inputs("regressions", target) {
                target.run(try Data(contentsOf: url))
                ran += 1
            }
        }
        XCTAssertGreaterThan(ran, 20)
    }

    func testTokenizerCorpusReplays() throws {
        try available(.tokenizer)
        for url in Self.inputs("corpus", .tokenizer) + Self.inputs("regressions", .tokenizer) {
            FuzzTarget.tokenizer.run(try Data(contentsOf: url))
        }
    }

    /// A short fuzzing run without the sanitizer build: seeds truncated, bit-flipped, with bytes
    /// overwritten by boundary values, inserted and deleted (deterministic), through every target.
    func testMutatedSeedsRunInProcess() throws {
        var rng = MutationRandom(seed: 30)
        let interesting: [[UInt8]] = [[0], [0xFF], [0x7F], [0x80], [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0x80],
                                      [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], Array("-1".utf8), Array("1e308".utf8),
                                      Array("[[[[".utf8), Array("\"".utf8), Array("\\u0000".utf8)]
        for target in FuzzTarget.allCases where target.unavailableReason == nil {
            let seeds = try Self.inputs("corpus", target).map { try [UInt8](Data(contentsOf: $0)) }
            guard !seeds.isEmpty else { XCTFail("fuzz/corpus/\(target) has no seeds"); continue }
            for _ in 0..<250 {
                var bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
                for _ in 0...(rng.next() % 4) where !bytes.isEmpty {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 5 {
                    case 0: bytes.removeLast(Int(rng.next() % UInt64(bytes.count - at + 1)))
                    case 1: bytes[at] ^= 1 << UInt8(rng.next() % 8)
                    case 2:
                        let v = interesting[Int(rng.next() % UInt64(interesting.count))]
                        for (k, b) in v.enumerated() where at + k < bytes.count { bytes[at + k] = b }
                    case 3: bytes.insert(contentsOf: interesting[Int(rng.next() % UInt64(interesting.count))], at: at)
                    default: bytes.removeSubrange(at..<min(bytes.count, at + 1 + Int(rng.next() % 16)))
                    }
                }
                target.run(Data(bytes))
            }
        }
    }

    /// The seeds are real inputs, not noise: each is accepted by its parser (a format change that
    /// made them stale would leave the fuzzer starting from nothing).
    func testSeedsAreAcceptedByTheirParsers() throws {
        for target in FuzzTarget.allCases where target.unavailableReason == nil {
            let accepted = try Self.inputs("corpus", target).filter { target.accepts(try Data(contentsOf: $0)) }
            XCTAssertFalse(accepted.isEmpty, "no seed of \(target.rawValue) parses")
        }
    }

    /// A few seconds of libFuzzer per target, when `scripts/fuzz` has built the driver.
    func testLibFuzzerShortRun() throws {
        let driver = Self.root.appendingPathComponent(".build-fuzz-san/debug/lidit-fuzz").path
        guard FileManager.default.isExecutableFile(atPath: driver) else {
            throw XCTSkip("the libFuzzer driver is not built (scripts/fuzz builds it)")
        }
        let p = Process()
        p.executableURL = Self.root.appendingPathComponent("scripts/fuzz")
        p.arguments = ["3", "--no-build"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
    }
}

/// SplitMix64: the mutation run is the same on every machine.
struct MutationRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
