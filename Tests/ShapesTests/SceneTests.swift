import XCTest
@testable import Shapes

final class SceneTests: XCTestCase {
    func testPaletteColorsAreDistinctFromEachOtherAndTheBackground() {
        let colors = Palette.colors.map(\.srgb) + [Palette.background]
        XCTAssertEqual(Set(colors).count, 11)
    }

    func testUnitOutlinesSpanAboutTwoUnits() {
        for shape in ShapeKind.allCases {
            let g = shape.unitGeometry
            // The square is drawn at 0.85 so that it does not look bigger than the rest.
            XCTAssertTrue((1.65...2.25).contains(max(g.width, g.height)), "\(shape): \(g.width) × \(g.height)")
            XCTAssertGreaterThan(g.area, 1.4, "\(shape)")
        }
        XCTAssertEqual(ShapeKind.circle.unitGeometry.area, .pi, accuracy: 0.01)
        XCTAssertEqual(ShapeKind.ring.unitGeometry.area, .pi * 0.75, accuracy: 0.01)
    }

    func testRenderedCircleHasTheRightAreaAndCentroid() {
        let scene = SceneSpec(objects: [SceneObject(shape: .circle, color: .black, size: .large, x: 0.4, y: 0.6)])
        let image = Rasterizer().render(scene, width: 64, height: 64)
        let background = Palette.background.unit, black = PaletteColor.black.srgb.unit
        var area: Float = 0, sx: Float = 0, sy: Float = 0
        for y in 0..<64 {
            for x in 0..<64 {
                let alpha = (image[x, y].x - background.x) / (black.x - background.x)
                area += alpha; sx += alpha * (Float(x) + 0.5); sy += alpha * (Float(y) + 0.5)
            }
        }
        let radius = Float(Size.large.radius * 64)
        XCTAssertEqual(area, .pi * radius * radius, accuracy: 1.5)
        XCTAssertEqual(sx / area, 0.4 * 64, accuracy: 0.05)
        XCTAssertEqual(sy / area, 0.6 * 64, accuracy: 0.05)
    }

    func testHeldOutPolicyUsesOnlyHeldOutPairs() {
        let sampler = SceneSampler(policy: .heldOutOnly)
        var rng = SplitMix64(seed: 2)
        var seen = Set<String>()
        for _ in 0..<2000 {
            for group in sampler.description(using: &rng).groups {
                guard let color = group.color else { continue }
                XCTAssertTrue(HeldOut.contains(color: color, shape: group.shape))
                seen.insert("\(color) \(group.shape)")
            }
        }
        XCTAssertEqual(seen.count, HeldOut.combinations.count)
    }

    func testHeldOutListCoversEveryShapeOnce() {
        XCTAssertEqual(Set(HeldOut.combinations.map(\.shape)), Set(ShapeKind.allCases))
        XCTAssertEqual(Set(HeldOut.combinations.map(\.color)).count, HeldOut.combinations.count)
    }

    /// Layouts keep objects apart and inside the canvas, and make stated relations true.
    func testLayoutsHonourTheirDescriptions() throws {
        let sampler = SceneSampler(), layout = SceneLayout()
        var rng = SplitMix64(seed: 4)
        for _ in 0..<1500 {
            let description = sampler.description(using: &rng)
            guard let scene = try? layout.scene(for: description, policy: .training, using: &rng) else { continue }
            XCTAssertEqual(scene.objects.count, description.objectCount)
            let boxes = scene.objects.map(\.box)
            for (i, box) in boxes.enumerated() {
                XCTAssertGreaterThanOrEqual(box.minX, layout.margin - 1e-9)
                XCTAssertLessThanOrEqual(box.maxX, 1 - layout.margin + 1e-9)
                XCTAssertGreaterThanOrEqual(box.minY, layout.margin - 1e-9)
                XCTAssertLessThanOrEqual(box.maxY, 1 - layout.margin + 1e-9)
                for other in boxes[(i + 1)...] { XCTAssertFalse(box.overlaps(other, gap: layout.gap - 1e-9)) }
            }
            if let relation = description.relation {
                // Objects are laid out group by group, in order.
                let starts = description.groups.indices.map { g in description.groups[..<g].reduce(0) { $0 + $1.count } }
                let subjects = boxes[starts[relation.subject]..<starts[relation.subject] + description.groups[relation.subject].count]
                let objects = boxes[starts[relation.object]..<starts[relation.object] + description.groups[relation.object].count]
                for a in subjects { for b in objects { XCTAssertTrue(PositionRule.holds(relation.relation, of: a, to: b)) } }
            }
        }
    }

