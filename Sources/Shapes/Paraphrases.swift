import Foundation

/// The wide phrasing: the same scene descriptions said the many ways people say them, so that
/// the model learns what a caption means rather than one grammar's surface. A quarter of its
/// captions are the original grammar's; the rest draw from many more ways of saying a number
/// ("3 stars", "a pair of", "a single"), a color or a size ("a circle painted red", "a tiny
/// heart"), two things together ("a circle alongside a square"), a relation ("further left
/// than", "on top of", "with a circle to its left", split across two sentences, by sides of the
/// picture, or by naming the objects again: "a circle and a square, the circle on the left"),
/// and the openings and requests of people ("draw me …", "can you show …?", "… on a gray
/// background").
///
/// Everything a caption says is true of the picture: counts are exact (no "some" or
/// "several"), and no phrase names a side that the layout does not guarantee ("next to" and
/// "beside" join two things without placing them and are used only without a relation).
struct WidePhrasing: Sendable {
    let original: CaptionGrammar
    /// The `wider` style: `PlaceForm`s for half the relation captions, compass words five times as
    /// often, and the original grammar for 15% of captions instead of 25%. Off, the captions are
    /// exactly the `wide` style's (its pools and their cached features stay valid).
    var widerPlaces = false

    func caption(for description: SceneDescription, using rng: inout SplitMix64) -> String {
        if rng.chance(widerPlaces ? 0.15 : 0.25) { return original.caption(for: description, using: &rng) }
        var text: String
        if let relation = description.relation {
            text = relationCaption(relation, in: description, using: &rng)
            let others = description.groups.indices.filter { $0 != relation.subject && $0 != relation.object }
            if !others.isEmpty {
                text += ", " + list(others.map { nounPhrase(description.groups[$0], using: &rng) }, using: &rng)
            }
        } else {
            let phrases = description.groups.map { nounPhrase($0, using: &rng) }
            let body = phrases.count == 1 ? phrases[0] : list(phrases, using: &rng)
            text = frame(body, firstGroup: description.groups.first, using: &rng)
        }
        return finish(text, using: &rng)
    }

    // MARK: noun phrases

    /// One group: a count, a size and a color around the shape's noun, each in one of its forms.
    func nounPhrase(_ group: ObjectGroup, using rng: inout SplitMix64) -> String {
        let plural = group.count > 1
        let be = plural ? "are" : "is"
        var noun = shapeNoun(group.shape, plural: plural, using: &rng)
        var before: [String] = [], after: [String] = []

        if let size = group.size {
            let word = sizeWord(size, using: &rng)
            switch rng.pick(weighted: [(0, 0.75), (1, 0.1), (2, 0.08), (3, 0.07)]) {
            case 1: after.append("that \(be) \(word)")
            case 2: after.append("of \(word) size")
            case 3: before.append(size == .small ? "small-sized" : "large-sized")
            default: before.append(word)
            }
        }
        if let color = group.color?.rawValue {
            // A clause after the noun only when the size has not taken that place already.
            let postOK = after.isEmpty
            var forms: [(Int, Double)] = [(0, 0.5), (1, 0.05), (2, 0.04), (3, 0.03)]
            if postOK { forms += [(4, 0.08), (5, 0.08), (6, 0.07), (7, 0.05), (8, 0.04), (9, 0.03), (10, 0.03)] }
            switch rng.pick(weighted: forms) {
            case 1: before.append("\(color)-colored")
            case 2: before.append("\(color) colored")
            case 3: before.append("\(color)-coloured")
            case 4: after.append("in \(color)")
            case 5: after.append(rng.chance(0.8) ? "colored \(color)" : "coloured \(color)")
            case 6: after.append("that \(be) \(color)")
            case 7: after.append("painted \(color)")
            case 8: after.append("in the color \(color)")
            case 9: after.append("whose color is \(color)")
            case 10: after.append("of \(color) color")
            default: before.append(color)
            }
        }
        noun = (before + [noun]).joined(separator: " ")
        let body = ([noun] + after).joined(separator: " ")
        return quantity(group.count, body: body, using: &rng)
    }

