import Foundation

/// Turns a scene description into English, in many phrasings: the LLM encoders understand
/// paraphrase, and the data should let the model profit from it.
///
///     "a red circle to the left of a blue square"
///     "there is a blue square, and left of it a red circle"
///     "two green triangles", "a large yellow star", "a small ring that is purple"
///     "a photo of three big hearts", "a red circle on the left and a blue square on the right"
///
/// Groups are named in the description's order (the positional-bias probe relies on it); a relation
/// may be stated either way round (A left of B == B right of A).
public struct CaptionGrammar: Sendable {
    /// Which phrasings captions take. Each style's captions for a seed never change, so a training
    /// config names its style and its caption pool (and cached LLM features) stay reproducible.
    public enum Style: String, Codable, CaseIterable, Sendable {
        /// The grammar of the forms below: what the default model learnt first and what the
        /// committed benchmark sets are phrased in.
        case original
        /// `WidePhrasing`: many more ways of saying numbers, colors, sizes, joins, relations and
        /// requests, a quarter of them the original grammar's.
        case wide
        /// `wide`, with more ways of saying where things are and fewer of the original grammar's
        /// captions: compass words as often as other words, possessives ("on the star's left"),
        /// orders ("from left to right: …"), labels ("left: …; right: …"), the outermost ("the
        /// circle being the leftmost") and places said across sentences ("… Higher up, a cross.").
        case wider
    }

    public var style: Style

    public init(style: Style = .original) { self.style = style }

    public func caption(for description: SceneDescription, using rng: inout SplitMix64) -> String {
        switch style {
        case .original: originalCaption(for: description, using: &rng)
        case .wide: WidePhrasing(original: CaptionGrammar()).caption(for: description, using: &rng)
        case .wider: WidePhrasing(original: CaptionGrammar(), widerPlaces: true).caption(for: description, using: &rng)
        }
    }

    private func originalCaption(for description: SceneDescription, using rng: inout SplitMix64) -> String {
        var text: String
        if let relation = description.relation {
            text = relationCaption(relation, in: description, using: &rng)
            let others = description.groups.indices.filter { $0 != relation.subject && $0 != relation.object }
            if !others.isEmpty {
                text += ", " + list(others.map { nounPhrase(description.groups[$0], using: &rng) }, using: &rng)
            }
        } else {
            let phrases = description.groups.map { nounPhrase($0, using: &rng) }
            text = prefix(firstGroup: description.groups.first, using: &rng) + list(phrases, using: &rng)
        }
        if rng.chance(0.2) { text = text.prefix(1).uppercased() + text.dropFirst() }
        if rng.chance(0.15) { text += "." }
        return text
    }

    // MARK: noun phrases

    /// "a small red circle", "two circles that are red", "one big star in yellow", "a red-colored
    /// ring", "a heart that is large", or bare "red circle" (articles are optional).
    public func nounPhrase(_ group: ObjectGroup, using rng: inout SplitMix64) -> String {
        let plural = group.count > 1
        let noun = plural ? group.shape.plural : group.shape.rawValue
        let be = plural ? "are" : "is"
        let size = group.size.map { sizeWord($0, using: &rng) }
        let color = group.color?.rawValue

        enum Form { case prenominal, colorClause, inColor, colored, sizeClause }
        var forms: [(Form, Double)] = [(.prenominal, 0.6)]
        if color != nil { forms += [(.colorClause, 0.12), (.inColor, 0.08), (.colored, 0.1)] }
        if size != nil { forms.append((.sizeClause, 0.1)) }

        let words: [String?]
        switch rng.pick(weighted: forms) {
        case .prenominal: words = [size, color, noun]
        case .colorClause: words = [size, noun, "that", be, color]
        case .inColor: words = [size, noun, "in", color]
        case .colored: words = [size, color.map { $0 + "-colored" }, noun]
        case .sizeClause: words = [color, noun, "that", be, size]
        }
        let body = words.compactMap { $0 }.joined(separator: " ")
        return determiner(count: group.count, before: body, using: &rng) + body
    }

    private func determiner(count: Int, before body: String, using rng: inout SplitMix64) -> String {
        if count > 1 { return Self.numberWords[count] + " " }
        return rng.pick(weighted: [(Self.indefiniteArticle(before: body) + " ", 0.8), ("one ", 0.1), ("", 0.1)])
    }

    /// "an" before a vowel ("an orange star"), else "a": enough for this vocabulary.
    public static func indefiniteArticle(before phrase: String) -> String {
        "aeiou".contains(phrase.first ?? "x") ? "an" : "a"
    }

    /// Spelled-out counts; index = count.
    public static let numberWords = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

    /// Words that may stand for each size in a caption.
    public static let sizeWords: [Size: [String]] = [.small: ["small", "little"], .medium: ["medium-sized"], .large: ["large", "big"]]

