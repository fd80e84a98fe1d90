// TerminalGraphics module