    /// Exact counts only: number words, digits, and the phrases that mean one number.
    private func quantity(_ count: Int, body: String, using rng: inout SplitMix64) -> String {
        let word = CaptionGrammar.numberWords[count]
        if count == 1 {
            let article = CaptionGrammar.indefiniteArticle(before: body)
            return rng.pick(weighted: [
                ("\(article) \(body)", 0.55), ("one \(body)", 0.12), ("a single \(body)", 0.1), ("just one \(body)", 0.04),
                ("exactly one \(body)", 0.04), ("only one \(body)", 0.03), ("1 \(body)", 0.03), (body, 0.09),
            ])
        }
        var forms: [(String, Double)] = [
            ("\(word) \(body)", 0.45), ("\(count) \(body)", 0.16), ("exactly \(word) \(body)", 0.06),
            ("\(body), \(word) of them", 0.04), ("\(word) \(body) in total", 0.04), ("\(body), \(count) in all", 0.02),
        ]
        switch count {
        case 2: forms += [("a pair of \(body)", 0.09), ("a couple of \(body)", 0.06), ("two separate \(body)", 0.03)]
        case 3: forms += [("a trio of \(body)", 0.07), ("a group of three \(body)", 0.06), ("a set of three \(body)", 0.03)]
        default: forms += [("a group of four \(body)", 0.07), ("a set of four \(body)", 0.06), ("a quartet of \(body)", 0.03)]
        }
        return rng.pick(weighted: forms)
    }

    /// Mostly the shape's own word; sometimes "… shape" or a synonym people use.
    private func shapeNoun(_ shape: ShapeKind, plural: Bool, using rng: inout SplitMix64) -> String {
        let word = plural ? shape.plural : shape.rawValue
        if rng.chance(0.05) { return shape.rawValue + (plural ? " shapes" : " shape") }
        if rng.chance(0.06), let synonym = Self.synonyms[shape] { return plural ? synonym.plural : synonym.singular }
        return word
    }

    /// Other names for some shapes, used now and then: people do not all say "diamond".
    static let synonyms: [ShapeKind: (singular: String, plural: String)] = [
        .circle: ("disc", "discs"), .diamond: ("rhombus", "rhombuses"), .cross: ("plus sign", "plus signs"),
        .ring: ("hoop", "hoops"),
    ]

    private func sizeWord(_ size: Size, using rng: inout SplitMix64) -> String {
        switch size {
        case .small: rng.pick(weighted: [("small", 0.6), ("little", 0.2), ("tiny", 0.2)])
        case .medium: "medium-sized"
        case .large: rng.pick(weighted: [("large", 0.5), ("big", 0.35), ("huge", 0.15)])
        }
    }

    // MARK: lists, frames and finish

    private func list(_ phrases: [String], using rng: inout SplitMix64) -> String {
        if phrases.count == 2 {
            let (a, b) = (phrases[0], phrases[1])
            return rng.pick(weighted: [
                ("\(a) and \(b)", 0.35), ("\(a) with \(b)", 0.06), ("\(a) as well as \(b)", 0.04), ("\(a) plus \(b)", 0.04),
                ("\(a) and also \(b)", 0.04), ("\(a) together with \(b)", 0.05), ("\(a) along with \(b)", 0.05),
                ("\(a) alongside \(b)", 0.04), ("\(a) next to \(b)", 0.05), ("\(a) beside \(b)", 0.04),
                ("\(a) accompanied by \(b)", 0.03), ("\(a), \(b)", 0.05), ("\(a); \(b)", 0.03), ("\(a) & \(b)", 0.02),
                ("both \(a) and \(b)", 0.05), ("\(a). Also \(b)", 0.03), ("\(a), and \(b)", 0.03),
            ])
        }
        let head = phrases.dropLast().joined(separator: ", "), last = phrases.last!
        return rng.pick(weighted: [
            ("\(head) and \(last)", 0.35), ("\(head), and \(last)", 0.2), ("\(phrases.joined(separator: ", "))", 0.12),
            ("\(phrases.joined(separator: "; "))", 0.06), ("\(phrases.joined(separator: " plus "))", 0.06),
            ("\(head), as well as \(last)", 0.06), ("\(head), along with \(last)", 0.06), ("\(head) and also \(last)", 0.05),
            ("\(phrases.joined(separator: " and "))", 0.04),
        ])
    }

