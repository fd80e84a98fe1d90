import CSQLite
import Foundation
import UserFolders
import ImageIO
#if canImport(Glibc)
import Glibc
#endif

/// One picture in the gallery.
public struct GalleryEntry: Equatable, Sendable, Identifiable {
    /// The file name inside the gallery folder, e.g. `20261127-201500-42-1a2b3c4d.png`.
    public var name: String
    public var path: String
    public var settings: GenerationSettings
    public var source: MetadataSource
    /// The file's A1111 `parameters` text, if it has one.
    public var parametersText: String?
    public var fileSize: Int64
    public var modified: Date

    /// The file name without `.png`.
    public var id: String { name.hasSuffix(".png") ? String(name.dropLast(4)) : name }
    /// The random part of a gallery file name (`1a2b3c4d`), or the whole id for other files.
    public var shortID: String {
        let parts = id.split(separator: "-")
        if parts.count >= 4, let last = parts.last, last.count == 8 { return String(last) }
        return id
    }
}

/// A file the gallery skipped, and why.
public struct GalleryWarning: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

/// A deleted picture, waiting in the trash folder.
public struct TrashedPicture: Sendable, Equatable {
    /// The name in the trash folder (what `restore` takes).
    public var trashName: String
    /// The name it had in the gallery.
    public var originalName: String
    public var path: String
}

public enum GalleryError: Error, CustomStringConvertible, Equatable {
    /// Saving failed (disk full, read-only folder …); nothing already in the gallery was touched.
    case writeFailed(String)
    case notFound(String)
    case ambiguous(String, [String])
    case io(String)

    public var description: String {
        switch self {
        case .writeFailed(let m): return "could not save the picture: \(m)"
        case .notFound(let r): return "no gallery entry matches '\(r)'"
        case .ambiguous(let r, let names): return "'\(r)' matches several entries: \(names.prefix(5).joined(separator: ", "))"
        case .io(let m): return m
        }
    }
}

/// What one `sync` did.
public struct SyncReport: Sendable, Equatable {
    public var added = 0
    public var updated = 0
    public var removed = 0
    public var skipped = 0
}

/// The on-disk gallery: a folder of PNG files (the source of truth, each carrying A1111
/// `parameters` text and the project's JSON chunk) plus an SQLite index for fast listing and
/// full-text search, rebuilt from the files when missing, damaged or stale.
///
/// Layout of `root`:
///   `*.png`            the pictures (written atomically: temp file, fsync, link, fsync folder)
///   `.index.sqlite`    the index (WAL mode; may be deleted at any time)
///   `.trash/`          deleted pictures (undo with `restore`)
///   `.thumbs/`         thumbnail cache
///   `.tmp-*`           files being written (never listed; stale ones are removed)
///
/// Several processes may use one gallery at once. Methods may be called from any thread.
public final class GalleryStore: @unchecked Sendable {
    public let root: String
    public static let indexFileName = ".index.sqlite"
    public static let trashFolderName = ".trash"
    public static let thumbsFolderName = ".thumbs"
    static let schemaVersion: Int32 = 1

    private let lock = NSLock()
    private var db: SQLiteDB?
    private var ftsKind = "none"
    /// Files skipped by the last sync.
    private var _warnings: [GalleryWarning] = []
    /// Problems with the index itself (rebuilt, unavailable, behind) since this store was opened.
    private var indexWarnings: [GalleryWarning] = []

    /// Files skipped by the last `sync` (corrupt or truncated PNGs, foreign files), then index
    /// problems met since the store was opened.
    public var warnings: [GalleryWarning] { lock.withLock { _warnings + indexWarnings } }
    public var indexPath: String { root + "/" + Self.indexFileName }
    public var trashPath: String { root + "/" + Self.trashFolderName }
    public var thumbsPath: String { root + "/" + Self.thumbsFolderName }

