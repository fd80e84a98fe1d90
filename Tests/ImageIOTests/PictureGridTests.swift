import XCTest
@testable import ImageIO

final class PictureGridTests: XCTestCase {
    func picture(_ v: UInt8, size: Int = 4) -> RGBImage {
        RGBImage(width: size, height: size, pixels: (0..<(size * size * 3)).map { UInt8((Int(v) + $0) % 256) })
    }

    /// Cells hold their pictures exactly (at scale 1) or as whole-number blocks, labels do not
    /// touch them, and the layout is row by row.
    func testCellsHoldTheirPicturesAndLabelsStayOutside() {
        let pictures = (0..<6).map { picture(UInt8($0 * 40)) }
        for scale in [1, 3] {
            let grid = PictureGrid(columnLabels: ["cfg=1", "cfg=4", "cfg=7"], rowLabels: ["seed=1", "seed=2"],
                                   cellWidth: 4, cellHeight: 4, scale: scale)
            let out = grid.render(pictures)
            XCTAssertEqual(grid.cells.count, 6)
            XCTAssertEqual(grid.cells.map(\.row), [0, 0, 0, 1, 1, 1])
            XCTAssertEqual(grid.cells.map(\.column), [0, 1, 2, 0, 1, 2])
            for (cell, p) in zip(grid.cells, pictures) {
                let crop = PictureGrid.crop(out, cell)
                XCTAssertEqual(crop.width, 4 * scale)
                for y in 0..<crop.height { for x in 0..<crop.width {
                    XCTAssertEqual(crop.rgb(x: x, y: y).0, p.rgb(x: x / scale, y: y / scale).0)
                } }
            }
            // Ink (labels) above the first row and left of the first column only.
            let first = grid.cells[0]
            var inkAbove = false, inkLeft = false
            for y in 0..<out.height { for x in 0..<out.width where out.rgb(x: x, y: y) == (0, 0, 0) {
                if y < first.y { inkAbove = true } else if x < first.x { inkLeft = true }
                else { XCTAssertTrue(grid.cells.contains { x >= $0.x && x < $0.x + $0.width && y >= $0.y && y < $0.y + $0.height }) }
            } }
            XCTAssertTrue(inkAbove && inkLeft, "column and row labels are drawn")
        }
    }

    func testFontCoversWhatSettingsAreWrittenWith() {
        for c in "abcdefghijklmnopqrstuvwxyz0123456789 .,-_=+:/()?%*" {
            XCTAssertNotNil(LabelFont.glyphs[Character(c.uppercased())], "\(c)")
        }
        for (c, rows) in LabelFont.glyphs {
            XCTAssertEqual(rows.count, LabelFont.glyphHeight, "\(c)")
            XCTAssertTrue(rows.allSatisfy { $0.count == LabelFont.glyphWidth }, "\(c)")
        }
        XCTAssertEqual(LabelFont.glyph("é"), LabelFont.glyph("?"))
        // Distinct glyphs for distinct characters.
        XCTAssertEqual(Set(LabelFont.glyphs.values.map { $0.joined() }).count, LabelFont.glyphs.count)
    }
}