    /// Openings and requests around the caption's body; "there is/are" agrees with the first group.
    private func frame(_ body: String, firstGroup: ObjectGroup?, using rng: inout SplitMix64) -> String {
        var frames: [(String, Double)] = [
            ("{}", 0.3), ("a photo of {}", 0.03), ("an image of {}", 0.03), ("a picture of {}", 0.03), ("a drawing of {}", 0.03),
            ("an illustration of {}", 0.02), ("a sketch of {}", 0.02), ("a simple drawing of {}", 0.02), ("a render of {}", 0.01),
            ("a scene with {}", 0.02), ("a scene showing {}", 0.01), ("an image showing {}", 0.02), ("a picture containing {}", 0.01),
            ("a canvas with {}", 0.01), ("a gray background with {}", 0.02), ("{} on a gray background", 0.03),
            ("{} on a plain background", 0.02), ("{} against a gray backdrop", 0.01), ("draw {}", 0.04), ("draw me {}", 0.02),
            ("please draw {}", 0.02), ("show {}", 0.02), ("show me {}", 0.02), ("render {}", 0.01), ("paint {}", 0.01),
            ("create {}", 0.01), ("generate {}", 0.02), ("make an image of {}", 0.01), ("can you draw {}?", 0.02),
            ("could you show {}?", 0.01), ("I want {}", 0.02), ("I'd like {}", 0.02), ("I would like to see {}", 0.01),
            ("give me {}", 0.01), ("we see {}", 0.01), ("you can see {}", 0.01), ("in the picture: {}", 0.01),
            ("the image shows {}", 0.02), ("the picture contains {}", 0.01), ("{}, nothing else", 0.01),
            ("a minimal picture with {}", 0.01),
        ]
        if let firstGroup {
            let verb = firstGroup.count > 1 ? "are" : "is"
            frames += [("there \(verb) {}", 0.05), ("there \(verb) {} in the picture", 0.01), ("in this image there \(verb) {}", 0.01)]
        }
        return rng.pick(weighted: frames).replacingOccurrences(of: "{}", with: body)
    }

    private func finish(_ text: String, using rng: inout SplitMix64) -> String {
        var text = text
        if rng.chance(0.3) { text = text.prefix(1).uppercased() + text.dropFirst() }
        if !text.hasSuffix("?") {
            text += rng.pick(weighted: [("", 0.75), (".", 0.22), ("!", 0.03)])
        }
        return text
    }

    // MARK: relations

    /// Ways of saying "subject REL object", as a preposition phrase between the two.
    static let relationPhrases: [Relation: [(String, Double)]] = [
        .leftOf: [("to the left of", 0.3), ("left of", 0.1), ("on the left of", 0.08), ("on the left side of", 0.1),
                  ("on the left-hand side of", 0.04), ("further left than", 0.06), ("farther left than", 0.03),
                  ("more to the left than", 0.05), ("west of", 0.04), ("directly to the left of", 0.05),
                  ("just left of", 0.04), ("off to the left of", 0.03), ("to the left side of", 0.04)],
        .rightOf: [("to the right of", 0.3), ("right of", 0.1), ("on the right of", 0.08), ("on the right side of", 0.1),
                   ("on the right-hand side of", 0.04), ("further right than", 0.06), ("farther right than", 0.03),
                   ("more to the right than", 0.05), ("east of", 0.04), ("directly to the right of", 0.05),
                   ("just right of", 0.04), ("off to the right of", 0.03), ("to the right side of", 0.04)],
        .above: [("above", 0.3), ("over", 0.1), ("on top of", 0.08), ("higher than", 0.1), ("higher up than", 0.06),
                 ("further up than", 0.05), ("north of", 0.04), ("directly above", 0.07), ("up above", 0.03),
                 ("placed higher than", 0.03), ("positioned above", 0.04)],
        .below: [("below", 0.3), ("under", 0.1), ("beneath", 0.06), ("underneath", 0.08), ("lower than", 0.1),
                 ("lower down than", 0.04), ("further down than", 0.05), ("south of", 0.04), ("directly below", 0.07),
                 ("down below", 0.02), ("positioned below", 0.04)],
    ]

