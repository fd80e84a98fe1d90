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

/// The wide phrasing says the same facts in many more ways; it must never say a wrong one.
class WidePhrasingTests: XCTestCase {
    var style: CaptionGrammar.Style { .wide }
    var grammar: CaptionGrammar { CaptionGrammar(style: style) }

    func words(_ caption: String) -> Set<String> {
        Set(caption.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init))
    }

    /// Ways a caption may say the count `n` of a group.
    func countWords(_ n: Int) -> Set<String> {
        var set: Set = [CaptionGrammar.numberWords[n], "\(n)"]
        switch n {
        case 1: set.formUnion(["a", "an", "single"])
        case 2: set.formUnion(["pair", "couple"])
        case 3: set.formUnion(["trio"])
        case 4: set.formUnion(["quartet"])
        default: break
        }
        return set
    }

    func shapeWords(_ shape: ShapeKind) -> Set<String> {
        var set: Set = [shape.rawValue, shape.plural]
        if let synonym = WidePhrasing.synonyms[shape] {
            set.formUnion(synonym.singular.split(separator: " ").map(String.init))
            set.formUnion(synonym.plural.split(separator: " ").map(String.init))
        }
        return set
    }

    func testCaptionsMentionEverythingTheyDescribe() {
        let sampler = SceneSampler(policy: .any)
        var rng = SplitMix64(seed: 22)
        let sizeWords: [Size: Set<String>] = [.small: ["small", "little", "tiny"], .large: ["large", "big", "huge"]]
        for _ in 0..<4000 {
            let description = sampler.description(using: &rng)
            let caption = grammar.caption(for: description, using: &rng)
            let found = words(caption)
            for group in description.groups {
                XCTAssertFalse(found.isDisjoint(with: shapeWords(group.shape)), caption)
                if let color = group.color { XCTAssertTrue(found.contains(color.rawValue), caption) }
                if group.count > 1 { XCTAssertFalse(found.isDisjoint(with: countWords(group.count)), caption) }
                if let size = group.size, size != .medium { XCTAssertFalse(found.isDisjoint(with: sizeWords[size]!), caption) }
            }
            // Counts are exact: no other number is said.
            let counts = Set(description.groups.map(\.count))
            for n in 2...4 where !counts.contains(n) {
                XCTAssertFalse(found.contains("\(n)") || found.contains(CaptionGrammar.numberWords[n]), caption)
            }
            for color in PaletteColor.allCases where found.contains(color.rawValue) {
                XCTAssertTrue(description.groups.contains { $0.color == color }, caption)
            }
            for shape in ShapeKind.allCases where !found.isDisjoint(with: [shape.rawValue, shape.plural]) {
                XCTAssertTrue(description.groups.contains { $0.shape == shape }, caption)
            }
            let placeWords: Set = ["left", "right", "above", "below", "under", "over", "top", "bottom", "west", "east",
                                   "north", "south", "higher", "lower", "beneath", "underneath", "upper", "up", "down",
                                   "leftmost", "rightmost", "topmost", "bottommost", "highest", "lowest"]
            if let relation = description.relation {
                let horizontal: Set = ["left", "right", "west", "east", "leftmost", "rightmost"]
                let vertical: Set = ["above", "over", "below", "under", "beneath", "underneath", "top", "bottom", "higher",
                                     "lower", "north", "south", "upper", "up", "down", "topmost", "bottommost", "highest", "lowest"]
                let expected = [.leftOf, .rightOf].contains(relation.relation) ? horizontal : vertical
                let wrong = [.leftOf, .rightOf].contains(relation.relation) ? vertical : horizontal
                XCTAssertFalse(found.isDisjoint(with: expected), caption)
                XCTAssertTrue(found.isDisjoint(with: wrong), caption)
            } else {
                XCTAssertTrue(found.isDisjoint(with: placeWords), caption)
            }
        }
    }

    /// "a red circle left of a blue square", said every way the phrasing knows: the square is never
    /// put on the left, nor the circle on the right.
    func testRelationsNeverNameTheWrongSide() {
        let description = SceneDescription(groups: [ObjectGroup(shape: .circle, color: .red), ObjectGroup(shape: .square, color: .blue)],
                                           relation: GroupRelation(subject: 0, relation: .leftOf, object: 1))
        var rng = SplitMix64(seed: 8)
        let captions = (0..<4000).map { _ in grammar.caption(for: description, using: &rng).lowercased() }
        var wrong: [String] = []
        for phrase in WidePhrasing.widerRelationPhrases[.leftOf]!.map(\.0) { wrong += ["square \(phrase)", "squares \(phrase)"] }
        for phrase in WidePhrasing.widerRelationPhrases[.rightOf]!.map(\.0) { wrong += ["circle \(phrase) "] }
        for (mine, theirs) in WidePhrasing.sides[.leftOf]! { wrong += ["square \(mine)", "circle \(theirs)", "\(mine) a blue square"] }
        // "X with Y to its left": Y is the one on the left.
        for beside in WidePhrasing.besidePhrases[.leftOf]! { wrong += ["square \(beside)"] }
        for beside in WidePhrasing.besidePhrases[.rightOf]! { wrong += ["circle \(beside)"] }
        for beside in WidePhrasing.besidePhrases[.leftOf]! { wrong += ["red circle with a blue square \(beside)", "circle, and \(beside) a blue square"] }
        for caption in captions {
            for w in wrong where caption.contains(w) && !caption.contains(w + " side") {
                XCTFail("\(caption) contains \(w)")
            }
        }
        // Every family of forms occurs.
        for expected in ["to its left", "further left than", "on the left side", ". ", "the circle", "with a red circle",
                         "circle to the left of a blue square", "square to the right of a red circle"] {
            XCTAssertTrue(captions.contains { $0.contains(expected) }, expected)
        }
    }

    func testWidePhrasingVariesMoreThanTheOriginal() {
        let description = SceneDescription(groups: [ObjectGroup(shape: .star, color: .green, count: 3)])
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        let wide = Set((0..<1000).map { _ in grammar.caption(for: description, using: &a) })
        let original = Set((0..<1000).map { _ in CaptionGrammar().caption(for: description, using: &b) })
        XCTAssertGreaterThan(wide.count, 3 * original.count)
        XCTAssertTrue(wide.contains { $0.contains("3 green stars") })
        XCTAssertTrue(wide.contains { $0.contains("a trio of") })
    }

    /// The original style is what earlier configs' caption pools were made of: it must not change.
    func testOriginalStyleIsUnchanged() {
        var rng = SplitMix64(seed: 1)
        let sampler = SceneSampler(policy: .training)
        let captions = (0..<3).map { _ in CaptionGrammar().caption(for: sampler.description(using: &rng), using: &rng) }
        XCTAssertEqual(captions, CaptionTests.firstOriginalCaptions)
    }
}

