import Foundation
import Kernels

/// Where one named parameter tensor lives in a `ParameterStore`'s flat buffers.
public struct ParameterRef: Hashable, Sendable {
    /// Position in `ParameterStore.entries`.
    public let index: Int
    /// First element in the flat value/gradient buffers.
    public let offset: Int
    public let count: Int
}

/// How a parameter tensor starts out. Every initializer is a pure function of (seed, entry index),
/// so a model is bit-identical for a seed whatever the thread count or declaration of other models.
public enum Initializer: Equatable, Sendable, Codable {
    case zeros
    case ones
    case constant(Float)
    /// N(0, std²)
    case normal(std: Float)
    /// U(−bound, bound)
    case uniform(bound: Float)
    /// Glorot/Xavier uniform: U(±sqrt(6 / (fanIn + fanOut))) — DiT's `nn.init.xavier_uniform_`.
    case xavierUniform(fanIn: Int, fanOut: Int)
}

/// All trainable parameters of a model in one flat Float buffer, with a gradient buffer of the same
/// layout (llm.c's `params_memory` / `grads_memory`), plus names and shapes for checkpoints.
///
/// Usage: layers `declare` their tensors while the model is built, then the owner calls
/// `finalize(seed:)`, which allocates both buffers and initialises the values. Layers keep only
/// `ParameterRef`s and look pointers up at call time (`value(_:)`, `gradient(_:)`), so the store can
/// be shared by several networks (the prompt encoder's refiners and the DiT live in one store).
/// An optimizer can run over `values`/`gradients` as single arrays of `count` floats.
public final class ParameterStore {
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public let count: Int
        public let initializer: Initializer
        /// Whether decoupled weight decay should apply: true for matrices, false for biases,
        /// norm weights and other vectors (the usual AdamW grouping).
        public let decays: Bool
    }

    public private(set) var entries: [Entry] = []
    private var indexByName: [String: Int] = [:]
    /// Total number of floats.
    public private(set) var count = 0
    private var valueStorage: UnsafeMutablePointer<Float>?
    private var gradientStorage: UnsafeMutablePointer<Float>?

    public init() {}

    deinit {
        valueStorage?.deallocate()
        gradientStorage?.deallocate()
    }

    public var isFinalized: Bool { valueStorage != nil }

    /// Registers a tensor. Names must be unique; shapes are row-major (a Linear weight is [out, in]).
    @discardableResult
    public func declare(_ name: String, shape: [Int], initializer: Initializer, decays: Bool? = nil) -> ParameterRef {
        precondition(!isFinalized, "declare \(name): the store is already finalized")
        precondition(indexByName[name] == nil, "duplicate parameter name \(name)")
        let n = shape.reduce(1, *)
        precondition(n > 0, "parameter \(name) has no elements")
        let entry = Entry(name: name, shape: shape, offset: count, count: n, initializer: initializer,
                          decays: decays ?? (shape.count >= 2))
        indexByName[name] = entries.count
        entries.append(entry)
        count += n
        return ParameterRef(index: entries.count - 1, offset: entry.offset, count: n)
    }

    /// Allocates the value and gradient buffers (gradients zero) and initialises every tensor.
    public func finalize(seed: UInt64) {
        precondition(!isFinalized, "finalize called twice")
        let n = max(count, 1)
        valueStorage = .allocate(capacity: n)
        valueStorage!.initialize(repeating: 0, count: n)
        gradientStorage = .allocate(capacity: n)
        gradientStorage!.initialize(repeating: 0, count: n)
        initialize(seed: seed)
    }

    /// (Re)initialises every tensor from its initializer.
    public func initialize(seed: UInt64) {
        for i in entries.indices { initialize(entry: i, seed: seed) }
    }

    func initialize(entry i: Int, seed: UInt64) {
        let e = entries[i]
        let p = values + e.offset
        // One Philox stream per tensor: key = seed, counter space split by entry index.
        var rng = RandomGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) &* 0xD1B5_4A32_D192_ED03)
        let buffer = UnsafeMutableBufferPointer(start: p, count: e.count)
        switch e.initializer {
        case .zeros: buffer.update(repeating: 0)
        case .ones: buffer.update(repeating: 1)
        case .constant(let c): buffer.update(repeating: c)
        case .normal(let std):
            rng.fillNormal(buffer)
            for j in 0..<e.count { p[j] *= std }
        case .uniform(let bound):
            rng.fillUniform(buffer)
            for j in 0..<e.count { p[j] = (2 * p[j] - 1) * bound }
        case .xavierUniform(let fanIn, let fanOut):
            let bound = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
            rng.fillUniform(buffer)
            for j in 0..<e.count { p[j] = (2 * p[j] - 1) * bound }
        }
    }

    /// The flat parameter buffer (`count` floats).
    public var values: UnsafeMutablePointer<Float> {
        precondition(isFinalized, "ParameterStore used before finalize(seed:)")
        return valueStorage!
    }

    /// The flat gradient buffer (`count` floats); backward passes accumulate into it.
    public var gradients: UnsafeMutablePointer<Float> {
        precondition(isFinalized, "ParameterStore used before finalize(seed:)")
        return gradientStorage!
    }

    @inline(__always) public func value(_ r: ParameterRef) -> UnsafeMutablePointer<Float> { values + r.offset }
    @inline(__always) public func gradient(_ r: ParameterRef) -> UnsafeMutablePointer<Float> { gradients + r.offset }

    public func zeroGradients() {
        gradients.update(repeating: 0, count: count)
    }

    public func entry(named name: String) -> Entry? { indexByName[name].map { entries[$0] } }
    public func ref(named name: String) -> ParameterRef? {
        indexByName[name].map { ParameterRef(index: $0, offset: entries[$0].offset, count: entries[$0].count) }
    }

    /// A copy of one tensor's values.
    public func tensor(named name: String) -> Tensor? {
        guard let e = entry(named: name) else { return nil }
        return Tensor(shape: e.shape, data: Array(UnsafeBufferPointer(start: values + e.offset, count: e.count)))
    }

    /// Overwrites one tensor (checkpoint loading). Returns false when the name is unknown or the
    /// element count differs.
    @discardableResult
    public func setTensor(named name: String, _ data: [Float]) -> Bool {
        guard let e = entry(named: name), e.count == data.count else { return false }
        data.withUnsafeBufferPointer { (values + e.offset).update(from: $0.baseAddress!, count: e.count) }
        return true
    }

    /// Copies all values from a store with the same layout (e.g. into an EMA copy).
    public func copyValues(from other: ParameterStore) {
        precondition(other.count == count && other.entries.map(\.name) == entries.map(\.name), "layouts differ")
        values.update(from: other.values, count: count)
    }

    /// A new store with the same entries and copied values (gradients zero).
    public func clone() -> ParameterStore {
        let s = ParameterStore()
        for e in entries { s.declare(e.name, shape: e.shape, initializer: e.initializer, decays: e.decays) }
        s.finalize(seed: 0)
        s.values.update(from: values, count: count)
        return s
    }

    /// Whether an element belongs to a tensor that decays: `mask[i] = 1` for decaying elements.
    public func decayMask() -> [Float] {
        var m = [Float](repeating: 0, count: count)
        for e in entries where e.decays { for j in e.offset..<(e.offset + e.count) { m[j] = 1 } }
        return m
    }

    /// Squared L2 norm of the gradient buffer, in Double.
    public func gradientNormSquared() -> Double { sumOfSquares(gradients, count: count) }
}