    /// Where the subject is, said from the object ("to its left", "above it").
    static let besidePhrases: [Relation: [String]] = [
        .leftOf: ["to its left", "on its left", "on its left side", "to the left of it", "left of it"],
        .rightOf: ["to its right", "on its right", "on its right side", "to the right of it", "right of it"],
        .above: ["above it", "over it", "on top of it", "higher up", "directly above it"],
        .below: ["below it", "under it", "beneath it", "underneath it", "lower down", "directly below it"],
    ]

    /// The part of the picture each side of a relation takes.
    static let sides: [Relation: [(mine: String, theirs: String)]] = [
        .leftOf: [("on the left", "on the right"), ("on the left side", "on the right side"), ("at the left", "at the right"),
                  ("in the left half", "in the right half"), ("on the left side of the picture", "on the right side of the picture")],
        .rightOf: [("on the right", "on the left"), ("on the right side", "on the left side"), ("at the right", "at the left"),
                   ("in the right half", "in the left half"), ("on the right side of the picture", "on the left side of the picture")],
        .above: [("at the top", "at the bottom"), ("in the upper half", "in the lower half"), ("up top", "down at the bottom"),
                 ("near the top", "near the bottom"), ("in the upper part", "in the lower part")],
        .below: [("at the bottom", "at the top"), ("in the lower half", "in the upper half"), ("down at the bottom", "up top"),
                 ("near the bottom", "near the top"), ("in the lower part", "in the upper part")],
    ]

    /// The compass words the `wider` style adds to `relationPhrases`: the LLMs barely tell west
    /// from east, so the DiT must learn them from their own captions.
    static let compassPhrases: [Relation: [(String, Double)]] = [
        .leftOf: [("west of", 0.1), ("to the west of", 0.06), ("on the west side of", 0.03)],
        .rightOf: [("east of", 0.1), ("to the east of", 0.06), ("on the east side of", 0.03)],
        .above: [("north of", 0.1), ("to the north of", 0.06), ("on the north side of", 0.02)],
        .below: [("south of", 0.1), ("to the south of", 0.06), ("on the south side of", 0.02)],
    ]

    static let widerRelationPhrases = relationPhrases.merging(compassPhrases) { $0 + $1 }

    private func relationPhrase(_ relation: Relation, using rng: inout SplitMix64) -> String {
        rng.pick(weighted: (widerPlaces ? Self.widerRelationPhrases : Self.relationPhrases)[relation]!)
    }

    /// "to its left" said of a group: "to their left", "above them".
    private func agreeing(_ phrase: String, plural: Bool) -> String {
        plural ? phrase.replacingOccurrences(of: "its", with: "their").replacingOccurrences(of: " it", with: " them") : phrase
    }

