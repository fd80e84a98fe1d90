import Foundation
#if canImport(Glibc)
import Glibc
private let posixWrite = Glibc.write
#else
import Darwin
private let posixWrite = Darwin.write
#endif

public struct OutputFileError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A file the user asked for (`-o`, `--json`, `--npy`, an export): checked before the work
/// starts, and written complete or not at all. A regular file is written beside its final name,
/// every write checked, fsynced and renamed into place, so a full disk or a kill leaves the old
/// file (or none), never half of a new one; a device or pipe (`/dev/stdout`, `/dev/full`) is
/// written in place, every write checked.
public enum OutputFile {
    /// Throws unless `path` can be written: its folder exists and is writable, and the path is
    /// not a folder or an unwritable file. Run it before hours of work, not after.
    public static func check(_ path: String) throws {
        guard !path.isEmpty else { throw OutputFileError("cannot write an empty path") }
        var st = stat()
        if stat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR { throw OutputFileError("cannot write \(path): it is a folder") }
            if access(path, W_OK) != 0 { throw OutputFileError("cannot write \(path): \(String(cString: strerror(errno)))") }
            if (st.st_mode & S_IFMT) != S_IFREG { return }
        }
        let folder = directory(of: path)
        var dst = stat()
        guard stat(folder, &dst) == 0, (dst.st_mode & S_IFMT) == S_IFDIR else {
            throw OutputFileError("cannot write \(path): no folder \(folder)")
        }
        if access(folder, W_OK) != 0 { throw OutputFileError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// Writes `data` to `path` (see the type's comment).
    public static func write(_ data: Data, to path: String) throws {
        try replace(path) { target in
            let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw OutputFileError("cannot write \(path): \(String(cString: strerror(errno)))") }
            var failure: String?
            data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
                var offset = 0
                while offset < buf.count {
                    let n = posixWrite(fd, buf.baseAddress! + offset, buf.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { failure = n < 0 ? String(cString: strerror(errno)) : "short write"; return }
                    offset += n
                }
            }
            if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
            if let failure { throw OutputFileError("cannot write \(path): \(failure)") }
        }
    }

    /// Runs `body` on a temporary path beside `path` and moves the result into place; for a
    /// device or pipe, runs it on `path` itself. A failure removes the temporary file.
    public static func replace(_ path: String, writing body: (String) throws -> Void) throws {
        try check(path)
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            try body(path)
            return
        }
        let name = (path as NSString).lastPathComponent
        let tmp = directory(of: path) + "/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try body(tmp)
            if let err = fsyncFile(tmp) { throw OutputFileError("cannot write \(path): \(err)") }
            guard rename(tmp, path) == 0 else { throw OutputFileError("cannot write \(path): \(String(cString: strerror(errno)))") }
        } catch {
            unlink(tmp)
            if error is OutputFileError { throw error }
            throw OutputFileError("cannot write \(path): \(error)")
        }
        let dfd = open(directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    static func directory(of path: String) -> String {
        let d = (path as NSString).deletingLastPathComponent
        return d.isEmpty ? "." : d
    }

    static func fsyncFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
    }
}
