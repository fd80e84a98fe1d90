import XCTest
import Foundation
@testable import ModelFiles

/// Bit-exactness against gguf-py's `gguf.quants.dequantize` (fixture made by
/// scripts/fixtures/make_dequant_fixtures.py), for every supported type.
final class DequantizeTests: XCTestCase {
    struct Case: Decodable {
        let type: String
        let ggml_type: UInt32
        let n_elements: Int
        let data_hex: String
        let values_f32_bits: [UInt32]
    }

    func testBitExactAgainstGGUFPy() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "dequant", withExtension: "json", subdirectory: "Fixtures"))
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
        var seen = Set<String>()
        for c in cases {
            let type = try XCTUnwrap(GGMLType(rawValue: c.ggml_type), "type \(c.type)")
            XCTAssertEqual(type.description, c.type)
            var bytes = [UInt8]()
            var it = c.data_hex.makeIterator()
            while let a = it.next(), let b = it.next() { bytes.append(UInt8(String([a, b]), radix: 16)!) }
            XCTAssertEqual(bytes.count, c.n_elements / type.blockSize * type.bytesPerBlock)
            var out = [Float](repeating: .nan, count: c.n_elements)
            bytes.withUnsafeBytes { Dequantize.row(type, $0.baseAddress!, &out, count: c.n_elements) }
            let mismatches = zip(out.map(\.bitPattern), c.values_f32_bits).enumerated().filter { $1.0 != $1.1 }
            XCTAssertTrue(mismatches.isEmpty, "\(c.type): \(mismatches.count) mismatches, first at \(mismatches.first.map { "\($0.offset): \(Float(bitPattern: $0.element.0)) vs \(Float(bitPattern: $0.element.1))" } ?? "")")
            seen.insert(c.type)
        }
        XCTAssertEqual(seen, ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"])
    }
}