    private func capitalized(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

    /// "is", "sits", "is placed" …, agreeing with the group.
    private func verb(plural: Bool, using rng: inout SplitMix64) -> String {
        plural
            ? rng.pick(weighted: [("are", 0.6), ("sit", 0.1), ("are placed", 0.1), ("are located", 0.08), ("appear", 0.06), ("stand", 0.06)])
            : rng.pick(weighted: [("is", 0.6), ("sits", 0.1), ("is placed", 0.1), ("is located", 0.08), ("appears", 0.06), ("stands", 0.06)])
    }

    /// "the circle", "the red circles": a group named again, to say where it is.
    private func reference(_ group: ObjectGroup, using rng: inout SplitMix64) -> String {
        let noun = group.count > 1 ? group.shape.plural : group.shape.rawValue
        if let color = group.color, rng.chance(0.4) { return "the \(color.rawValue) \(noun)" }
        return "the \(noun)"
    }

    private func relationCaption(_ relation: GroupRelation, in description: SceneDescription,
                                 using rng: inout SplitMix64) -> String {
        if widerPlaces, rng.chance(0.5) { return placeCaption(relation, in: description, using: &rng) }
        // Either way round: "A left of B" or "B right of A"; `first` is the group named first.
        var (s, o, rel) = (relation.subject, relation.object, relation.relation)
        if rng.chance(0.4) { (s, o, rel) = (o, s, rel.inverse) }
        let sGroup = description.groups[s], oGroup = description.groups[o]
        let subject = nounPhrase(sGroup, using: &rng), object = nounPhrase(oGroup, using: &rng)
        let sPlural = sGroup.count > 1, oPlural = oGroup.count > 1

        enum Form { case direct, participle, copula, fromObject, fromObjectClause, split, sides, fronted, namedAgain }
        switch rng.pick(weighted: [(Form.direct, 0.2), (.participle, 0.08), (.copula, 0.14), (.fromObject, 0.12),
                                   (.fromObjectClause, 0.06), (.split, 0.12), (.sides, 0.1), (.fronted, 0.06), (.namedAgain, 0.12)]) {
        case .direct:
            // "a red circle further left than a blue square"
            return frame("\(subject) \(relationPhrase(rel, using: &rng)) \(object)", firstGroup: sGroup, using: &rng)
        case .participle:
            // "a red circle placed to the left of a blue square"
            let participle = rng.pick(["placed", "located", "positioned", "sitting", "standing", "drawn"])
            return frame("\(subject) \(participle) \(relationPhrase(rel, using: &rng)) \(object)", firstGroup: sGroup, using: &rng)
        case .copula:
            // "a red circle sits to the left of a blue square"
            return "\(subject) \(verb(plural: sPlural, using: &rng)) \(relationPhrase(rel, using: &rng)) \(object)"
        case .fromObject:
            // "a blue square with a red circle to its left"
            let beside = rng.pick(Self.besidePhrases[rel]!)
            let pronounFixed = agreeing(beside, plural: oPlural)
            let link = rng.pick(weighted: [("with", 0.6), ("having", 0.1), ("and", 0.3)])
            return frame("\(object) \(link) \(subject) \(pronounFixed)", firstGroup: oGroup, using: &rng)
        case .fromObjectClause:
            // "a blue square, and to its left a red circle"
            let beside = rng.pick(Self.besidePhrases[rel]!)
            let pronounFixed = agreeing(beside, plural: oPlural)
            return frame("\(object), and \(pronounFixed) \(subject)", firstGroup: oGroup, using: &rng)
        case .split:
            // "There is a blue square. A red circle is to its left."
            let beside = rng.pick(Self.besidePhrases[rel]!)
            let pronounFixed = agreeing(beside, plural: oPlural)
            let first = rng.pick(weighted: [("there \(oPlural ? "are" : "is") \(object)", 0.4), ("draw \(object)", 0.2),
                                            ("\(object)", 0.25), ("start with \(object)", 0.05), ("first, \(object)", 0.1)])
            let second = rng.pick(weighted: [("\(subject) \(verb(plural: sPlural, using: &rng)) \(pronounFixed)", 0.5),
                                             ("\(pronounFixed), \(subject)", 0.2),
                                             ("put \(subject) \(pronounFixed)", 0.15),
                                             ("then \(subject) \(pronounFixed)", 0.15)])
            return capitalized(first) + ". " + capitalized(second)
        case .sides:
            // "a red circle on the left side, a blue square on the right side"
            let (mine, theirs) = rng.pick(Self.sides[rel]!)
            let halves = rng.chance(0.75) ? ["\(subject) \(mine)", "\(object) \(theirs)"] : ["\(mine) \(subject)", "\(theirs) \(object)"]
            let joiner = rng.pick(weighted: [(" and ", 0.5), (", ", 0.3), ("; ", 0.1), (", with ", 0.1)])
            return frame(halves.joined(separator: joiner), firstGroup: nil, using: &rng)
        case .fronted:
            // "further left than a blue square sits a red circle", "left of a blue square: a red circle"
            let phrase = relationPhrase(rel, using: &rng)
            let link = rng.pick(weighted: [(" \(sPlural ? "are" : "is") ", 0.3), (" there \(sPlural ? "are" : "is") ", 0.3),
                                           (", ", 0.2), (": ", 0.1), (" \(sPlural ? "sit" : "sits") ", 0.1)])
            return "\(phrase) \(object)\(link)\(subject)"
        case .namedAgain:
            // "a red circle and a blue square, the circle on the left" (the objects named, then placed)
            let both = rng.chance(0.5) ? list([subject, object], using: &rng) : list([object, subject], using: &rng)
            let sRef = reference(sGroup, using: &rng), oRef = reference(oGroup, using: &rng)
            let (mine, _) = rng.pick(Self.sides[rel]!)
            let placing = rng.pick(weighted: [
                ("\(sRef) \(verb(plural: sPlural, using: &rng)) \(relationPhrase(rel, using: &rng)) \(oRef)", 0.45),
                ("\(sRef) \(mine)", 0.25), ("with \(sRef) \(mine)", 0.15),
                ("\(sRef) \(relationPhrase(rel, using: &rng)) \(oRef)", 0.15),
            ])
            let separator = rng.pick(weighted: [(", ", 0.6), (". ", 0.25), ("; ", 0.15)])
            let head = frame(both, firstGroup: nil, using: &rng)
            return head + separator + (separator == ". " ? capitalized(placing) : placing)
        }
    }
}

// MARK: the wider style's places

extension WidePhrasing {
    /// Ways of placing two things that `relationCaption` does not know, for the `wider` style.
    enum PlaceForm { case possessive, order, labels, outermost, adverb }

