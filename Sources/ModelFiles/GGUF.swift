import Foundation

/// A GGUF model file (versions 2 and 3), memory-mapped read-only.
///
/// Layout (little-endian): "GGUF", u32 version, u64 tensor count, u64 metadata count, metadata
/// key/values, tensor infos, padding to `general.alignment` (default 32), tensor data. Every
/// count, length and offset is checked against the file size before use, so a corrupt file
/// raises `GGUFError` instead of crashing or allocating absurdly.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    public let dataOffset: Int
    private let tensorIndex: [String: Int]
    private let mapping: UnsafeMutableRawPointer
    public let fileSize: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError("\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError("\(path): cannot stat") }
        fileSize = Int(st.st_size)
        guard fileSize >= 24 else { throw GGUFError("\(path): not a GGUF file (too short: \(fileSize) bytes)") }
        guard let m = mmap(nil, fileSize, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw GGUFError("\(path): cannot memory-map")
        }
        mapping = m
        do {
            var r = GGUFReader(base: UnsafeRawPointer(m), size: fileSize, path: path)
            guard try r.bytes(4) == Array("GGUF".utf8) else { throw GGUFError("\(path): not a GGUF file (bad magic)") }
            version = try r.u32()
            guard version == 2 || version == 3 else { throw GGUFError("\(path): unsupported GGUF version \(version) (supported: 2, 3)") }
            let tensorCount = try r.count(limit: 1 << 20, what: "tensor count")
            let kvCount = try r.count(limit: 1 << 20, what: "metadata count")
            var md: [String: GGUFValue] = [:]
            var keys: [String] = []
            for _ in 0..<kvCount {
                let key = try r.string()
                let type = try r.u32()
                md[key] = try r.value(type: type, depth: 0)
                keys.append(key)
            }
            metadata = md
            metadataKeys = keys
            var align = 32
            if let a = md["general.alignment"] {
                guard let v = a.int, v > 0, v <= 1 << 16, v & (v - 1) == 0 else {
                    throw GGUFError("\(path): invalid general.alignment")
                }
                align = v
            }
            alignment = align
            var infos: [GGUFTensorInfo] = []
            var index: [String: Int] = [:]
            for _ in 0..<tensorCount {
                let name = try r.string()
                let nDims = try r.u32()
                guard nDims >= 1, nDims <= 4 else { throw GGUFError("\(path): tensor \(name) has \(nDims) dimensions") }
                var shape: [Int] = []
                var elements = 1
                for _ in 0..<nDims {
                    let d = try r.u64()
                    guard d >= 1, d < 1 << 32 else { throw GGUFError("\(path): tensor \(name) has an invalid dimension \(d)") }
                    shape.append(Int(d))
                    let (p, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                    guard !overflow, p < 1 << 40 else { throw GGUFError("\(path): tensor \(name) is too large") }
                    elements = p
                }
                let rawType = try r.u32()
                guard let type = GGMLType(rawValue: rawType) else {
                    throw GGUFError("\(path): tensor \(name) has unknown type \(rawType)")
                }
                guard shape[0] % type.blockSize == 0 else {
                    throw GGUFError("\(path): tensor \(name): row length \(shape[0]) is not a multiple of the \(type) block size")
                }
                let offset = try r.u64()
                guard offset < UInt64(fileSize) else { throw GGUFError("\(path): tensor \(name) offset out of range") }
                guard index[name] == nil else { throw GGUFError("\(path): duplicate tensor \(name)") }
                index[name] = infos.count
                infos.append(GGUFTensorInfo(name: name, shape: shape, type: type, offset: Int(offset),
                                            byteCount: elements / type.blockSize * type.bytesPerBlock))
            }
            let data = (r.position + align - 1) / align * align
            dataOffset = data
            for t in infos {
                guard t.offset % align == 0 else { throw GGUFError("\(path): tensor \(t.name) is not aligned") }
                let (end, overflow) = (data + t.offset).addingReportingOverflow(t.byteCount)
                guard !overflow, end <= fileSize else {
                    throw GGUFError("\(path): tensor \(t.name) extends past the end of the file (truncated?)")
                }
            }
            tensors = infos
            tensorIndex = index
        } catch {
            munmap(m, fileSize)
            throw error
        }
    }

    deinit { munmap(mapping, fileSize) }

    public func tensorInfo(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The raw bytes of a tensor (valid while this file is alive).
    public func rawData(_ info: GGUFTensorInfo) -> UnsafeRawPointer {
        UnsafeRawPointer(mapping) + dataOffset + info.offset
    }

    /// Dequantizes the whole tensor to Float32.
    public func tensor(named name: String) throws -> [Float] {
        guard let info = tensorInfo(name) else { throw GGUFError("\(path): no tensor named \(name)") }
        return try tensor(info, rows: 0..<info.rowCount)
    }

    /// Dequantizes rows `rows` (a row is `shape[0]` elements).
    public func tensor(_ info: GGUFTensorInfo, rows: Range<Int>) throws -> [Float] {
        guard rows.lowerBound >= 0, rows.upperBound <= info.rowCount else {
            throw GGUFError("\(path): rows \(rows) out of range for \(info.name)")
        }
        let n = info.shape[0]
        var out = [Float](repeating: 0, count: rows.count * n)
        let src = rawData(info)
        let rowBytes = info.rowByteCount
        out.withUnsafeMutableBufferPointer { o in
            let dst = o.baseAddress!
            ParallelRows.run(rows.count) { r in
                Dequantize.row(info.type, src + (rows.lowerBound + r) * rowBytes, dst + r * n, count: n)
            }
        }
        return out
    }

    public func string(_ key: String) -> String? { metadata[key]?.string }
    public func int(_ key: String) -> Int? { metadata[key]?.int }
    public func float(_ key: String) -> Float? { metadata[key]?.double.map(Float.init) }
}

public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: shape[0] is the contiguous (row) dimension.
    public let shape: [Int]
    public let type: GGMLType
    public let offset: Int
    public let byteCount: Int
    public var rowCount: Int { shape.dropFirst().reduce(1, *) }
    public var rowByteCount: Int { shape[0] / type.blockSize * type.bytesPerBlock }
    public var elementCount: Int { shape.reduce(1, *) }
}

