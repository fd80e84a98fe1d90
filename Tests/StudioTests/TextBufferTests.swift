import XCTest
@testable import Studio

final class TextBufferTests: XCTestCase {
    override func setUp() { TextWidth.prepareLocale() }

    func testWidths() {
        XCTAssertEqual(TextWidth.width("abc"), 3)
        XCTAssertEqual(TextWidth.width("猫"), 2)
        XCTAssertEqual(TextWidth.width("e\u{301}"), 1) // e + combining acute: one cluster, one column
        XCTAssertEqual(TextWidth.width("🙂"), 2)
        XCTAssertEqual(TextWidth.truncate("一二三四", to: 5), "一二…")
        XCTAssertEqual(TextWidth.width(TextWidth.pad("猫x", to: 6)), 6)
    }

    func testTypingAndDeleting() {
        var b = TextBuffer()
        b.insert("a red circle")
        XCTAssertEqual(b.text, "a red circle")
        XCTAssertEqual(b.cursor, 12)
        b.deleteWordBackward()
        XCTAssertEqual(b.text, "a red ")
        b.moveLeft(); b.moveLeft()
        b.deleteBackward()
        XCTAssertEqual(b.text, "a rd ")
        b.moveToStart()
        b.deleteForward()
        XCTAssertEqual(b.text, " rd ")
    }

    func testGraphemeClustersAreOneStep() {
        var b = TextBuffer()
        b.insert("e")
        b.insert("\u{301}") // a combining accent typed on its own joins the letter before it
        XCTAssertEqual(b.chars.count, 1)
        b.insert("👩‍🚀")
        XCTAssertEqual(b.chars.count, 2)
        b.moveLeft()
        XCTAssertEqual(b.cursor, 1)
        b.deleteForward()
        XCTAssertEqual(b.text, "e\u{301}")
    }

    func testWrapAtWordBoundaries() {
        let chars = Array("a red circle above a blue square")
        let lines = TextBuffer.layout(chars, width: 12).map { String(chars[$0.start..<$0.end]) }
        XCTAssertEqual(lines, ["a red ", "circle ", "above a ", "blue square"])
        // A word longer than the line is broken anywhere.
        let long = Array("abcdefghij")
        XCTAssertEqual(TextBuffer.layout(long, width: 4).map { String(long[$0.start..<$0.end]) }, ["abcd", "efgh", "ij"])
        // Wide characters count two columns.
        let cjk = Array("一二三四五")
        XCTAssertEqual(TextBuffer.layout(cjk, width: 5).map { String(cjk[$0.start..<$0.end]) }, ["一二", "三四", "五"])
        // Explicit newlines.
        let nl = Array("ab\n\ncd")
        XCTAssertEqual(TextBuffer.layout(nl, width: 10).map { String(nl[$0.start..<$0.end]) }, ["ab", "", "cd"])
    }

    func testVerticalMovementKeepsTheColumn() {
        var b = TextBuffer("abcdef\nab\nabcdef")
        b.moveToStart()
        for _ in 0..<5 { b.moveRight() }
        XCTAssertEqual(b.cursorPosition(width: 20).column, 5)
        XCTAssertTrue(b.moveDown(width: 20))
        XCTAssertEqual(b.cursorPosition(width: 20).row, 1)
        XCTAssertEqual(b.cursorPosition(width: 20).column, 2) // the short line clamps
        XCTAssertTrue(b.moveDown(width: 20))
        XCTAssertEqual(b.cursorPosition(width: 20).column, 5) // and the column comes back
        XCTAssertFalse(b.moveDown(width: 20))
        XCTAssertTrue(b.moveUp(width: 20))
        XCTAssertTrue(b.moveUp(width: 20))
        XCTAssertFalse(b.moveUp(width: 20))
    }

    func testVerticalMovementOverWideCharacters() {
        var b = TextBuffer("猫猫猫\nabcdef")
        b.moveToEnd() // column 6 on the second line
        b.moveLeft() // column 5
        XCTAssertTrue(b.moveUp(width: 20))
        // Column 5 is inside the third cat: the cursor stops before it, at column 4.
        XCTAssertEqual(b.cursorPosition(width: 20).column, 4)
        XCTAssertEqual(b.cursor, 2)
    }

    func testSoftWrapCursorAndHomeEnd() {
        var b = TextBuffer("hello world again")
        let w = 8 // "hello " | "world " | "again"
        b.moveToStart()
        for _ in 0..<6 { b.moveRight() } // before "world": belongs to the second row
        XCTAssertEqual(b.cursorPosition(width: w).row, 1)
        XCTAssertEqual(b.cursorPosition(width: w).column, 0)
        b.moveToLineEnd(width: w)
        XCTAssertEqual(b.cursor, 11) // before the space that ends the wrapped row
        XCTAssertEqual(b.cursorPosition(width: w).row, 1)
        b.moveToLineStart(width: w)
        XCTAssertEqual(b.cursor, 6)
    }

    func testUndoRedoCoalescesWords() {
        var b = TextBuffer()
        for c in "a red circle" { b.insert(String(c)) }
        b.undo()
        XCTAssertEqual(b.text, "a red ")
        b.undo()
        XCTAssertEqual(b.text, "a ")
        b.redo()
        XCTAssertEqual(b.text, "a red ")
        b.undo(); b.undo()
        XCTAssertEqual(b.text, "")
        XCTAssertFalse(b.canUndo)
        b.redo(); b.redo(); b.redo()
        XCTAssertEqual(b.text, "a red circle")
        // Deletions undo as one step until something else happens.
        b.deleteBackward(); b.deleteBackward(); b.deleteBackward()
        XCTAssertEqual(b.text, "a red cir")
        b.undo()
        XCTAssertEqual(b.text, "a red circle")
    }

    func testKillLine() {
        var b = TextBuffer("first line\nsecond")
        b.moveToStart()
        for _ in 0..<5 { b.moveRight() }
        b.killToLineEnd()
        XCTAssertEqual(b.text, "first\nsecond")
        b.killToLineEnd() // at the newline: joins the lines
        XCTAssertEqual(b.text, "firstsecond")
        b.killToLineStart()
        XCTAssertEqual(b.text, "second")
        b.undo()
        XCTAssertEqual(b.text, "firstsecond")
    }

    func testNewlinesAndNormalisation() {
        var b = TextBuffer("a\r\nb\tc")
        XCTAssertEqual(b.text, "a\nb c")
        b.insertNewline()
        XCTAssertEqual(b.text, "a\nb c\n")
        XCTAssertEqual(b.cursorPosition(width: 10).row, 2)
    }
}