    /// "a star on the heart's left", "from left to right: a star, then a heart", "left: a star;
    /// right: a heart", "a star and a heart, the star being the leftmost", "A heart. To the left, a star."
    func placeCaption(_ relation: GroupRelation, in description: SceneDescription,
                      using rng: inout SplitMix64) -> String {
        var (s, o, rel) = (relation.subject, relation.object, relation.relation)
        if rng.chance(0.4) { (s, o, rel) = (o, s, rel.inverse) }
        var forms: [(PlaceForm, Double)] = [(.adverb, 0.18)]
        // An order, sides or "the leftmost" would say where a third group is too.
        if description.groups.count == 2 { forms += [(.order, 0.22), (.labels, 0.18), (.outermost, 0.22)] }
        // "the hearts' left" reads badly, and "the heart's top" is not how people place things.
        if [.leftOf, .rightOf].contains(rel), description.groups[o].count == 1 { forms.append((.possessive, 0.35)) }
        var text: String
        switch rng.pick(weighted: forms) {
        case .possessive: text = possessiveCaption(description.groups[s], rel, description.groups[o], using: &rng)
        case .order: text = orderCaption(description.groups[s], rel, description.groups[o], using: &rng)
        case .labels: text = labelsCaption(description.groups[s], rel, description.groups[o], using: &rng)
        case .outermost: text = outermostCaption(description.groups[s], rel, description.groups[o], using: &rng)
        case .adverb: text = adverbCaption(description.groups[s], rel, description.groups[o], using: &rng)
        }
        let others = description.groups.indices.filter { $0 != relation.subject && $0 != relation.object }
        if !others.isEmpty {
            text += rng.pick([", ", "; ", ". Also "]) + list(others.map { nounPhrase(description.groups[$0], using: &rng) }, using: &rng)
        }
        return text
    }