    /// In reading order every group without a stated relation lies right of the groups named before
    /// it, and stated relations still decide the layout; a random layout breaks that order often.
    func testReadingOrderLaysGroupsOutLeftToRight() throws {
        let sampler = SceneSampler()
        var ordered = SceneLayout()
        ordered.readingOrder = true
        var rng = SplitMix64(seed: 9)
        var checked = 0, randomOutOfOrder = 0
        for _ in 0..<800 {
            let description = sampler.description(using: &rng)
            guard description.groups.count > 1 else { continue }
            let scene = try ordered.scene(for: description, policy: .training, using: &rng)
            let random = try SceneLayout().scene(for: description, policy: .training, using: &rng)
            let starts = description.groups.indices.map { g in description.groups[..<g].reduce(0) { $0 + $1.count } }
            func xs(_ s: SceneSpec, _ g: Int) -> [Double] {
                s.objects[starts[g]..<starts[g] + description.groups[g].count].map(\.box.centerX)
            }
            if let relation = description.relation {
                let boxes = scene.objects.map(\.box)
                func group(_ g: Int) -> ArraySlice<ObjectBox> { boxes[starts[g]..<starts[g] + description.groups[g].count] }
                for a in group(relation.subject) { for b in group(relation.object) { XCTAssertTrue(PositionRule.holds(relation.relation, of: a, to: b)) } }
                continue
            }
            checked += 1
            for g in 1..<description.groups.count {
                XCTAssertGreaterThanOrEqual(xs(scene, g).min()! - xs(scene, g - 1).max()!, ordered.readingOrderGap - 1e-9)
                if xs(random, g).min()! < xs(random, g - 1).max()! { randomOutOfOrder += 1 }
            }
        }
        XCTAssertGreaterThan(checked, 100)
        XCTAssertGreaterThan(randomOutOfOrder, checked / 4)
    }

    /// A reading-order spread puts the first and last groups that far apart across the canvas in
    /// nearly every scene the training sampler draws, and every pair of single objects, while no
    /// scene becomes infeasible (those that cannot spread keep the plain gap); the plain reading
    /// order leaves most pairs closer than that.
    func testReadingOrderSpreadSeparatesTheGroups() throws {
        var sampler = SceneSampler(policy: .training)
        sampler.maxObjects = 4
        var spread = SceneLayout(), plain = SceneLayout()
        spread.readingOrder = true; plain.readingOrder = true
        spread.readingOrderSpread = 0.3
        var rng = SplitMix64(seed: 33)
        var checked = 0, spreadOut = 0, pairs = 0, plainClose = 0
        for _ in 0..<1500 {
            let description = sampler.description(using: &rng)
            let groups = description.groups.count
            guard groups > 1, description.relation == nil else { continue }
            let scene = try spread.scene(for: description, policy: .training, using: &rng)
            let loose = try plain.scene(for: description, policy: .training, using: &rng)
            let starts = description.groups.indices.map { g in description.groups[..<g].reduce(0) { $0 + $1.count } }
            func xs(_ s: SceneSpec, _ g: Int) -> [Double] {
                s.objects[starts[g]..<starts[g] + description.groups[g].count].map(\.box.centerX)
            }
            checked += 1
            for g in 1..<groups {
                XCTAssertGreaterThanOrEqual(xs(scene, g).min()! - xs(scene, g - 1).max()!, spread.readingOrderGap - 1e-9)
            }
            let spreadHere = (1..<groups).allSatisfy { xs(scene, $0).min()! - xs(scene, $0 - 1).max()! >= 0.3 / Double(groups - 1) - 1e-9 }
            if spreadHere { spreadOut += 1 }
            if description.objectCount == 2 {
                pairs += 1
                XCTAssertTrue(spreadHere, "a pair of single objects was not spread: \(description)")
                if xs(loose, 1)[0] - xs(loose, 0)[0] < 0.3 { plainClose += 1 }
            }
        }
        XCTAssertGreaterThan(checked, 200)
        XCTAssertGreaterThan(pairs, 50)
        XCTAssertGreaterThan(Double(spreadOut), 0.9 * Double(checked))
        XCTAssertGreaterThan(plainClose, pairs / 3)
    }

