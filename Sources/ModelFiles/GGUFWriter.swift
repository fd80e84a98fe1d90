import Foundation

/// Writes small GGUF v3 files: used by tests (corruption checks) and by tools that need a
/// self-contained model file.
public struct GGUFWriter {
    public var metadata: [(String, GGUFValue)] = []
    public var tensors: [(name: String, shape: [Int], type: GGMLType, data: [UInt8])] = []
    public var alignment = 32

    public init() {}

    public mutating func addFloatTensor(_ name: String, shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count)
        let bytes = values.withUnsafeBytes { Array($0) }
        tensors.append((name, shape, .f32, bytes))
    }

    public func serialized() -> [UInt8] {
        var out: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        func typeCode(_ v: GGUFValue) -> UInt32 {
            switch v {
            case .uint: return 10
            case .int: return 11
            case .float: return 12
            case .bool: return 7
            case .string: return 8
            case .array: return 9
            }
        }
        func value(_ v: GGUFValue) {
            switch v {
            case .uint(let x): u64(x)
            case .int(let x): u64(UInt64(bitPattern: x))
            case .float(let x): u64(x.bitPattern)
            case .bool(let b): out.append(b ? 1 : 0)
            case .string(let s): str(s)
            case .array(let items):
                u32(items.first.map(typeCode) ?? 8)
                u64(UInt64(items.count))
                items.forEach(value)
            }
        }
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (k, v) in metadata { str(k); u32(typeCode(v)); value(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset = (offset + t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            str(t.name)
            u32(UInt32(t.shape.count))
            t.shape.forEach { u64(UInt64($0)) }
            u32(t.type.rawValue)
            u64(UInt64(o))
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out += t.data
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }
}