/// The wider style: everything the wide style's tests ask, and its own ways of placing things
/// never put the wrong one on the left.
final class WiderPhrasingTests: WidePhrasingTests {
    override var style: CaptionGrammar.Style { .wider }

    func testPlaceFormsNeverNameTheWrongSide() throws {
        // A red circle left of a blue square; then a ring above a heart.
        let horizontal = SceneDescription(groups: [ObjectGroup(shape: .circle, color: .red), ObjectGroup(shape: .square, color: .blue)],
                                          relation: GroupRelation(subject: 0, relation: .leftOf, object: 1))
        let vertical = SceneDescription(groups: [ObjectGroup(shape: .ring), ObjectGroup(shape: .heart)],
                                        relation: GroupRelation(subject: 0, relation: .above, object: 1))
        var rng = SplitMix64(seed: 31)
        let sideways = (0..<4000).map { _ in grammar.caption(for: horizontal, using: &rng).lowercased() }
        let upright = (0..<4000).map { _ in grammar.caption(for: vertical, using: &rng).lowercased() }
        let wrongSideways = [
            "square's right", "circle's left", "left to right[^.]*square[^.]*circle", "right to left[^.]*circle[^.]*square",
            "(^|[;,.] )(left|on the left|left side|west): [^;,./]*square", "(^|[;,.] )(right|on the right|right side|east): [^;,./]*circle",
            "square,? (being |with |is |are )?(the )?(leftmost|further left|farther left|more to the left|on the far left|the one on the left)",
            "circle,? (being |with |is |are )?(the )?(rightmost|further right|farther right|more to the right|on the far right|the one on the right)",
            // "A. To the left, B.": B is left of A.
            "square[^.;]*[.;,] (and )?(to the right|further right|right of that|to its right|on its right)",
            "circle[^.;]*[.;,] (and )?(to the left|further left|left of that|to its left|on its left)",
            "west of a (red )?circle", "east of a (blue )?square",
        ].map { try! NSRegularExpression(pattern: $0) }
        let wrongUpright = [
            "top to bottom[^.]*heart[^.]*ring", "bottom to top[^.]*ring[^.]*heart",
            "(^|[;,.] )(top|upper half|up top|north): [^;,./]*heart", "(^|[;,.] )(bottom|lower half|down below|south): [^;,./]*ring",
            "heart,? (being |with |is |are )?(the )?(higher|topmost|highest|further up|on top|upper)(?! half)",
            "ring,? (being |with |is |are )?(the )?(lower|bottommost|lowest|further down|at the very bottom)(?! half)",
            "ring[^.;]*[.;,] (and )?(higher up|above that|further up|up above it|above it|on top of that|over that)",
            "heart[^.;]*[.;,] (and )?(lower down|below that|further down|beneath it|below it|underneath that|under that)",
            "north of a ring", "south of a heart",
        ].map { try! NSRegularExpression(pattern: $0) }
        for (captions, wrong) in [(sideways, wrongSideways), (upright, wrongUpright)] {
            for caption in captions {
                let range = NSRange(caption.startIndex..., in: caption)
                for pattern in wrong where pattern.firstMatch(in: caption, range: range) != nil {
                    XCTFail("\(caption) matches \(pattern.pattern)")
                }
            }
        }
        // Every new form occurs, and compass words are no longer rare.
        for expected in ["circle's right", "square's left", "from left to right: ", "right to left", "left: ", "leftmost",
                         "being", "to the left,", "right of that", "west of", "on the west side of"] {
            XCTAssertTrue(sideways.contains { $0.contains(expected) }, expected)
        }
        for expected in ["from top to bottom", "top: ", "higher", "lower", "north of", "south of", "higher up,"] {
            XCTAssertTrue(upright.contains { $0.contains(expected) }, expected)
        }
        let compass = sideways.filter { $0.contains("west") || $0.contains("east") }.count
        XCTAssertGreaterThan(compass, 4000 / 20, "compass words in at least 5% of the captions")
    }

    /// The wider style is a different pool, but the wide style must be exactly what it was.
    func testWideStyleIsUntouched() {
        var a = SplitMix64(seed: 4), b = SplitMix64(seed: 4)
        let description = SceneDescription(groups: [ObjectGroup(shape: .circle), ObjectGroup(shape: .square)],
                                           relation: GroupRelation(subject: 0, relation: .below, object: 1))
        let wide = (0..<200).map { _ in CaptionGrammar(style: .wide).caption(for: description, using: &a) }
        let wider = (0..<200).map { _ in grammar.caption(for: description, using: &b) }
        XCTAssertNotEqual(wide, wider)
        XCTAssertFalse(wide.contains { $0.contains("top to bottom") || $0.contains("bottom to top") })
    }
}

extension CaptionTests {
    /// The first captions of `SceneSampler(policy: .training)` + the original grammar from seed 1,
    /// as they were before the wide phrasing existed.
    static let firstOriginalCaptions = [
        "A drawing of a green cross and a circle in blue", "a photo of a blue heart",
        "an image of small triangle at the bottom and a little white star at the top.",
    ]
}