    /// With the count grid, every object of a one-kind scene of two to four lies in its own cell of
    /// the count's arrangement, at every size and shape (so no arrangement is infeasible), and
    /// scenes of several kinds are laid out as before; a random layout misses the cells often.
    func testCountGridPutsOneObjectPerCell() throws {
        var grid = SceneLayout()
        grid.countGrid = true
        var rng = SplitMix64(seed: 21)
        var randomMisses = 0, checked = 0
        for count in 2...4 {
            for shape in ShapeKind.allCases {
                for size in Size.allCases {
                    let cells = try XCTUnwrap(SceneLayout.countCells(count, size: size))
                    XCTAssertEqual(cells.count, count)
                    let description = SceneDescription(groups: [ObjectGroup(shape: shape, count: count, size: size)])
                    let scene = try grid.scene(for: description, using: &rng)
                    for (object, cell) in zip(scene.objects, cells) {
                        XCTAssertTrue(cell.contains(x: object.x, y: object.y), "\(count) \(size) \(shape): (\(object.x), \(object.y)) outside \(cell)")
                    }
                    let random = try SceneLayout().scene(for: description, using: &rng)
                    checked += 1
                    if !zip(random.objects, cells).allSatisfy({ $1.contains(x: $0.x, y: $0.y) }) { randomMisses += 1 }
                }
            }
        }
        XCTAssertGreaterThan(randomMisses, checked / 2)
        XCTAssertNil(SceneLayout.countCells(1, size: .medium))
        // Three is a row of its own wherever a row fits: no cell shared with four's grid.
        for size in [Size.small, .medium] {
            let three = try XCTUnwrap(SceneLayout.countCells(3, size: size)), four = try XCTUnwrap(SceneLayout.countCells(4, size: size))
            XCTAssertTrue(three.allSatisfy { !four.contains($0) }, "\(size)")
        }
        // Two kinds: the cells do not apply, so the pair may sit in one half of the canvas.
        var sameHalf = 0
        for _ in 0..<200 {
            let pair = SceneDescription(groups: [ObjectGroup(shape: .circle, count: 1, size: .small), ObjectGroup(shape: .star, count: 1, size: .small)])
            let scene = try grid.scene(for: pair, using: &rng)
            if (scene.objects[0].x < 0.5) == (scene.objects[1].x < 0.5) { sameHalf += 1 }
        }
        XCTAssertGreaterThan(sameHalf, 20)
    }

    func testFourLargeObjectsFit() throws {
        var rng = SplitMix64(seed: 8)
        for shape in ShapeKind.allCases {
            let scene = try SceneLayout().scene(for: SceneDescription(groups: [ObjectGroup(shape: shape, count: 4, size: .large)]), using: &rng)
            XCTAssertEqual(scene.objects.count, 4)
        }
    }

    /// GenEval's `relative_position` on hand-made boxes.
    func testPositionRule() {
        func box(_ x: Double, _ y: Double, _ size: Double = 0.1) -> ObjectBox {
            ObjectBox(minX: x - size / 2, maxX: x + size / 2, minY: y - size / 2, maxY: y + size / 2, centerX: x, centerY: y)
        }
        XCTAssertEqual(PositionRule.relations(of: box(0.2, 0.5), to: box(0.8, 0.5)), [.leftOf])
        XCTAssertEqual(PositionRule.relations(of: box(0.5, 0.9), to: box(0.5, 0.2)), [.below])
        // Diagonal: both components beyond 0.5 after the size margin.
        XCTAssertEqual(PositionRule.relations(of: box(0.1, 0.1), to: box(0.9, 0.9)), [.leftOf, .above])
        // Too close once the 0.1 × (dims) margin is taken off: no relation at all.
        XCTAssertEqual(PositionRule.relations(of: box(0.5, 0.5, 0.4), to: box(0.55, 0.52, 0.4)), [])
        // Mostly vertical: the horizontal component stays under 0.5.
        XCTAssertEqual(PositionRule.relations(of: box(0.45, 0.2), to: box(0.55, 0.8)), [.above])
    }
}
