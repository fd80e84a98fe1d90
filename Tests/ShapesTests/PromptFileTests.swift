import XCTest
@testable import Shapes

final class PromptFileTests: XCTestCase {
    let designExample = """
    {"prompt": "a red circle to the left of a blue square", "task": "position", \
    "objects": [{"shape": "circle", "color": "red", "count": 1}, {"shape": "square", "color": "blue", "count": 1}], \
    "relation": {"subject": 0, "relation": "left of", "object": 1}}
    """

    func testReadsTheDesignExample() throws {
        let cases = try PromptFile.parse(designExample)
        XCTAssertEqual(cases, [BenchmarkCase(prompt: "a red circle to the left of a blue square", task: .position,
                                             objects: [ObjectGroup(shape: .circle, color: .red), ObjectGroup(shape: .square, color: .blue)],
                                             relation: GroupRelation(subject: 0, relation: .leftOf, object: 1))])
    }

    func testDefaultsAndNulls() throws {
        let text = """
        {"prompt": "three stars", "task": "counting", "objects": [{"shape": "star", "count": 3}]}

        {"prompt": "a circle", "task": "single_object", "objects": [{"shape": "circle", "color": null}], "relation": null}
        {"prompt": "a large ring", "task": "single_object", "objects": [{"shape": "ring", "size": "large"}]}
        """
        let cases = try PromptFile.parse(text)
        XCTAssertEqual(cases.map(\.objects), [[ObjectGroup(shape: .star, count: 3)], [ObjectGroup(shape: .circle)],
                                              [ObjectGroup(shape: .ring, size: .large)]])
        XCTAssertNil(cases[1].relation)
    }

    func testRoundTrips() throws {
        let cases = [
            BenchmarkCase(prompt: "two \"small\" hearts\\", task: .counting, objects: [ObjectGroup(shape: .heart, color: nil, count: 2, size: .small)]),
            try PromptFile.parse(designExample)[0],
        ]
        XCTAssertEqual(try PromptFile.parse(PromptFile.serialize(cases)), cases)
        XCTAssertTrue(PromptFile.serialize(cases).hasPrefix(#"{"prompt": "two \"small\" hearts\\", "task": "counting", "objects": [{"shape": "heart", "color": null, "count": 2, "size": "small"}], "relation": null}"#))
        // Codable too.
        let data = try JSONEncoder().encode(cases)
        XCTAssertEqual(try JSONDecoder().decode([BenchmarkCase].self, from: data), cases)
    }

    func testRejectsMalformedLinesWithLineNumbersAndReasons() {
        let good = #"{"prompt": "a circle", "task": "single_object", "objects": [{"shape": "circle"}]}"#
        let lines = [
            good,
            #"{"prompt": "a circle", "task": "single_object", "objects": [{"shape": "circle"}]"#,
            #"{"prompt": "a hexagon", "task": "single_object", "objects": [{"shape": "hexagon"}]}"#,
            #"{"prompt": "a circle", "task": "single_object", "objects": [{"shape": "circle", "colour": "red"}]}"#,
            #"{"prompt": "zero circles", "task": "counting", "objects": [{"shape": "circle", "count": 0}]}"#,
            #"{"prompt": "a circle left of a square", "task": "position", "objects": [{"shape": "circle"}, {"shape": "square"}]}"#,
            #"{"prompt": "x", "task": "position", "objects": [{"shape": "circle"}, {"shape": "square"}], "relation": {"subject": 0, "relation": "left of", "object": 2}}"#,
            #"{"task": "colors", "objects": [{"shape": "circle", "color": "red"}]}"#,
            #"{"prompt": "a circle", "task": "vqa", "objects": [{"shape": "circle"}]}"#,
            #"{"prompt": "a circle", "task": "single_object", "objects": []}"#,
            #"{"prompt": "a circle", "task": "single_object", "objects": [{"shape": "circle", "count": "two"}]}"#,
            #"["not", "an", "object"]"#,
            #"{"prompt": "a teal circle", "task": "colors", "objects": [{"shape": "circle", "color": "teal"}]}"#,
            #"{"prompt": "x", "task": "position", "objects": [{"shape": "circle"}, {"shape": "square"}], "relation": {"subject": 0, "relation": "near", "object": 1}}"#,
        ]
        XCTAssertThrowsError(try PromptFile.parse(lines.joined(separator: "\n"))) { error in
            guard let error = error as? PromptFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.problems.map(\.line), Array(2...14))
            let reasons = error.problems.map(\.reason)
            XCTAssertEqual(reasons[0], "not valid JSON")
            XCTAssertTrue(reasons[1].hasPrefix("objects[0].shape: unknown value \"hexagon\""), reasons[1])
            XCTAssertTrue(reasons[2].contains("unknown key \"colour\""), reasons[2])
            XCTAssertEqual(reasons[3], "objects[0].count: must be at least 1, not 0")
            XCTAssertEqual(reasons[4], "relation: a position case needs a relation")
            XCTAssertTrue(reasons[5].hasPrefix("relation.object: 2 is not an index"), reasons[5])
            XCTAssertEqual(reasons[6], "prompt: is missing")
            XCTAssertTrue(reasons[7].hasPrefix("task: unknown value \"vqa\""), reasons[7])
            XCTAssertEqual(reasons[8], "objects: is empty")
            XCTAssertEqual(reasons[9], "objects[0].count: must be an integer, not a string")
            XCTAssertEqual(reasons[10], "must be a JSON object, not an array")
            XCTAssertTrue(reasons[11].hasPrefix("objects[0].color: unknown value \"teal\""), reasons[11])
            XCTAssertTrue(reasons[12].hasPrefix("relation.relation: unknown value \"near\""), reasons[12])
            XCTAssertTrue(error.description.hasPrefix("line 2: not valid JSON\nline 3: objects[0].shape"))
        }
    }
}
