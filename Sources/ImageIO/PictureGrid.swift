/// Pictures laid out in a labelled grid (X/Y plots): column labels along the top, row labels
/// down the left, each picture upscaled by a whole number with nearest neighbour (so a cell's
/// pixels are exactly its picture's at scale 1).
public struct PictureGrid {
    /// Where each cell lies in the grid picture, row by row.
    public struct Cell: Equatable, Sendable {
        public var row: Int, column: Int
        public var x: Int, y: Int, width: Int, height: Int
        public init(row: Int, column: Int, x: Int, y: Int, width: Int, height: Int) {
            self.row = row; self.column = column; self.x = x; self.y = y; self.width = width; self.height = height
        }
    }

    public let columnLabels: [String]
    public let rowLabels: [String]
    public let cellWidth: Int, cellHeight: Int
    public let scale: Int
    public static let margin = 4

    public init(columnLabels: [String], rowLabels: [String], cellWidth: Int, cellHeight: Int, scale: Int) {
        self.columnLabels = columnLabels; self.rowLabels = rowLabels
        self.cellWidth = cellWidth; self.cellHeight = cellHeight; self.scale = max(1, scale)
    }

    var cellPixelsAcross: Int { cellWidth * scale }
    var cellPixelsDown: Int { cellHeight * scale }
    var left: Int { rowLabels.contains { !$0.isEmpty } ? (rowLabels.map { LabelFont.width($0) }.max() ?? 0) + 2 * Self.margin : Self.margin }
    /// Column labels wrap onto as many lines as the longest needs (a cell can be narrow).
    var columnLines: [[String]] {
        let perLine = max(1, (cellPixelsAcross + 1) / LabelFont.advance)
        return columnLabels.map { label in
            guard !label.isEmpty else { return [] }
            var lines: [String] = []
            var rest = Substring(label)
            while !rest.isEmpty { lines.append(String(rest.prefix(perLine))); rest = rest.dropFirst(perLine) }
            return lines
        }
    }
    var top: Int {
        let lines = columnLines.map(\.count).max() ?? 0
        return lines == 0 ? Self.margin : lines * (LabelFont.glyphHeight + 2) + 2 * Self.margin
    }

    public var cells: [Cell] {
        rowLabels.indices.flatMap { r in
            columnLabels.indices.map { c in
                Cell(row: r, column: c, x: left + c * cellPixelsAcross, y: top + r * cellPixelsDown,
                     width: cellPixelsAcross, height: cellPixelsDown)
            }
        }
    }

    /// The grid picture; `pictures` row by row (rows × columns of them, each cellWidth × cellHeight).
    public func render(_ pictures: [RGBImage]) -> RGBImage {
        precondition(pictures.count == rowLabels.count * columnLabels.count, "one picture per cell")
        let width = left + columnLabels.count * cellPixelsAcross + Self.margin
        let height = top + rowLabels.count * cellPixelsDown + Self.margin
        var out = RGBImage(width: width, height: height, fill: 255)
        let ink: (UInt8, UInt8, UInt8) = (0, 0, 0)
        for (c, lines) in columnLines.enumerated() {
            for (i, line) in lines.enumerated() {
                let x = left + c * cellPixelsAcross + max(0, (cellPixelsAcross - LabelFont.width(line)) / 2)
                LabelFont.draw(line, x: x, y: Self.margin + i * (LabelFont.glyphHeight + 2), color: ink, into: &out)
            }
        }
        for (r, label) in rowLabels.enumerated() {
            let y = top + r * cellPixelsDown + max(0, (cellPixelsDown - LabelFont.glyphHeight) / 2)
            LabelFont.draw(label, x: Self.margin, y: y, color: ink, into: &out)
        }
        for (cell, picture) in zip(cells, pictures) {
            precondition(picture.width == cellWidth && picture.height == cellHeight, "cell pictures share one size")
            for y in 0..<cell.height {
                for x in 0..<cell.width {
                    let s = ((y / scale) * picture.width + x / scale) * picture.channels
                    let d = ((cell.y + y) * out.width + cell.x + x) * 3
                    out.pixels[d] = picture.pixels[s]; out.pixels[d + 1] = picture.pixels[s + 1]; out.pixels[d + 2] = picture.pixels[s + 2]
                }
            }
        }
        return out
    }

    /// The pixels of one cell cut back out of a grid picture (at the grid's scale).
    public static func crop(_ image: RGBImage, _ cell: Cell) -> RGBImage {
        var px = [UInt8](repeating: 0, count: cell.width * cell.height * 3)
        for y in 0..<cell.height {
            for x in 0..<cell.width {
                let s = ((cell.y + y) * image.width + cell.x + x) * image.channels
                for k in 0..<3 { px[(y * cell.width + x) * 3 + k] = image.pixels[s + k] }
            }
        }
        return RGBImage(width: cell.width, height: cell.height, pixels: px)
    }
}
