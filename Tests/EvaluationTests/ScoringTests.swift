import XCTest
import Shapes
@testable import Evaluation

/// GenEval's rules on hand-made detections.
final class ScoringTests: XCTestCase {
    func object(_ shape: ShapeKind?, _ color: PaletteColor, at x: Double, _ y: Double, size: Size = .medium) -> DetectedObject {
        let half = size.radius
        return DetectedObject(shape: shape, color: color, size: size,
                              box: ObjectBox(minX: x - half, maxX: x + half, minY: y - half, maxY: y + half, centerX: x, centerY: y),
                              area: 100, shapeFit: 0.95, colorDistance: 0)
    }

    func score(_ task: BenchmarkTask, _ groups: [ObjectGroup], relation: GroupRelation? = nil, _ detected: [DetectedObject]) -> Verdict {
        GenEvalRules.score(BenchmarkCase(prompt: "test", task: task, objects: groups, relation: relation), detected: detected)
    }

    func testSingleAndTwoObjects() {
        XCTAssertTrue(score(.singleObject, [ObjectGroup(shape: .star)], [object(.star, .red, at: 0.5, 0.5)]).passed)
        XCTAssertEqual(score(.singleObject, [ObjectGroup(shape: .star)], [object(.heart, .red, at: 0.5, 0.5)]).why,
                       "expected star>=1, found 0")
        XCTAssertFalse(score(.singleObject, [ObjectGroup(shape: .star)], [object(nil, .red, at: 0.5, 0.5)]).passed)
        let two = [ObjectGroup(shape: .star), ObjectGroup(shape: .ring)]
        XCTAssertTrue(score(.twoObject, two, [object(.ring, .red, at: 0.2, 0.5), object(.star, .blue, at: 0.7, 0.5)]).passed)
        XCTAssertFalse(score(.twoObject, two, [object(.star, .blue, at: 0.7, 0.5)]).passed)
    }

    func testCountingIsExact() {
        let three = [ObjectGroup(shape: .circle, count: 3)]
        let circles = (0..<4).map { object(.circle, .red, at: 0.2 * Double($0 + 1), 0.5) }
        XCTAssertFalse(score(.counting, three, Array(circles.prefix(2))).passed)
        XCTAssertTrue(score(.counting, three, Array(circles.prefix(3))).passed)
        let four = score(.counting, three, circles)
        XCTAssertFalse(four.passed, "N+1 fails")
        XCTAssertEqual(four.why, "expected circles<4, found 4")
        // Other shapes do not count against it.
        XCTAssertTrue(score(.counting, three, Array(circles.prefix(3)) + [object(.square, .red, at: 0.5, 0.8)]).passed)
        // More than N is fine outside the counting task (GenEval adds the exclude only there).
        XCTAssertTrue(score(.singleObject, [ObjectGroup(shape: .circle)], circles).passed)
    }

    func testColorsAndSizes() {
        let redStar = [ObjectGroup(shape: .star, color: .red)]
        XCTAssertTrue(score(.colors, redStar, [object(.star, .blue, at: 0.2, 0.5), object(.star, .red, at: 0.7, 0.5)]).passed)
        let wrong = score(.colors, redStar, [object(.star, .blue, at: 0.2, 0.5)])
        XCTAssertEqual(wrong.why, "expected red star>=1, found 0 (stars found: blue)")
        let largeStar = [ObjectGroup(shape: .star, size: .large)]
        XCTAssertFalse(score(.singleObject, largeStar, [object(.star, .red, at: 0.5, 0.5, size: .small)]).passed)
        XCTAssertTrue(score(.singleObject, largeStar, [object(.star, .red, at: 0.5, 0.5, size: .large)]).passed)
    }

    func testColorAttributeBindsEachColorToItsShape() {
        let groups = [ObjectGroup(shape: .circle, color: .red), ObjectGroup(shape: .square, color: .blue)]
        XCTAssertTrue(score(.colorAttribute, groups, [object(.circle, .red, at: 0.2, 0.5), object(.square, .blue, at: 0.7, 0.5)]).passed)
        // Swapped colors: both objects present, both colors present, still wrong.
        XCTAssertFalse(score(.colorAttribute, groups, [object(.circle, .blue, at: 0.2, 0.5), object(.square, .red, at: 0.7, 0.5)]).passed)
    }

    func testPosition() {
        let groups = [ObjectGroup(shape: .circle), ObjectGroup(shape: .square)]
        let leftOf = GroupRelation(subject: 0, relation: .leftOf, object: 1)
        let circleLeft = [object(.circle, .red, at: 0.2, 0.5), object(.square, .blue, at: 0.8, 0.5)]
        let circleRight = [object(.circle, .red, at: 0.8, 0.5), object(.square, .blue, at: 0.2, 0.5)]
        XCTAssertTrue(score(.position, groups, relation: leftOf, circleLeft).passed)
        let verdict = score(.position, groups, relation: leftOf, circleRight)
        XCTAssertEqual(verdict.why, "expected circle left of square, found right of")
        // Directly above: left of fails, above holds.
        let stacked = [object(.circle, .red, at: 0.5, 0.2), object(.square, .blue, at: 0.5, 0.8)]
        XCTAssertFalse(score(.position, groups, relation: leftOf, stacked).passed)
        XCTAssertTrue(score(.position, groups, relation: GroupRelation(subject: 0, relation: .above, object: 1), stacked).passed)
        // A missing object fails the presence check, and no relation is judged.
        XCTAssertEqual(score(.position, groups, relation: leftOf, [circleLeft[0]]).why, "expected square>=1, found 0")
        // Some choice of objects satisfying the relation is enough when extras are present.
        XCTAssertTrue(score(.position, groups, relation: leftOf, circleLeft + [object(.circle, .green, at: 0.95, 0.9)]).passed)
    }

    func testPositionalBiasSegments() {
        let groups = [ObjectGroup(shape: .circle, color: .red), ObjectGroup(shape: .star, color: .blue), ObjectGroup(shape: .ring, color: .green)]
        let verdict = score(.positionalBias, groups, [object(.circle, .red, at: 0.2, 0.5), object(.ring, .green, at: 0.7, 0.5)])
        XCTAssertEqual(verdict.segments, [true, false, true])
        XCTAssertFalse(verdict.passed)
    }

    func testOverallIsTheUnweightedMeanOfTasks() {
        func result(_ task: BenchmarkTask, _ passed: Bool) -> CaseResult {
            CaseResult(benchmarkCase: BenchmarkCase(prompt: "p", task: task, objects: [ObjectGroup(shape: .circle)]),
                       seed: 0, verdict: Verdict(passed: passed, why: ""), detected: [])
        }
        // single_object: 1 of 1; colors: 1 of 3 → mean of 1 and 1/3, not 2 of 4.
        let report = BenchmarkReport(results: [result(.singleObject, true), result(.colors, true), result(.colors, false), result(.colors, false)], seeds: [0])
        XCTAssertEqual(report.overall, (1 + 1.0 / 3) / 2, accuracy: 1e-12)
        XCTAssertTrue(report.table().contains("overall            0.667"))
    }
}