    /// "a blue star on the green heart's left", "to the big square's right-hand side sits a ring"
    private func possessiveCaption(_ subject: ObjectGroup, _ rel: Relation, _ object: ObjectGroup,
                                   using rng: inout SplitMix64) -> String {
        let side = rel == .leftOf ? "left" : "right"
        let words = [object.size.map { sizeWord($0, using: &rng) }, object.color?.rawValue, object.shape.rawValue]
        let owner = "the " + words.compactMap { $0 }.joined(separator: " ") + "'s"
        let place = rng.pick(weighted: [("to \(owner) \(side)", 0.35), ("on \(owner) \(side)", 0.3), ("on \(owner) \(side) side", 0.15),
                                        ("at \(owner) \(side)", 0.1), ("on \(owner) \(side)-hand side", 0.1)])
        let phrase = nounPhrase(subject, using: &rng)
        switch rng.pick(weighted: [(0, 0.5), (1, 0.3), (2, 0.2)]) {
        case 1: return "\(phrase) \(verb(plural: subject.count > 1, using: &rng)) \(place)"
        case 2: return capitalized(place) + rng.pick([", ", ": ", " there \(subject.count > 1 ? "are" : "is") "]) + phrase
        default: return frame("\(phrase) \(place)", firstGroup: subject, using: &rng)
        }
    }

    /// The two named in the order they stand: "from left to right: a star, then a heart".
    private func orderCaption(_ subject: ObjectGroup, _ rel: Relation, _ object: ObjectGroup,
                              using rng: inout SplitMix64) -> String {
        // `first` is on the left (or on top) of `second`.
        let (first, second) = [.leftOf, .above].contains(rel) ? (subject, object) : (object, subject)
        let a = nounPhrase(first, using: &rng), b = nounPhrase(second, using: &rng)
        let horizontal = [.leftOf, .rightOf].contains(rel)
        let (forward, backward) = horizontal ? ("left to right", "right to left") : ("top to bottom", "bottom to top")
        let body = rng.pick(weighted: [
            ("from \(forward): \(a), then \(b)", 0.25), ("\(forward): \(a), \(b)", 0.15), ("from \(forward), \(a) and \(b)", 0.1),
            ("from \(backward): \(b), then \(a)", 0.15), ("\(backward): \(b), \(a)", 0.1), ("in order from \(forward): \(a) and \(b)", 0.08),
            ("\(a), then \(b), from \(forward)", 0.1), ("\(forward) we have \(a) and then \(b)", 0.07),
        ])
        return rng.chance(0.3) ? frame(body, firstGroup: nil, using: &rng) : body
    }

    /// Each side of the picture labelled: "left: a star; right: a heart".
    private func labelsCaption(_ subject: ObjectGroup, _ rel: Relation, _ object: ObjectGroup,
                               using rng: inout SplitMix64) -> String {
        let labels: [(mine: String, theirs: String)] = switch rel {
        case .leftOf: [("left", "right"), ("on the left", "on the right"), ("left side", "right side"), ("west", "east")]
        case .rightOf: [("right", "left"), ("on the right", "on the left"), ("right side", "left side"), ("east", "west")]
        case .above: [("top", "bottom"), ("upper half", "lower half"), ("up top", "down below"), ("north", "south")]
        case .below: [("bottom", "top"), ("lower half", "upper half"), ("down below", "up top"), ("south", "north")]
        }
        let (mine, theirs) = rng.pick(labels)
        let halves = ["\(mine): \(nounPhrase(subject, using: &rng))", "\(theirs): \(nounPhrase(object, using: &rng))"]
        let separator = rng.pick(weighted: [("; ", 0.4), (", ", 0.3), (". ", 0.2), (" / ", 0.1)])
        let ordered = rng.chance(0.6) ? halves : halves.reversed()
        return ordered.map { separator == ". " ? capitalized($0) : $0 }.joined(separator: separator)
    }

