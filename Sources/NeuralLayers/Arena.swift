import Foundation

/// Owner of a workspace's buffers (activations saved for the backward pass, gradient scratch).
/// Buffers are allocated once, 64-byte aligned and zero-filled, when a workspace is built, and
/// freed together when the arena goes away; nothing is allocated in the training loop.
public final class Arena {
    private var blocks: [UnsafeMutableRawPointer] = []
    /// Bytes handed out so far.
    public private(set) var byteCount = 0

    public init() {}

    deinit { for b in blocks { free(b) } }

    public func floats(_ n: Int) -> UnsafeMutablePointer<Float> {
        raw(max(n, 1) * MemoryLayout<Float>.stride).bindMemory(to: Float.self, capacity: max(n, 1))
    }

    public func bytes(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        raw(max(n, 1)).bindMemory(to: UInt8.self, capacity: max(n, 1))
    }

    private func raw(_ bytes: Int) -> UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        let rounded = (bytes + 63) / 64 * 64
        guard posix_memalign(&p, 64, rounded) == 0, let p else { fatalError("out of memory allocating \(bytes) bytes") }
        memset(p, 0, rounded)
        blocks.append(p)
        byteCount += rounded
        return p
    }
}