    /// The gallery folder: `$LIDIT_GALLERY`, else `$XDG_DATA_HOME/lidit/gallery`,
    /// else `~/.local/share/lidit/gallery`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        UserFolder.gallery.path(environment: environment)
    }

    /// Opens (creating if needed) the gallery at `root` and brings its index up to date.
    public init(root: String, sync: Bool = true) throws {
        var r = root
        while r.count > 1, r.hasSuffix("/") { r.removeLast() }
        self.root = r
        do {
            try FileManager.default.createDirectory(atPath: r, withIntermediateDirectories: true)
        } catch {
            throw GalleryError.io("cannot create gallery folder \(r): \(error.localizedDescription)")
        }
        try lock.withLock {
            try openIndex()
            if sync { _ = try syncLocked() }
        }
    }

    deinit { db?.close() }

    // MARK: index setup

    private func openIndex() throws {
        do {
            try openIndexOnce()
        } catch let e as SQLiteError where e.isCorruption {
            moveIndexAside()
            try openIndexOnce()
        } catch let e as SQLiteError {
            // An unusable index (read-only folder, full disk) must not make the pictures unreachable.
            db = nil
            indexWarnings.append(GalleryWarning(file: Self.indexFileName, message: "index unavailable (\(e)); listing from files"))
        }
    }

    private func openIndexOnce() throws {
        db?.close()
        db = nil
        let d = try SQLiteDB(path: indexPath)
        // journal_mode can report busy while another process holds the database; retry briefly.
        var tries = 0
        while true {
            do { try d.exec("PRAGMA journal_mode=WAL"); break } catch let e as SQLiteError where (e.code & 0xff) == SQLITE_BUSY && tries < 200 {
                tries += 1
                usleep(20_000)
            }
        }
        try d.exec("PRAGMA synchronous=NORMAL")
        let version = try d.query("PRAGMA user_version").first?.first?.int64 ?? 0
        if version != Int64(Self.schemaVersion) {
            try d.transaction {
                let v = try d.query("PRAGMA user_version").first?.first?.int64 ?? 0
                if v == Int64(Self.schemaVersion) { return }
                try d.exec("DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS bad; DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS entries_fts")
                try d.exec("""
                    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
                    CREATE TABLE entries(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, size INTEGER, mtime INTEGER,
                        created REAL, prompt TEXT, negative TEXT, source TEXT, parameters TEXT, settings TEXT);
                    CREATE INDEX entries_created ON entries(created);
                    CREATE TABLE bad(name TEXT PRIMARY KEY, size INTEGER, mtime INTEGER, reason TEXT);
                    """)
                var kind = "none"
                for (k, sql) in [("trigram", "CREATE VIRTUAL TABLE entries_fts USING fts5(prompt, negative, tokenize='trigram')"),
                                 ("unicode61", "CREATE VIRTUAL TABLE entries_fts USING fts5(prompt, negative)")] {
                    if (try? d.exec(sql)) != nil { kind = k; break }
                }
                try d.run("INSERT INTO meta(key, value) VALUES('fts', ?)", [.text(kind)])
                try d.exec("PRAGMA user_version=\(Self.schemaVersion)")
            }
        }
        ftsKind = try d.query("SELECT value FROM meta WHERE key='fts'").first?.first?.string ?? "none"
        db = d
    }

    private func moveIndexAside() {
        db?.close()
        db = nil
        let stamp = Int(Date().timeIntervalSince1970)
        rename(indexPath, indexPath + ".damaged-\(stamp)")
        unlink(indexPath + "-wal")
        unlink(indexPath + "-shm")
        indexWarnings.append(GalleryWarning(file: Self.indexFileName, message: "index was damaged; rebuilt from the pictures"))
    }

    /// Runs `body` on the index; a damaged index is rebuilt once and `body` retried.
    private func withIndex<T>(_ body: (SQLiteDB) throws -> T) throws -> T? {
        guard let d = db else { return nil }
        do {
            return try body(d)
        } catch let e as SQLiteError where e.isCorruption {
            moveIndexAside()
            try openIndexOnce()
            _ = try syncLocked()
            guard let d2 = db else { return nil }
            return try body(d2)
        }
    }

    // MARK: scanning the folder

    /// Whether `name` can only be a picture directly inside the gallery folder: no folder part,
    /// no dot file, a `.png` name. Index rows and trash names are checked against this before
    /// they become paths, so an edited index cannot reach (or move) files outside the gallery.
    public static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && !name.contains("\0")
            && name.lowercased().hasSuffix(".png")
    }

    struct FileInfo {
        var name: String
        var size: Int64
        var mtime: Int64   // nanoseconds
    }

    private func statFile(_ path: String) -> FileInfo? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let mt = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        return FileInfo(name: (path as NSString).lastPathComponent, size: Int64(st.st_size), mtime: mt)
    }

    /// The PNG files in the folder, and warnings for everything else that is not ours.
    private func scan() -> (pngs: [FileInfo], foreign: [GalleryWarning]) {
        var pngs: [FileInfo] = []
        var foreign: [GalleryWarning] = []
        guard let dir = opendir(root) else { return ([], [GalleryWarning(file: root, message: "cannot read folder")]) }
        defer { closedir(dir) }
        let now = Date().timeIntervalSince1970
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            let path = root + "/" + name
            if name.hasPrefix(".") {
                // Leftovers of writers killed mid-save: remove once surely abandoned.
                if name.hasPrefix(".tmp-"), let info = statFile(path), now - Double(info.mtime) / 1e9 > 600 {
                    unlink(path)
                }
                continue
            }
            guard let info = statFile(path) else {
                var st = stat()
                if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { continue }   // sub-folders are the user's
                continue
            }
            if name.lowercased().hasSuffix(".png") {
                pngs.append(info)
            } else {
                foreign.append(GalleryWarning(file: name, message: "not a PNG file; skipped"))
            }
        }
        return (pngs, foreign)
    }

    /// Reads one gallery file; throws for a file that is not a complete, decodable PNG.
    func readEntry(_ info: FileInfo) throws -> GalleryEntry {
        let path = root + "/" + info.name
        let png: PNGFile
        do { png = try PNGFile.read(path: path) } catch { throw GalleryError.io("\(error)") }
        let meta = PictureMetadata.read(png)
        var settings = meta.settings
        if meta.source != .lidit, settings.created.timeIntervalSince1970 == 0 {
            settings.created = Date(timeIntervalSince1970: Double(info.mtime) / 1e9)
        }
        return GalleryEntry(name: info.name, path: path, settings: settings, source: meta.source,
                            parametersText: meta.parametersText, fileSize: info.size,
                            modified: Date(timeIntervalSince1970: Double(info.mtime) / 1e9))
    }

    // MARK: sync

    /// Brings the index in line with the files: new and changed PNGs are read, rows of vanished
    /// files dropped. Corrupt PNGs and foreign files are skipped and listed in `warnings`.
    @discardableResult
    public func sync() throws -> SyncReport {
        try lock.withLock { try syncLocked() }
    }

    private func syncLocked() throws -> SyncReport {
        var report = SyncReport()
        let (files, foreign) = scan()
        var warnings = foreign
        guard let d = db else {
            _warnings = warnings
            return report
        }
        // Phase 1, no lock held: find what changed and read it.
        let rows = try d.query("SELECT name, size, mtime FROM entries")
        var indexed: [String: (Int64, Int64)] = [:]
        for r in rows { if let n = r[0].string { indexed[n] = (r[1].int64 ?? -1, r[2].int64 ?? -1) } }
        // Rows that cannot name a gallery file (an edited index) are dropped whatever is on disk.
        let foreignRows = indexed.keys.filter { !Self.isPlainName($0) }
        var badRows: [String: (Int64, Int64, String)] = [:]
        for r in try d.query("SELECT name, size, mtime, reason FROM bad") {
            if let n = r[0].string { badRows[n] = (r[1].int64 ?? -1, r[2].int64 ?? -1, r[3].string ?? "") }
        }
        var toUpsert: [GalleryEntry] = []
        var toMarkBad: [(FileInfo, String)] = []
        var seen = Set<String>()
        for f in files {
            seen.insert(f.name)
            if let (size, mtime) = indexed[f.name], size == f.size, mtime == f.mtime { continue }
            if let (size, mtime, reason) = badRows[f.name], size == f.size, mtime == f.mtime {
                warnings.append(GalleryWarning(file: f.name, message: reason))
                if indexed[f.name] != nil { toMarkBad.append((f, reason)) }   // still listed: drop its row
                continue
            }
            do {
                toUpsert.append(try readEntry(f))
            } catch {
                let reason = "unreadable PNG (\(error)); skipped"
                warnings.append(GalleryWarning(file: f.name, message: reason))
                toMarkBad.append((f, reason))
            }
        }
        let gone = indexed.keys.filter { !seen.contains($0) }
        let badGone = badRows.keys.filter { !seen.contains($0) }
        report.skipped = warnings.count
        _warnings = warnings
        if toUpsert.isEmpty && toMarkBad.isEmpty && gone.isEmpty && badGone.isEmpty && foreignRows.isEmpty { return report }

        // Phase 2, under the write lock: apply, re-checking vanished files now (another process
        // may have just saved or restored them).
        try d.transaction {
            for e in toUpsert {
                if try upsert(d, e) { report.added += 1 } else { report.updated += 1 }
                try d.run("DELETE FROM bad WHERE name = ?", [.text(e.name)])
            }
            for (f, reason) in toMarkBad {
                try d.run("INSERT OR REPLACE INTO bad(name, size, mtime, reason) VALUES(?, ?, ?, ?)",
                          [.text(f.name), .int(f.size), .int(f.mtime), .text(reason)])
                // A picture that became unreadable (truncated, overwritten) is listed no more.
                if indexed[f.name] != nil {
                    try removeRow(d, f.name)
                    report.removed += 1
                }
            }
            for name in foreignRows {
                try removeRow(d, name)
                report.removed += 1
            }
            for name in gone where Self.isPlainName(name) && statFile(root + "/" + name) == nil {
                try removeRow(d, name)
                report.removed += 1
            }
            for name in badGone where statFile(root + "/" + name) == nil {
                try d.run("DELETE FROM bad WHERE name = ?", [.text(name)])
            }
        }
        return report
    }

    /// Inserts or replaces the row of `e`; true if it was new.
    @discardableResult
    private func upsert(_ d: SQLiteDB, _ e: GalleryEntry) throws -> Bool {
        let mtime = Int64((e.modified.timeIntervalSince1970 * 1e9).rounded())
        let existing = try d.query("SELECT id FROM entries WHERE name = ?", [.text(e.name)]).first?.first?.int64
        let values: [SQLValue] = [
            .int(e.fileSize), .int(exactMtime(e) ?? mtime), .double(e.settings.created.timeIntervalSince1970),
            .text(e.settings.prompt), .text(e.settings.negativePrompt), .text(e.source.rawValue),
            e.parametersText.map { .text($0) } ?? .null, .text(e.settings.jsonString()), .text(e.name),
        ]
        let id: Int64
        if let old = existing {
            try d.run("UPDATE entries SET size=?, mtime=?, created=?, prompt=?, negative=?, source=?, parameters=?, settings=? WHERE name=?", values)
            if ftsKind != "none" { try d.run("DELETE FROM entries_fts WHERE rowid = ?", [.int(old)]) }
            id = old
        } else {
            try d.run("INSERT INTO entries(size, mtime, created, prompt, negative, source, parameters, settings, name) VALUES(?,?,?,?,?,?,?,?,?)", values)
            id = sqlite3_last_insert_rowid(d.handle)
        }
        if ftsKind != "none" {
            try d.run("INSERT INTO entries_fts(rowid, prompt, negative) VALUES(?, ?, ?)",
                      [.int(id), .text(e.settings.prompt), .text(e.settings.negativePrompt)])
        }
        return existing == nil
    }

    /// The nanosecond mtime of the file behind `e` (Date loses the last digits).
    private func exactMtime(_ e: GalleryEntry) -> Int64? { statFile(e.path)?.mtime }

    private func removeRow(_ d: SQLiteDB, _ name: String) throws {
        if ftsKind != "none", let id = try d.query("SELECT id FROM entries WHERE name = ?", [.text(name)]).first?.first?.int64 {
            try d.run("DELETE FROM entries_fts WHERE rowid = ?", [.int(id)])
        }
        try d.run("DELETE FROM entries WHERE name = ?", [.text(name)])
    }

    /// Drops the index and builds it again from the PNG files.
    @discardableResult
    public func rebuildIndex() throws -> SyncReport {
        try lock.withLock {
            if let d = db {
                do {
                    try d.transaction { try d.exec("PRAGMA user_version=0") }
                } catch let e as SQLiteError where e.isCorruption {
                    moveIndexAside()
                }
            }
            try openIndex()
            // Without an index there is nothing rebuilt: say why instead of "indexed 0".
            guard db != nil else {
                throw GalleryError.io("cannot rebuild the index \(indexPath): \(indexWarnings.last?.message ?? "it cannot be opened")")
            }
            return try syncLocked()
        }
    }

    /// Differences between index and files (empty when consistent): rows without a matching file,
    /// readable PNGs without a row. Does not change anything.
    public func consistencyProblems() throws -> [String] {
        try lock.withLock {
            guard let d = db else { return ["index unavailable"] }
            var problems: [String] = []
            let (files, _) = scan()
            let byName = Dictionary(files.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            var rowNames = Set<String>()
            for r in try d.query("SELECT name, size, mtime FROM entries") {
                guard let n = r[0].string else { continue }
                rowNames.insert(n)
                guard let f = byName[n] else { problems.append("\(n): indexed but missing"); continue }
                if f.size != r[1].int64 || f.mtime != r[2].int64 { problems.append("\(n): index out of date") }
            }
            let bad = Set(try d.query("SELECT name FROM bad").compactMap { $0[0].string })
            for f in files where !rowNames.contains(f.name) && !bad.contains(f.name) {
                problems.append("\(f.name): not indexed")
            }
            if ftsKind != "none" {
                let n1 = try d.query("SELECT count(*) FROM entries").first?.first?.int64 ?? 0
                let n2 = try d.query("SELECT count(*) FROM entries_fts").first?.first?.int64 ?? 0
                if n1 != n2 { problems.append("full-text index has \(n2) rows for \(n1) entries") }
            }
            return problems
        }
    }

    // MARK: saving

    /// Saves a picture with its settings and returns the new entry. The file appears complete
    /// or not at all (temp file, fsync, link under a fresh name, fsync folder); a failure (full
    /// disk …) throws `GalleryError.writeFailed` and leaves existing pictures untouched.
    @discardableResult
    public func save(image: RGBImage, settings: GenerationSettings) throws -> GalleryEntry {
        var s = settings
        // The file's Size is the picture's.
        s.width = image.width
        s.height = image.height
        let png = PNGFile(image: image, texts: PictureMetadata.textChunks(for: s))
        let tmp = root + "/.tmp-\(getpid())-\(UUID().uuidString).png"
        do {
            try png.write(path: tmp)
        } catch {
            unlink(tmp)
            throw GalleryError.writeFailed("\(error)")
        }
        if let err = fsyncPath(tmp) {
            unlink(tmp)
            throw GalleryError.writeFailed("fsync: \(err)")
        }
        var finalName = ""
        var placed = false
        for _ in 0..<64 {
            finalName = Self.fileName(created: s.created, seed: s.seed, shortID: Self.randomShortID())
            let dest = root + "/" + finalName
            // link() never replaces an existing file, so names cannot collide across processes.
            if link(tmp, dest) == 0 { placed = true; break }
            let e = errno
            if e == EEXIST { continue }
            if e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EXDEV || e == EMLINK || e == ENOSYS {
                // No hard links here (some FUSE / FAT folders): the random name makes rename safe.
                if access(dest, F_OK) == 0 { continue }
                if rename(tmp, dest) == 0 { placed = true; break }
            }
            let msg = String(cString: strerror(errno))
            unlink(tmp)
            throw GalleryError.writeFailed(msg)
        }
        unlink(tmp)
        guard placed else { throw GalleryError.writeFailed("no free file name") }
        _ = fsyncPath(root, directory: true)

        let path = root + "/" + finalName
        let info = statFile(path) ?? FileInfo(name: finalName, size: 0, mtime: 0)
        let entry = GalleryEntry(name: finalName, path: path, settings: s, source: .lidit,
                                 parametersText: png.text(PictureMetadata.parametersKeyword), fileSize: info.size,
                                 modified: Date(timeIntervalSince1970: Double(info.mtime) / 1e9))
        lock.withLock {
            // The picture is saved; if the index cannot take it now, the next sync will.
            do {
                _ = try withIndex { d in try d.transaction { try upsert(d, entry) } }
            } catch {
                indexWarnings.append(GalleryWarning(file: finalName, message: "saved, but not indexed yet: \(error)"))
            }
        }
        return entry
    }

    /// `20261127-201500-<seed>-<8 hex>.png`, local time.
    static func fileName(created: Date, seed: UInt64, shortID: String) -> String {
        var t = time_t(created.timeIntervalSince1970.rounded(.down))
        var tm = tm()
        localtime_r(&t, &tm)
        let stamp = String(format: "%04d%02d%02d-%02d%02d%02d", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                           Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
        return "\(stamp)-\(seed)-\(shortID).png"
    }

    static func randomShortID() -> String {
        String(format: "%08x", UInt32.random(in: 0...UInt32.max))
    }

    /// fsyncs a file or folder; returns an error text on failure.
    private func fsyncPath(_ path: String, directory: Bool = false) -> String? {
        let fd = open(path, directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
    }

    // MARK: reading

    private func entry(fromRow r: [SQLValue]) -> GalleryEntry? {
        guard let name = r[0].string, Self.isPlainName(name), let json = r[4].string, let settings = try? GenerationSettings.fromJSON(json) else { return nil }
        return GalleryEntry(name: name, path: root + "/" + name, settings: settings,
                            source: MetadataSource(rawValue: r[3].string ?? "") ?? .none, parametersText: r[5].string,
                            fileSize: r[1].int64 ?? 0, modified: Date(timeIntervalSince1970: Double(r[2].int64 ?? 0) / 1e9))
    }

    private static let columns = "e.name, e.size, e.mtime, e.source, e.settings, e.parameters"

    /// Rows whose file has vanished (deleted by another process, or a kill -9 mid-delete) are left out.
    private func present(_ entries: [GalleryEntry]) -> [GalleryEntry] {
        entries.filter { access($0.path, F_OK) == 0 }
    }

    /// All pictures, newest first.
    public func entries(limit: Int? = nil) throws -> [GalleryEntry] {
        try lock.withLock {
            let lim = limit.map { " LIMIT \($0)" } ?? ""
            if let rows = try withIndex({ d in try d.query("SELECT \(Self.columns) FROM entries e ORDER BY e.created DESC, e.name DESC\(lim)") }) {
                return present(rows.compactMap(entry(fromRow:)))
            }
            return Array(fallbackEntries().prefix(limit ?? Int.max))
        }
    }

    /// Without an index: read every file (slow, but the pictures stay reachable).
    private func fallbackEntries() -> [GalleryEntry] {
        scan().pngs.compactMap { try? readEntry($0) }.sorted {
            ($0.settings.created, $0.name) > ($1.settings.created, $1.name)
        }
    }

    /// Pictures whose prompt (or negative prompt, with `includeNegative`) contains every
    /// whitespace-separated word of `text`, case-insensitively; newest first. Works for any
    /// script (FTS5 trigram index for words of 3+ characters, substring scan otherwise).
    public func search(_ text: String, includeNegative: Bool = false, limit: Int? = nil) throws -> [GalleryEntry] {
        let terms = text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        if terms.isEmpty { return try entries(limit: limit) }
        return try lock.withLock {
            let lim = limit.map { " LIMIT \($0)" } ?? ""
            let useFTS = ftsKind == "trigram" && terms.allSatisfy { $0.unicodeScalars.count >= 3 }
            let rows = try withIndex { d -> [[SQLValue]] in
                if useFTS {
                    let col = includeNegative ? "{prompt negative}" : "prompt"
                    let expr = terms.map { "\(col) : \"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
                        .joined(separator: " AND ")
                    return try d.query("""
                        SELECT \(Self.columns) FROM entries_fts f JOIN entries e ON e.id = f.rowid
                        WHERE entries_fts MATCH ? ORDER BY e.created DESC, e.name DESC\(lim)
                        """, [.text(expr)])
                }
                var clauses: [String] = []
                var values: [SQLValue] = []
                for t in terms {
                    let pat = "%" + t.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                        .replacingOccurrences(of: "_", with: "\\_") + "%"
                    if includeNegative {
                        clauses.append("(e.prompt LIKE ? ESCAPE '\\' OR e.negative LIKE ? ESCAPE '\\')")
                        values += [.text(pat), .text(pat)]
                    } else {
                        clauses.append("e.prompt LIKE ? ESCAPE '\\'")
                        values.append(.text(pat))
                    }
                }
                return try d.query("SELECT \(Self.columns) FROM entries e WHERE \(clauses.joined(separator: " AND ")) ORDER BY e.created DESC, e.name DESC\(lim)", values)
            }
            if let rows { return present(rows.compactMap(entry(fromRow:))) }
            let lowered = terms.map { $0.lowercased() }
            return Array(fallbackEntries().filter { e in
                let hay = (e.settings.prompt + (includeNegative ? "\n" + e.settings.negativePrompt : "")).lowercased()
                return lowered.allSatisfy { hay.contains($0) }
            }.prefix(limit ?? Int.max))
        }
    }

    /// The entry for a file name, id, unique name prefix or short id.
    public func resolve(_ reference: String) throws -> GalleryEntry {
        var ref = reference
        if ref.hasPrefix(root + "/") { ref = String(ref.dropFirst(root.count + 1)) }
        let all = try entries()
        if let e = all.first(where: { $0.name == ref || $0.id == ref }) { return e }
        let hits = all.filter { $0.name.hasPrefix(ref) || $0.shortID == ref || $0.shortID.hasPrefix(ref) }
        if hits.count == 1 { return hits[0] }
        if hits.isEmpty { throw GalleryError.notFound(reference) }
        throw GalleryError.ambiguous(reference, hits.map(\.name))
    }

    /// The full picture of an entry.
    public func image(for entry: GalleryEntry) throws -> RGBImage {
        do { return try PNGFile.read(path: entry.path).image } catch { throw GalleryError.io("\(error)") }
    }

    // MARK: trash

    /// Moves a picture to the trash folder; undo with `restore`.
    @discardableResult
    public func delete(_ entry: GalleryEntry) throws -> TrashedPicture {
        // Only a file of this gallery, by its name (never the entry's path, which a caller made).
        guard Self.isPlainName(entry.name) else { throw GalleryError.notFound(entry.name) }
        let source = root + "/" + entry.name
        return try lock.withLock {
            try FileManager.default.createDirectory(atPath: trashPath, withIntermediateDirectories: true)
            var trashName = entry.name
            var n = 2
            while access(trashPath + "/" + trashName, F_OK) == 0 {
                trashName = "\(entry.id)~\(n).png"
                n += 1
            }
            let dest = trashPath + "/" + trashName
            guard rename(source, dest) == 0 else {
                let e = errno
                if e == ENOENT { throw GalleryError.notFound(entry.name) }
                throw GalleryError.io("cannot move \(entry.name) to the trash: \(String(cString: strerror(e)))")
            }
            _ = fsyncPath(trashPath, directory: true)
            _ = fsyncPath(root, directory: true)
            _ = try? withIndex { d in try d.transaction { try removeRow(d, entry.name) } }
            return TrashedPicture(trashName: trashName, originalName: entry.name, path: dest)
        }
    }

    /// The pictures in the trash folder.
    public func trashed() -> [TrashedPicture] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: trashPath)) ?? []
        return names.filter { $0.hasSuffix(".png") && !$0.hasPrefix(".") }.sorted().map {
            TrashedPicture(trashName: $0, originalName: Self.originalName(ofTrashName: $0), path: trashPath + "/" + $0)
        }
    }

    static func originalName(ofTrashName t: String) -> String {
        guard let tilde = t.lastIndex(of: "~"), t.hasSuffix(".png"),
              Int(t[t.index(after: tilde)..<t.index(t.endIndex, offsetBy: -4)]) != nil else { return t }
        return String(t[..<tilde]) + ".png"
    }

    /// Puts a trashed picture back under its old name.
    @discardableResult
    public func restore(_ trashName: String) throws -> GalleryEntry {
        guard Self.isPlainName(trashName) else { throw GalleryError.notFound(trashName) }
        return try lock.withLock {
            let src = trashPath + "/" + trashName
            guard access(src, F_OK) == 0 else { throw GalleryError.notFound(trashName) }
            let name = Self.originalName(ofTrashName: trashName)
            let dest = root + "/" + name
            if link(src, dest) == 0 {
                unlink(src)
            } else if errno == EEXIST {
                throw GalleryError.io("\(name) already exists in the gallery")
            } else {
                guard access(dest, F_OK) != 0, rename(src, dest) == 0 else {
                    throw GalleryError.io("cannot restore \(trashName): \(String(cString: strerror(errno)))")
                }
            }
            _ = fsyncPath(root, directory: true)
            _ = fsyncPath(trashPath, directory: true)
            guard let info = statFile(dest) else { throw GalleryError.notFound(name) }
            let entry = try readEntry(info)
            _ = try? withIndex { d in try d.transaction { try upsert(d, entry) } }
            return entry
        }
    }

    /// Deletes the trash folder's pictures for good (and their thumbnails).
    public func emptyTrash() throws {
        for t in trashed() {
            unlink(t.path)
            let stem = String(t.originalName.dropLast(4))
            for f in (try? FileManager.default.contentsOfDirectory(atPath: thumbsPath)) ?? [] where f.hasPrefix(stem + "-") {
                unlink(thumbsPath + "/" + f)
            }
        }
    }

    // MARK: thumbnails

    /// A copy of the picture no larger than `maxSide` on either side, cached in `.thumbs/`.
    public func thumbnail(for entry: GalleryEntry, maxSide: Int = 128) throws -> RGBImage {
        let thumbPath = "\(thumbsPath)/\(entry.id)-\(maxSide).png"
        if let t = statFile(thumbPath), let src = statFile(entry.path), t.mtime >= src.mtime,
           let img = try? PNGFile.read(path: thumbPath).image {
            return img
        }
        let full = try image(for: entry)
        let thumb = ImageOps.fit(full, maxWidth: maxSide, maxHeight: maxSide, maxUpscale: 1)
        try? FileManager.default.createDirectory(atPath: thumbsPath, withIntermediateDirectories: true)
        let tmp = "\(thumbsPath)/.tmp-\(getpid())-\(UUID().uuidString).png"
        if (try? PNGFile(image: thumb).write(path: tmp)) != nil {
            if rename(tmp, thumbPath) != 0 { unlink(tmp) }
        } else {
            unlink(tmp)
        }
        return thumb
    }
}
