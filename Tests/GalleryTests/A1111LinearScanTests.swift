import XCTest
import Foundation
@testable import Gallery

/// `A1111Parameters.findPairs` skips starts that must fail (issue 30: a 100 KB `parameters`
/// chunk of letters took minutes, found by scripts/fuzz). The skipping must not change a single
/// match: the quadratic scan it replaced is kept here as the reference.
final class A1111LinearScanTests: XCTestCase {
    enum Reference {
        static func findPairs(_ line: String) -> [(String, String)] {
            let c = Array(line.unicodeScalars)
            let n = c.count
            func isWord(_ u: Unicode.Scalar) -> Bool {
                u == "_" || u.properties.isAlphabetic || u.properties.numericType != nil
            }
            func isKeyChar(_ u: Unicode.Scalar) -> Bool { isWord(u) || u == " " || u == "-" || u == "/" }
            func isSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace }
            func str(_ a: Int, _ b: Int) -> String { String(String.UnicodeScalarView(c[a..<b])) }

            /// Tries a match at `start`; returns (key, value, end) on success.
            func match(at start: Int) -> (String, String, Int)? {
                var i = start
                while i < n, isSpace(c[i]) { i += 1 }
                guard i < n, isWord(c[i]) else { return nil }
                let keyStart = i
                i += 1
                while i < n, isKeyChar(c[i]) { i += 1 }
                // `[\w \-/]+` needs at least one character after the first, and the run must end at ':'.
                // (Backtracking cannot help: a shorter key would end on a key character, not ':'.)
                guard i - keyStart >= 2, i < n, c[i] == ":" else { return nil }
                let key = str(keyStart, i)
                i += 1
                while i < n, isSpace(c[i]) { i += 1 }
                let valueStart = i
                // Alternative 1: a quoted string followed by ',' or the end.
                if i < n, c[i] == "\"" {
                    var j = i + 1
                    var content = 0
                    var closed = false
                    while j < n {
                        if c[j] == "\\" {
                            guard j + 1 < n else { break }
                            j += 2; content += 1
                        } else if c[j] == "\"" {
                            closed = content > 0
                            break
                        } else {
                            j += 1; content += 1
                        }
                    }
                    if closed {
                        let end = j + 1
                        if end == n { return (key, str(valueStart, end), end) }
                        if c[end] == "," { return (key, str(valueStart, end), end + 1) }
                    }
                }
                // Alternative 2: everything up to the next ','.
                var j = valueStart
                while j < n, c[j] != "," { j += 1 }
                return (key, str(valueStart, j), j < n ? j + 1 : j)
            }

            var out: [(String, String)] = []
            var pos = 0
            while pos <= n {
                if let (k, v, end) = match(at: pos) {
                    out.append((k, v))
                    pos = end > pos ? end : pos + 1
                } else {
                    pos += 1
                }
                if pos >= n { break }
            }
            return out
        }
    }

    func testSameMatchesAsTheQuadraticScan() {
        var state: UInt64 = 30
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let alphabet: [String] = ["a", "b", "1", "_", " ", ":", ",", "\"", "\\", "-", "/", "\t", "é"]
        for _ in 0..<20_000 {
            let line = (0..<Int(next() % 24)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }.joined()
            let got = A1111Parameters.findPairs(line), want = Reference.findPairs(line)
            XCTAssertTrue(got.map { "\($0.0)|\($0.1)" } == want.map { "\($0.0)|\($0.1)" }, "\(line.debugDescription): \(got) vs \(want)")
        }
    }

    func testHostileLinesParseInLinearTime() {
        let n = 200_000
        let lines = [String(repeating: "a", count: n), String(repeating: " ", count: n) + ",",
                     "ab: \"" + String(repeating: "b", count: n),
                     String(repeating: "ab: \"x,", count: n / 8) + "\"z",
                     String(repeating: "ab: \"\\\",", count: n / 8)]
        for line in lines {
            let start = Date()
            _ = A1111Parameters.parse("prompt\n" + line)
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, String(line.prefix(12)))
        }
    }
}