    private func sizeWord(_ size: Size, using rng: inout SplitMix64) -> String {
        switch size {
        case .small: rng.pick(weighted: [("small", 0.75), ("little", 0.25)])
        case .medium: "medium-sized"
        case .large: rng.pick(weighted: [("large", 0.6), ("big", 0.4)])
        }
    }

    // MARK: lists and openings

    private func list(_ phrases: [String], using rng: inout SplitMix64) -> String {
        switch phrases.count {
        case 0: return ""
        case 1: return phrases[0]
        case 2:
            let joiner = rng.pick(weighted: [(" and ", 0.65), (" with ", 0.15), (" as well as ", 0.1), (" plus ", 0.1)])
            return phrases[0] + joiner + phrases[1]
        default:
            let comma = rng.chance(0.5) ? "," : ""
            return phrases.dropLast().joined(separator: ", ") + comma + " and " + phrases.last!
        }
    }

    /// An optional opening; "there is/are" only when the caption starts with `firstGroup`'s phrase,
    /// which the verb must agree with.
    private func prefix(firstGroup: ObjectGroup?, using rng: inout SplitMix64) -> String {
        var openings = [("", 0.5), ("a photo of ", 0.12), ("an image of ", 0.1), ("a picture of ", 0.1), ("a drawing of ", 0.08)]
        if let firstGroup { openings.append((firstGroup.count > 1 ? "there are " : "there is ", 0.1)) }
        return rng.pick(weighted: openings)
    }

    // MARK: relations

    /// Phrases for "subject REL object".
    public static let relationPhrases: [Relation: [String]] = [
        .leftOf: ["to the left of", "left of", "on the left of"],
        .rightOf: ["to the right of", "right of", "on the right of"],
        .above: ["above", "over"],
        .below: ["below", "under", "beneath"],
    ]

    private func relationPhrase(_ relation: Relation, using rng: inout SplitMix64) -> String {
        let phrases = Self.relationPhrases[relation]!
        let weights: [Double] = phrases.count == 3 ? [0.6, 0.25, 0.15] : [0.8, 0.2]
        return rng.pick(weighted: Array(zip(phrases, weights)))
    }

    private func relationCaption(_ relation: GroupRelation, in description: SceneDescription,
                                 using rng: inout SplitMix64) -> String {
        let subjectGroup = description.groups[relation.subject], objectGroup = description.groups[relation.object]
        let subject = nounPhrase(subjectGroup, using: &rng), object = nounPhrase(objectGroup, using: &rng)
        let rel = relation.relation
        let subjectBe = subjectGroup.count > 1 ? "are" : "is"
        let objectBe = objectGroup.count > 1 ? "are" : "is"

        enum Form { case direct, inverse, copula, thereIs, sides, fronted }
        switch rng.pick(weighted: [(Form.direct, 0.3), (.inverse, 0.2), (.copula, 0.1), (.thereIs, 0.1), (.sides, 0.15), (.fronted, 0.15)]) {
        case .direct:
            // "a red circle to the left of a blue square"
            return prefix(firstGroup: subjectGroup, using: &rng) + "\(subject) \(relationPhrase(rel, using: &rng)) \(object)"
        case .inverse:
            // "a blue square to the right of a red circle"
            return prefix(firstGroup: objectGroup, using: &rng) + "\(object) \(relationPhrase(rel.inverse, using: &rng)) \(subject)"
        case .copula:
            // "a red circle is to the left of a blue square"
            return "\(subject) \(subjectBe) \(relationPhrase(rel, using: &rng)) \(object)"
        case .thereIs:
            // "there is a blue square, and left of it a red circle"
            let pronoun = objectGroup.count > 1 ? "them" : "it"
            return "there \(objectBe) \(object), and \(relationPhrase(rel, using: &rng)) \(pronoun) \(subject)"
        case .sides:
            // "a red circle on the left and a blue square on the right"
            let (mine, theirs): (String, String) = switch rel {
            case .leftOf: ("on the left", "on the right")
            case .rightOf: ("on the right", "on the left")
            case .above: ("at the top", "at the bottom")
            case .below: ("at the bottom", "at the top")
            }
            let halves = ["\(subject) \(mine)", "\(object) \(theirs)"]
            let ordered = rng.chance(0.7) ? halves : halves.reversed()
            return prefix(firstGroup: nil, using: &rng) + ordered.joined(separator: " and ")
        case .fronted:
            // "to the left of a blue square is a red circle", "above two stars there is a heart"
            let verb = rng.chance(0.5) ? subjectBe : "there \(subjectBe)"
            return "\(relationPhrase(rel, using: &rng)) \(object) \(verb) \(subject)"
        }
    }
}
