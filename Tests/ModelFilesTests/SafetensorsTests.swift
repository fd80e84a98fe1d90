import XCTest
import Foundation
@testable import ModelFiles

final class SafetensorsTests: XCTestCase {
    func testRoundTripAndCorruption() throws {
        let file = SafetensorsFile(tensors: [
            .init(name: "a.weight", shape: [2, 3], values: [1, -2, 3.5, 0, 1e-3, 65504], dtype: .f16),
            .init(name: "b", shape: [4], values: [1.25, -7, 0.1, 3e-9], dtype: .f32),
        ], metadata: ["config": "{\"width\":192}"])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("t-\(UUID()).safetensors").path
        defer { unlink(path) }
        try file.write(to: path)
        let back = try SafetensorsFile.read(path: path)
        XCTAssertEqual(back.metadata["config"], "{\"width\":192}")
        XCTAssertEqual(back.tensor("b")?.values, [1.25, -7, 0.1, 3e-9])
        XCTAssertEqual(back.tensor("a.weight")?.shape, [2, 3])
        XCTAssertEqual(back.tensor("a.weight")!.values[4], 1e-3, accuracy: 1e-6)
        XCTAssertEqual(back.tensor("a.weight")!.values[5], 65504)
        let data = try file.serialized()
        for cut in [0, 7, 20, data.count - 1] {
            XCTAssertThrowsError(try SafetensorsFile.parse(data.prefix(cut)), "cut \(cut)")
        }
    }
}