    /// Both named, then one placed by comparison: "a star and a heart, the star being the leftmost".
    private func outermostCaption(_ subject: ObjectGroup, _ rel: Relation, _ object: ObjectGroup,
                                  using rng: inout SplitMix64) -> String {
        let phrases = [nounPhrase(subject, using: &rng), nounPhrase(object, using: &rng)]
        let both = frame(list(rng.chance(0.5) ? phrases : phrases.reversed(), using: &rng), firstGroup: nil, using: &rng)
        // Either one may be the group placed: the subject as `rel`, the object as its inverse.
        let (placed, side) = rng.chance(0.6) ? (subject, rel) : (object, rel.inverse)
        let comparison = rng.pick(Self.comparisons[side]!)
        let name = reference(placed, using: &rng), be = placed.count > 1 ? "are" : "is"
        return rng.pick(weighted: [
            ("\(both), \(name) being \(comparison)", 0.3), ("\(both), with \(name) \(comparison)", 0.25),
            ("\(both); \(name) \(be) \(comparison)", 0.15), ("\(both). \(capitalized(name)) \(be) \(comparison)", 0.2),
            ("\(both), \(name) \(comparison)", 0.1),
        ])
    }

    /// How a group is said to lie beside another, by comparison ("the B being the leftmost").
    static let comparisons: [Relation: [String]] = [
        .leftOf: ["the leftmost", "leftmost", "the leftmost one", "further left", "farther left", "more to the left", "on the far left", "the one on the left"],
        .rightOf: ["the rightmost", "rightmost", "the rightmost one", "further right", "farther right", "more to the right", "on the far right", "the one on the right"],
        .above: ["higher", "higher up", "the higher one", "the topmost", "topmost", "the highest", "further up", "on top", "the upper one"],
        .below: ["lower", "lower down", "the lower one", "the bottommost", "bottommost", "the lowest", "further down", "at the very bottom"],
    ]

    /// The place said by an adverb after the other thing: "A heart. To the left, a star.",
    /// "a heart, and left of that, a star".
    private func adverbCaption(_ subject: ObjectGroup, _ rel: Relation, _ object: ObjectGroup,
                               using rng: inout SplitMix64) -> String {
        let adverb = agreeing(rng.pick(Self.adverbs[rel]!), plural: object.count > 1)
        let named = nounPhrase(object, using: &rng), there = object.count > 1 ? "there are" : "there is"
        let first = rng.pick(weighted: [(named, 0.45), ("draw \(named)", 0.2), ("\(there) \(named)", 0.25), ("first, \(named)", 0.1)])
        let second = nounPhrase(subject, using: &rng)
        return rng.pick(weighted: [
            ("\(capitalized(first)). \(capitalized(adverb)), \(second)", 0.5), ("\(first), and \(adverb), \(second)", 0.3),
            ("\(first); \(adverb), \(second)", 0.1), ("\(first). \(capitalized(adverb)) \(subject.count > 1 ? "are" : "is") \(second)", 0.1),
        ])
    }

    /// Where a group is, said after the one it is placed by ("A heart. To the left, a star.").
    static let adverbs: [Relation: [String]] = [
        .leftOf: ["to the left", "further left", "left of that", "to the left of that", "to its left", "on its left", "further to the left"],
        .rightOf: ["to the right", "further right", "right of that", "to the right of that", "to its right", "on its right", "further to the right"],
        .above: ["higher up", "above that", "further up", "up above it", "above it", "on top of that", "over that"],
        .below: ["lower down", "below that", "further down", "beneath it", "below it", "underneath that", "under that"],
    ]
}
