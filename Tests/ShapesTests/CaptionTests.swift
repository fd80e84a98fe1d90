import XCTest
@testable import Shapes

final class CaptionTests: XCTestCase {
    let grammar = CaptionGrammar()

    func words(_ caption: String) -> Set<String> {
        Set(caption.lowercased().split { !$0.isLetter }.map(String.init))
    }

    /// Every caption names what its description holds: colors, shapes in the right number, count
    /// words, sizes, and the relation (in either direction).
    func testCaptionsMentionEverythingTheyDescribe() {
        let sampler = SceneSampler(policy: .any)
        var rng = SplitMix64(seed: 21)
        for _ in 0..<3000 {
            let description = sampler.description(using: &rng)
            let caption = grammar.caption(for: description, using: &rng)
            let found = words(caption)
            for group in description.groups {
                XCTAssertTrue(found.contains(group.count > 1 ? group.shape.plural : group.shape.rawValue), caption)
                if let color = group.color { XCTAssertTrue(found.contains(color.rawValue), caption) }
                if group.count > 1 { XCTAssertTrue(found.contains(CaptionGrammar.numberWords[group.count]), caption) }
                if let size = group.size {
                    XCTAssertFalse(found.isDisjoint(with: CaptionGrammar.sizeWords[size]!), caption)
                }
            }
            // No stray vocabulary: every color and shape word belongs to some group.
            for color in PaletteColor.allCases where found.contains(color.rawValue) {
                XCTAssertTrue(description.groups.contains { $0.color == color }, caption)
            }
            for shape in ShapeKind.allCases where found.contains(shape.rawValue) || found.contains(shape.plural) {
                XCTAssertTrue(description.groups.contains { $0.shape == shape }, caption)
            }
            if let relation = description.relation {
                let horizontal: Set = ["left", "right"], vertical: Set = ["above", "over", "below", "under", "beneath", "top", "bottom"]
                let expected = [.leftOf, .rightOf].contains(relation.relation) ? horizontal : vertical
                XCTAssertFalse(found.isDisjoint(with: expected), caption)
            } else {
                XCTAssertTrue(found.isDisjoint(with: ["left", "right", "above", "below", "under", "over", "top", "bottom"]), caption)
            }
        }
    }

    func testRelationsAreStatedBothWaysRound() {
        let description = SceneDescription(groups: [ObjectGroup(shape: .circle, color: .red), ObjectGroup(shape: .square, color: .blue)],
                                           relation: GroupRelation(subject: 0, relation: .leftOf, object: 1))
        var rng = SplitMix64(seed: 5)
        let captions = (0..<400).map { _ in grammar.caption(for: description, using: &rng).lowercased() }
        XCTAssertTrue(captions.contains { $0.contains("red circle to the left of a blue square") })
        XCTAssertTrue(captions.contains { $0.contains("blue square to the right of a red circle") })
        XCTAssertTrue(captions.contains("there is a blue square, and left of it a red circle")
                      || captions.contains("there is a blue square, and to the left of it a red circle"))
        XCTAssertTrue(captions.contains { $0.contains("on the left and") })
        // The right-hand object is never said to be on the left.
        XCTAssertFalse(captions.contains { $0.contains("square to the left") || $0.contains("circle to the right") })
        XCTAssertFalse(captions.contains { $0.contains("square on the left") || $0.contains("circle on the right") })
    }

    func testPhrasingsVary() {
        let description = SceneDescription(groups: [ObjectGroup(shape: .ring, color: .purple, size: .small)])
        var rng = SplitMix64(seed: 6)
        let captions = Set((0..<300).map { _ in grammar.caption(for: description, using: &rng) })
        XCTAssertGreaterThan(captions.count, 40)
        XCTAssertTrue(captions.contains("a small ring that is purple"))
        XCTAssertTrue(captions.contains("two green triangles")
                      || grammar.caption(for: SceneDescription(groups: [ObjectGroup(shape: .triangle, color: .green, count: 2)]), using: &rng).contains("triangles"))
    }

    func testArticles() {
        var rng = SplitMix64(seed: 7)
        let captions = (0..<200).map { _ in grammar.caption(for: SceneDescription(groups: [ObjectGroup(shape: .star, color: .orange)]), using: &rng).lowercased() }
        XCTAssertTrue(captions.contains { $0.contains("an orange star") })
        XCTAssertFalse(captions.contains { $0.contains("a orange") })
    }
}
