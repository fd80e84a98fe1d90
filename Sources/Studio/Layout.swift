/// The panes of the main screen that can take the keyboard focus, in Tab order.
public enum Focus: String, CaseIterable, Sendable {
    case prompt, negative, settings, encoders, queue, gallery

    public var title: String {
        switch self {
        case .prompt: return "Prompt"
        case .negative: return "Negative prompt"
        case .settings: return "Settings"
        case .encoders: return "Encoders"
        case .queue: return "Queue"
        case .gallery: return "Gallery"
        }
    }

    public var isTextField: Bool { self == .prompt || self == .negative }
}

/// Where each pane of the main screen goes for a terminal size. Panes that do not fit side by
/// side share a place ("stacked"): the focused one, else the one last focused, is shown.
public struct MainLayout: Equatable, Sendable {
    public static let minimumColumns = 60
    public static let minimumRows = 18

    public var columns: Int
    public var rows: Int
    public var title: Rect
    public var status: Rect
    public var prompt: Rect
    public var negative: Rect
    public var preview: Rect
    /// Panes shown and where; a pane missing here is hidden behind its stack partner.
    public var panes: [Focus: Rect]
    /// Pairs that share a place, for the "also here" hint in the title.
    public var stacked: [[Focus]]

    /// nil when the terminal is too small for the studio.
    public static func compute(columns: Int, rows: Int, leftStack: Focus = .settings, rightStack: Focus = .queue) -> MainLayout? {
        guard columns >= minimumColumns, rows >= minimumRows else { return nil }
        let title = Rect(x: 0, y: 0, width: columns, height: 1)
        let status = Rect(x: 0, y: rows - 1, width: columns, height: 1)
        let top = 1, H = rows - 2
        let leftW = columns >= 120 ? columns * 56 / 100 : columns * 58 / 100
        let rightW = columns - leftW
        let promptH = min(10, max(4, H * 28 / 100))
        let negH = min(5, max(3, H * 14 / 100))
        let prompt = Rect(x: 0, y: top, width: leftW, height: promptH)
        let negative = Rect(x: 0, y: top + promptH, width: leftW, height: negH)
        let lowerY = top + promptH + negH
        let lowerH = H - promptH - negH
        var panes: [Focus: Rect] = [.prompt: prompt, .negative: negative]
        var stacked: [[Focus]] = []
        // Settings and encoders: side by side when there is room, else stacked.
        if leftW >= 64 {
            let sw = leftW * 55 / 100
            panes[.settings] = Rect(x: 0, y: lowerY, width: sw, height: lowerH)
            panes[.encoders] = Rect(x: sw, y: lowerY, width: leftW - sw, height: lowerH)
        } else {
            let shown: Focus = leftStack == .encoders ? .encoders : .settings
            panes[shown] = Rect(x: 0, y: lowerY, width: leftW, height: lowerH)
            stacked.append([.settings, .encoders])
        }
        // Right column: the preview, then the queue and the gallery list.
        let previewH = max(8, min(H * 50 / 100, rightW / 2 + 3))
        let preview = Rect(x: leftW, y: top, width: rightW, height: previewH)
        let restY = top + previewH, restH = H - previewH
        if restH >= 12 {
            let qh = restH / 2
            panes[.queue] = Rect(x: leftW, y: restY, width: rightW, height: qh)
            panes[.gallery] = Rect(x: leftW, y: restY + qh, width: rightW, height: restH - qh)
        } else {
            let shown: Focus = rightStack == .gallery ? .gallery : .queue
            panes[shown] = Rect(x: leftW, y: restY, width: rightW, height: restH)
            stacked.append([.queue, .gallery])
        }
        return MainLayout(columns: columns, rows: rows, title: title, status: status, prompt: prompt, negative: negative,
                          preview: preview, panes: panes, stacked: stacked)
    }

    /// Columns a text field wraps at (one column is kept free for the cursor).
    public func textWidth(_ f: Focus) -> Int {
        max(1, (f == .negative ? negative : prompt).inner.width - 1)
    }
}

/// The gallery browser: a search line, a grid of thumbnails and a details panel.
public struct GalleryLayout: Equatable, Sendable {
    public static let cellWidth = 18
    public static let cellHeight = 10

    public var columns: Int
    public var rows: Int
    public var title: Rect
    public var status: Rect
    public var search: Rect
    public var grid: Rect
    public var details: Rect
    public var gridColumns: Int
    public var gridRows: Int

    public static func compute(columns: Int, rows: Int) -> GalleryLayout? {
        guard columns >= MainLayout.minimumColumns, rows >= MainLayout.minimumRows else { return nil }
        let title = Rect(x: 0, y: 0, width: columns, height: 1)
        let status = Rect(x: 0, y: rows - 1, width: columns, height: 1)
        let search = Rect(x: 0, y: 1, width: columns, height: 1)
        let H = rows - 3
        let detailsW = columns >= 100 ? min(56, columns * 38 / 100) : columns * 42 / 100
        let grid = Rect(x: 0, y: 2, width: columns - detailsW, height: H)
        let details = Rect(x: columns - detailsW, y: 2, width: detailsW, height: H)
        let inner = grid.inner
        let gc = max(1, inner.width / cellWidth)
        let gr = max(1, inner.height / cellHeight)
        return GalleryLayout(columns: columns, rows: rows, title: title, status: status, search: search, grid: grid,
                             details: details, gridColumns: gc, gridRows: gr)
    }

    /// The cell of grid position `i` (relative to the first visible row `firstRow`).
    public func cell(_ i: Int, firstRow: Int) -> Rect? {
        let r = i / gridColumns - firstRow, c = i % gridColumns
        guard r >= 0, r < gridRows else { return nil }
        let inner = grid.inner
        return Rect(x: inner.x + c * GalleryLayout.cellWidth, y: inner.y + r * GalleryLayout.cellHeight,
                    width: GalleryLayout.cellWidth, height: GalleryLayout.cellHeight)
    }
}