public struct GGUFError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A metadata value. Arrays keep their element values (nested arrays allowed).
public indirect enum GGUFValue: Equatable, Sendable {
    case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String), array([GGUFValue])

    public var int: Int? {
        switch self {
        case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int(let v): return Int(v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }
    public var double: Double? {
        switch self {
        case .float(let v): return v
        case .uint(let v): return Double(v)
        case .int(let v): return Double(v)
        default: return nil
        }
    }
    public var bool: Bool? { if case .bool(let v) = self { return v }; return int.map { $0 != 0 } }
    public var string: String? { if case .string(let v) = self { return v }; return nil }
    public var array: [GGUFValue]? { if case .array(let v) = self { return v }; return nil }
    public var strings: [String]? { array?.compactMap(\.string) }
    public var floats: [Float]? { array?.compactMap { $0.double.map(Float.init) } }
    public var ints: [Int]? { array?.compactMap(\.int) }
}

/// Bounds-checked little-endian cursor over the mapped file.
struct GGUFReader {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    var position = 0

    mutating func need(_ n: Int) throws {
        guard n >= 0, position <= size - n else { throw GGUFError("\(path): truncated GGUF header (needed \(n) bytes at offset \(position))") }
    }
    mutating func bytes(_ n: Int) throws -> [UInt8] {
        try need(n)
        defer { position += n }
        return Array(UnsafeRawBufferPointer(start: base + position, count: n))
    }
    mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try need(MemoryLayout<T>.size)
        defer { position += MemoryLayout<T>.size }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: position, as: T.self))
    }
    mutating func u32() throws -> UInt32 { try load(UInt32.self) }
    mutating func u64() throws -> UInt64 { try load(UInt64.self) }
    mutating func count(limit: UInt64, what: String) throws -> Int {
        let v = try u64()
        guard v <= limit else { throw GGUFError("\(path): absurd \(what) \(v)") }
        return Int(v)
    }
    mutating func string() throws -> String {
        let n = try u64()
        guard n <= UInt64(size - position) else { throw GGUFError("\(path): string length \(n) exceeds the file") }
        let b = try bytes(Int(n))
        return String(decoding: b, as: UTF8.self)
    }
    mutating func value(type: UInt32, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try load(UInt8.self)))
        case 1: return .int(Int64(try load(Int8.self)))
        case 2: return .uint(UInt64(try load(UInt16.self)))
        case 3: return .int(Int64(try load(Int16.self)))
        case 4: return .uint(UInt64(try load(UInt32.self)))
        case 5: return .int(Int64(try load(Int32.self)))
        case 6: return .float(Double(Float(bitPattern: try load(UInt32.self))))
        case 7:
            let b = try load(UInt8.self)
            guard b <= 1 else { throw GGUFError("\(path): invalid bool value \(b)") }
            return .bool(b == 1)
        case 8: return .string(try string())
        case 9:
            guard depth < 4 else { throw GGUFError("\(path): metadata arrays nested too deeply") }
            let elementType = try u32()
            let n = try u64()
            // Every element takes at least one byte: a count beyond the remaining bytes is corrupt.
            guard n <= UInt64(size - position) else { throw GGUFError("\(path): array length \(n) exceeds the file") }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(n))
            for _ in 0..<Int(n) { items.append(try value(type: elementType, depth: depth + 1)) }
            return .array(items)
        case 10: return .uint(try load(UInt64.self))
        case 11: return .int(try load(Int64.self))
        case 12: return .float(Double(bitPattern: try load(UInt64.self)))
        default: throw GGUFError("\(path): unknown metadata value type \(type)")
        }
    }
}
