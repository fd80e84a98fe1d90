import Foundation
import Kernels

/// The safetensors format: u64 little-endian header length, a JSON header
/// `{"name": {"dtype": "F32"|"F16", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the raw little-endian data. Used for trained LI-DiT weights (F16) and training
/// checkpoints (F32, exact resume).
public struct SafetensorsFile {
    public enum DType: String, Sendable { case f32 = "F32", f16 = "F16" }

    public struct Tensor: Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public var dtype: DType
        public init(name: String, shape: [Int], values: [Float], dtype: DType) {
            self.name = name; self.shape = shape; self.values = values; self.dtype = dtype
        }
    }

    public var tensors: [Tensor]
    public var metadata: [String: String]

    public init(tensors: [Tensor] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public func tensor(_ name: String) -> Tensor? { tensors.first { $0.name == name } }

    public func serialized() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        var body = Data()
        for t in tensors {
            guard t.shape.reduce(1, *) == t.values.count else { throw GGUFError("safetensors: \(t.name) shape does not match its values") }
            let size = t.values.count * (t.dtype == .f32 ? 4 : 2)
            header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + size]]
            switch t.dtype {
            case .f32: t.values.withUnsafeBytes { body.append(contentsOf: $0) }
            case .f16:
                var half = [UInt16](repeating: 0, count: t.values.count)
                t.values.withUnsafeBufferPointer { convertFloatToHalf($0.baseAddress!, &half, count: t.values.count) }
                half.withUnsafeBytes { body.append(contentsOf: $0) }
            }
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        return out
    }

    /// Writes atomically: a temporary file in the same folder, fsync, rename. A crash leaves the
    /// old file or the new one, never a mix.
    public func write(to path: String) throws {
        let data = try serialized()
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: nil) , let h = FileHandle(forWritingAtPath: tmp) else {
            throw GGUFError("cannot create \(tmp)")
        }
        do {
            try h.write(contentsOf: data)
            try h.synchronize()
            try h.close()
        } catch {
            try? h.close()
            unlink(tmp)
            throw GGUFError("writing \(path) failed (disk full?): \(error.localizedDescription)")
        }
        guard rename(tmp, path) == 0 else { unlink(tmp); throw GGUFError("cannot move \(tmp) to \(path)") }
    }

    public static func read(path: String) throws -> SafetensorsFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw GGUFError("\(path): cannot read") }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String = "safetensors") throws -> SafetensorsFile {
        guard data.count >= 8 else { throw GGUFError("\(path): not a safetensors file (too short)") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8), n < 100_000_000 else { throw GGUFError("\(path): corrupt safetensors header length") }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw GGUFError("\(path): corrupt safetensors header")
        }
        let bodyStart = 8 + Int(n)
        var file = SafetensorsFile()
        file.metadata = (header["__metadata__"] as? [String: String]) ?? [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dt = info["dtype"] as? String, let dtype = DType(rawValue: dt),
                  let shape = info["shape"] as? [Int], let offs = info["data_offsets"] as? [Int], offs.count == 2 else {
                throw GGUFError("\(path): tensor \(name) has an unsupported or corrupt entry")
            }
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else { throw GGUFError("\(path): tensor \(name) has an invalid shape") }
            // Counted with overflow checks: a hostile shape or offset must not wrap into a small number.
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p < 1 << 40 else { throw GGUFError("\(path): tensor \(name) is too large") }
                count = p
            }
            let size = count * (dtype == .f32 ? 4 : 2)
            guard offs[0] >= 0, offs[1] >= offs[0], offs[1] - offs[0] == size, offs[1] <= data.count - bodyStart else {
                throw GGUFError("\(path): tensor \(name) lies outside the file (truncated?)")
            }
            var values = [Float](repeating: 0, count: count)
            data.withUnsafeBytes { raw in
                let p = raw.baseAddress! + bodyStart + offs[0]
                switch dtype {
                case .f32: for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case .f16: for i in 0..<count { values[i] = halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                }
            }
            file.tensors.append(Tensor(name: name, shape: shape, values: values, dtype: dtype))
        }
        file.tensors.sort { $0.name < $1.name }
        return file
    }
}
