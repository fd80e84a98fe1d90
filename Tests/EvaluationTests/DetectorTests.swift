import XCTest
import Shapes
@testable import Evaluation

final class DetectorTests: XCTestCase {
    let rasterizer = Rasterizer()

    func detect(_ objects: [SceneObject], resolution: Int = 64) -> [DetectedObject] {
        Detector().detect(rasterizer.render(SceneSpec(objects: objects), width: resolution, height: resolution))
    }

    func testEveryShapeColorAndSizeAlone() {
        for resolution in [64, 32] {
            for shape in ShapeKind.allCases {
                for color in PaletteColor.allCases {
                    for size in Size.allCases {
                        let found = detect([SceneObject(shape: shape, color: color, size: size, x: 0.45, y: 0.55)], resolution: resolution)
                        XCTAssertEqual(found.map(\.label), [DetectedObject.label(shape, color, size)], "\(resolution)px \(size) \(color) \(shape)")
                        if let object = found.first {
                            XCTAssertEqual(object.x, 0.45, accuracy: 0.01)
                            XCTAssertEqual(object.y, 0.55, accuracy: 0.01)
                        }
                    }
                }
            }
        }
    }

    func testBackgroundAloneHasNoObjects() {
        XCTAssertTrue(detect([]).isEmpty)
    }

    func testTouchingObjectsOfDifferentColorsAreSplitByColor() {
        // Two medium squares whose sides touch (half side 0.85 × 0.12 = 0.102 of the canvas).
        let found = detect([SceneObject(shape: .square, color: .red, size: .medium, x: 0.3, y: 0.5),
                            SceneObject(shape: .square, color: .blue, size: .medium, x: 0.3 + 0.204, y: 0.5)])
        XCTAssertEqual(found.map(\.label).sorted(), ["blue square", "red square"])
    }

    func testTouchingObjectsOfOneColorAreSplitAtTheNeck() {
        let found = detect([SceneObject(shape: .circle, color: .green, size: .medium, x: 0.3, y: 0.5),
                            SceneObject(shape: .circle, color: .green, size: .medium, x: 0.3 + 0.235, y: 0.5)])
        XCTAssertEqual(found.map(\.label), ["green circle", "green circle"])
        XCTAssertLessThan(found.map(\.x).min()!, 0.35)
        XCTAssertGreaterThan(found.map(\.x).max()!, 0.48)
    }

    func testSpeckleNoiseIsNotAnObject() {
        var image = rasterizer.render(SceneSpec(objects: [SceneObject(shape: .star, color: .yellow, size: .large, x: 0.5, y: 0.5)]), width: 64, height: 64)
        image[5, 5] = SIMD3(1, 0, 0)
        image[60, 10] = SIMD3(0, 0, 0)
        XCTAssertEqual(Detector().detect(image).map(\.label), ["large yellow star"])
    }

    func testShapelessBlobHasNoShape() {
        // A long thin bar fits no outline.
        var image = FloatImage(width: 64, height: 64, fill: Palette.background)
        for y in 30..<34 { for x in 8..<56 { image[x, y] = PaletteColor.red.srgb.unit } }
        let found = Detector().detect(image)
        XCTAssertEqual(found.count, 1)
        XCTAssertNil(found.first?.shape)
        XCTAssertEqual(found.first?.color, .red)
    }
}

extension DetectedObject {
    static func label(_ shape: ShapeKind, _ color: PaletteColor, _ size: Size) -> String {
        "\(size == .medium ? "" : size.rawValue + " ")\(color.rawValue) \(shape.rawValue)"
    }
}
