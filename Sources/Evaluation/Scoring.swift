import Foundation
import Shapes

/// Whether one image satisfies one case, and why not.
public struct Verdict: Sendable, Equatable {
    public var passed: Bool
    /// "ok", or every failed requirement, separated by "; ".
    public var why: String
    /// For `positional_bias` cases: whether each segment (object group) was found, in prompt order.
    public var segments: [Bool]?
}

/// GenEval's checks (`evaluation/evaluate_images.py`), on analytic detections:
/// - every object group needs at least `count` detections of its shape (and, when named, color and
///   size);
/// - counting also excludes `count + 1`: finding more fails ("exactly N");
/// - a relation must hold, under `PositionRule`, between every chosen subject object and every
///   chosen object object.
///
/// Where GenEval checks only its `count` most confident detections for color and position, an
/// analytic detector has no confidences, so a group is matched by any `count` of the detections
/// that fit it (and a relation passes when some such choice satisfies it). The counting exclude
/// counts detections that fit the group (shape, and color or size when named); GenEval's counting
/// prompts name neither, so for them this is GenEval's class-level exclude.
public enum GenEvalRules {
    /// Candidates per group considered for relations (GenEval keeps at most 16 per class).
    static let maxCandidates = 16

    public static func score(_ benchmarkCase: BenchmarkCase, detected: [DetectedObject]) -> Verdict {
        var reasons: [String] = []
        var matches: [[DetectedObject]?] = []
        for group in benchmarkCase.objects {
            let fitting = detected.filter { group.matches(shape: $0.shape, color: $0.color, size: $0.size) }
            if fitting.count >= group.count {
                matches.append(fitting)
            } else {
                matches.append(nil)
                reasons.append("expected \(phrase(group))>=\(group.count), found \(fitting.count)\(nearMisses(for: group, in: detected))")
            }
            if benchmarkCase.task == .counting && fitting.count > group.count {
                reasons.append("expected \(phrase(group))<\(group.count + 1), found \(fitting.count)")
            }
        }

        if let relation = benchmarkCase.relation,
           let subjects = matches[relation.subject], let objects = matches[relation.object] {
            let subjectGroup = benchmarkCase.objects[relation.subject], objectGroup = benchmarkCase.objects[relation.object]
            if !relationHolds(relation.relation, subjects: subjects, need: subjectGroup.count,
                              objects: objects, needObjects: objectGroup.count) {
                let found = PositionRule.relations(of: subjects[0].box, to: objects[0].box)
                let seen = found.isEmpty ? "no relation" : found.map(\.rawValue).sorted().joined(separator: " and ")
                reasons.append("expected \(phrase(subjectGroup)) \(relation.relation.rawValue) \(phrase(objectGroup)), found \(seen)")
            }
        }

        let segments = benchmarkCase.task == .positionalBias ? matches.map { $0 != nil } : nil
        return Verdict(passed: reasons.isEmpty, why: reasons.isEmpty ? "ok" : reasons.joined(separator: "; "), segments: segments)
    }

    /// Whether some `need` of the subjects each stand in `relation` to all of some `needObjects` of
    /// the objects.
    static func relationHolds(_ relation: Relation, subjects: [DetectedObject], need: Int,
                              objects: [DetectedObject], needObjects: Int) -> Bool {
        let objects = Array(objects.prefix(maxCandidates))
        var found = false
        forEachSubset(of: objects.count, size: needObjects) { chosen in
            let satisfying = subjects.filter { subject in
                chosen.allSatisfy { PositionRule.holds(relation, of: subject.box, to: objects[$0].box) }
            }
            if satisfying.count >= need { found = true }
            return found
        }
        return found
    }

    /// Calls `body` with each `size`-subset of 0..<n until it returns true.
    static func forEachSubset(of n: Int, size: Int, _ body: ([Int]) -> Bool) {
        var chosen: [Int] = []
        func extend(from start: Int) -> Bool {
            if chosen.count == size { return body(chosen) }
            guard start < n else { return false }
            for i in start..<n {
                chosen.append(i)
                if extend(from: i + 1) { return true }
                chosen.removeLast()
            }
            return false
        }
        _ = extend(from: 0)
    }

    /// "2 small red circles", "square".
    public static func phrase(_ group: ObjectGroup) -> String {
        let noun = group.count > 1 ? group.shape.plural : group.shape.rawValue
        return [group.size?.rawValue, group.color?.rawValue, noun].compactMap { $0 }.joined(separator: " ")
    }

    /// What was there instead, when shape matches but color or size does not:
    /// " (circles found: blue, small red)".
    static func nearMisses(for group: ObjectGroup, in detected: [DetectedObject]) -> String {
        let sameShape = detected.filter { $0.shape == group.shape }
        guard !sameShape.isEmpty, group.color != nil || group.size != nil else { return "" }
        let described = sameShape.map { object in
            [group.size != nil ? object.size.rawValue : nil, object.color.rawValue].compactMap { $0 }.joined(separator: " ")
        }
        return " (\(group.shape.plural) found: \(described.joined(separator: ", ")))"
    }
}
