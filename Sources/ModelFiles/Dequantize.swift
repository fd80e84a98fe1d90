import Dispatch
import Foundation

/// ggml tensor types this reader understands, with their block geometry.
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, bf16 = 30

    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return 256
        }
    }

    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        }
    }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        }
    }
}

/// Splits row work over the cores; each row is written by one worker, so results do not
/// depend on the thread count.
enum ParallelRows {
    static func run(_ rows: Int, _ body: (Int) -> Void) {
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, rows / 64))
        if workers <= 1 { for r in 0..<rows { body(r) }; return }
        let chunk = (rows + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for r in (w * chunk)..<min(rows, (w + 1) * chunk) { body(r) }
        }
    }
}

/// Dequantization to Float32, operation for operation as ggml's `dequantize_row_*` (and
/// gguf-py's numpy ports) do it, so results are bit-identical: no fused multiply-adds.
public enum Dequantize {
    @inline(__always) static func half(_ p: UnsafeRawPointer, _ o: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: o, as: UInt16.self).littleEndian))
    }
    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ o: Int) -> UInt8 { p.load(fromByteOffset: o, as: UInt8.self) }

    /// Dequantizes `count` elements (a multiple of the block size) starting at a block boundary.
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let blocks = count / type.blockSize
        switch type {
        case .f32:
            memcpy(y, src, count * 4)
        case .f16:
            for i in 0..<count { y[i] = half(src, 2 * i) }
        case .bf16:
            for i in 0..<count { y[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16) }
        case .q8_0:
            for b in 0..<blocks {
                let x = src + b * 34, d = half(x, 0), out = y + b * 32
                for j in 0..<32 { out[j] = Float(Int8(bitPattern: byte(x, 2 + j))) * d }
            }
        case .q4_0:
            for b in 0..<blocks {
                let x = src + b * 18, d = half(x, 0), out = y + b * 32
                for j in 0..<16 {
                    let q = byte(x, 2 + j)
                    out[j] = Float(Int(q & 0x0F) - 8) * d
                    out[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<blocks {
                let x = src + b * 20, d = half(x, 0), m = half(x, 2), out = y + b * 32
                for j in 0..<16 {
                    let q = byte(x, 4 + j)
                    out[j] = Float(q & 0x0F) * d + m
                    out[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q5_0:
            for b in 0..<blocks {
                let x = src + b * 22, d = half(x, 0), out = y + b * 32
                let qh = x.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
                for j in 0..<16 {
                    let q = byte(x, 6 + j)
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    out[j] = Float(Int32((q & 0x0F) | h0) - 16) * d
                    out[j + 16] = Float(Int32((q >> 4) | h1) - 16) * d
                }
            }
        case .q5_1:
            for b in 0..<blocks {
                let x = src + b * 24, d = half(x, 0), m = half(x, 2), out = y + b * 32
                let qh = x.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
                for j in 0..<16 {
                    let q = byte(x, 8 + j)
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    out[j] = Float((q & 0x0F) | h0) * d + m
                    out[j + 16] = Float((q >> 4) | h1) * d + m
                }
            }
        case .q2_K:
            for b in 0..<blocks {
                let x = src + b * 84, out = y + b * 256
                let d = half(x, 80), dmin = half(x, 82)
                var o = 0, scaleIndex = 0
                for n in stride(from: 0, to: 256, by: 128) {
                    let q = 16 + n / 4
                    var shift: UInt8 = 0
                    for _ in 0..<4 {
                        for half16 in 0..<2 {
                            let sc = byte(x, scaleIndex); scaleIndex += 1
                            let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                            for l in 0..<16 {
                                out[o] = dl * Float((byte(x, q + l + 16 * half16) >> shift) & 3) - ml
                                o += 1
                            }
                        }
                        shift += 2
                    }
                }
            }
        case .q3_K:
            for b in 0..<blocks {
                let x = src + b * 110, out = y + b * 256
                let d = half(x, 108)
                let scales = unpackQ3KScales(x + 96)
                var o = 0, scaleIndex = 0
                var m: UInt8 = 1
                for n in stride(from: 0, to: 256, by: 128) {
                    let q = 32 + n / 4
                    var shift: UInt8 = 0
                    for _ in 0..<4 {
                        for half16 in 0..<2 {
                            let dl = d * Float(Int(scales[scaleIndex]) - 32); scaleIndex += 1
                            for l in 0..<16 {
                                let idx = l + 16 * half16
                                let low = Int((byte(x, q + idx) >> shift) & 3)
                                let high = (byte(x, idx) & m) != 0 ? 0 : 4
                                out[o] = dl * Float(low - high)
                                o += 1
                            }
                        }
                        shift += 2
                        m <<= 1
                    }
                }
            }
        case .q4_K:
            for b in 0..<blocks {
                let x = src + b * 144, out = y + b * 256
                let d = half(x, 0), dmin = half(x, 2)
                var o = 0
                for (chunk, j) in stride(from: 0, to: 256, by: 64).enumerated() {
                    _ = j
                    let (sc1, m1) = scaleMinK4(2 * chunk, x + 4), (sc2, m2) = scaleMinK4(2 * chunk + 1, x + 4)
                    let d1 = d * Float(sc1), mm1 = dmin * Float(m1), d2 = d * Float(sc2), mm2 = dmin * Float(m2)
                    let q = 16 + 32 * chunk
                    for l in 0..<32 { out[o + l] = d1 * Float(byte(x, q + l) & 0x0F) - mm1 }
                    for l in 0..<32 { out[o + 32 + l] = d2 * Float(byte(x, q + l) >> 4) - mm2 }
                    o += 64
                }
            }
        case .q5_K:
            for b in 0..<blocks {
                let x = src + b * 176, out = y + b * 256
                let d = half(x, 0), dmin = half(x, 2)
                var o = 0
                var u1: UInt8 = 1, u2: UInt8 = 2
                for chunk in 0..<4 {
                    let (sc1, m1) = scaleMinK4(2 * chunk, x + 4), (sc2, m2) = scaleMinK4(2 * chunk + 1, x + 4)
                    let d1 = d * Float(sc1), mm1 = dmin * Float(m1), d2 = d * Float(sc2), mm2 = dmin * Float(m2)
                    let ql = 48 + 32 * chunk
                    for l in 0..<32 {
                        let h: UInt8 = (byte(x, 16 + l) & u1) != 0 ? 16 : 0
                        out[o + l] = d1 * Float((byte(x, ql + l) & 0x0F) + h) - mm1
                    }
                    for l in 0..<32 {
                        let h: UInt8 = (byte(x, 16 + l) & u2) != 0 ? 16 : 0
                        out[o + 32 + l] = d2 * Float((byte(x, ql + l) >> 4) + h) - mm2
                    }
                    o += 64
                    u1 <<= 2; u2 <<= 2
                }
            }
        case .q6_K:
            for b in 0..<blocks {
                let x = src + b * 210, out = y + b * 256
                let d = half(x, 208)
                for half128 in 0..<2 {
                    let ql = 64 * half128, qh = 128 + 32 * half128, sc = 192 + 8 * half128
                    let o = out + 128 * half128
                    for l in 0..<32 {
                        let s = l / 16
                        let h = byte(x, qh + l)
                        let q1 = Int(Int8(bitPattern: (byte(x, ql + l) & 0x0F) | ((h & 3) << 4))) - 32
                        let q2 = Int(Int8(bitPattern: (byte(x, ql + l + 32) & 0x0F) | (((h >> 2) & 3) << 4))) - 32
                        let q3 = Int(Int8(bitPattern: (byte(x, ql + l) >> 4) | (((h >> 4) & 3) << 4))) - 32
                        let q4 = Int(Int8(bitPattern: (byte(x, ql + l + 32) >> 4) | (((h >> 6) & 3) << 4))) - 32
                        func scale(_ k: Int) -> Float { Float(Int8(bitPattern: byte(x, sc + s + k))) }
                        o[l] = d * scale(0) * Float(q1)
                        o[l + 32] = d * scale(2) * Float(q2)
                        o[l + 64] = d * scale(4) * Float(q3)
                        o[l + 96] = d * scale(6) * Float(q4)
                    }
                }
            }
        }
    }

    /// ggml's get_scale_min_k4: 6-bit scale and min number j from the 12 packed bytes.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (UInt8, UInt8) {
        if j < 4 {
            return (byte(q, j) & 63, byte(q, j + 4) & 63)
        }
        return ((byte(q, j + 4) & 0x0F) | ((byte(q, j - 4) >> 6) << 4),
                (byte(q, j + 4) >> 4) | ((byte(q, j) >> 6) << 4))
    }

    /// Q3_K packs sixteen 6-bit scales into 12 bytes (low 4 bits, then high 2 bits).
    static func unpackQ3KScales(_ p: UnsafeRawPointer) -> [UInt8] {
        var aux = (0..<3).map { p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian }
        aux.append(0)
        let kmask1: UInt32 = 0x0303_0303, kmask2: UInt32 = 0x0f0f_0f0f
        let tmp = aux[2]
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4)
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4)
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4)
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4)
        var out: [UInt8] = []
        for w in aux { for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: w >> (8 * UInt32(k)))) } }
        return out
    }
}
