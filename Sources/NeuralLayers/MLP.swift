import Kernels

/// Feed-forward block: fc2(act(fc1(x))).
public struct MLP: Sendable {
    public let fc1: Linear
    public let fc2: Linear
    public let activation: Activation
    public var inFeatures: Int { fc1.inFeatures }
    public var hidden: Int { fc1.outFeatures }
    public var outFeatures: Int { fc2.outFeatures }

    public init(_ store: ParameterStore, _ name: String, inFeatures: Int, hidden: Int, outFeatures: Int,
                activation: Activation, weightInit: Initializer? = nil, outputInit: Initializer? = nil) {
        fc1 = Linear(store, name + ".fc1", inFeatures: inFeatures, outFeatures: hidden, weightInit: weightInit)
        fc2 = Linear(store, name + ".fc2", inFeatures: hidden, outFeatures: outFeatures, weightInit: outputInit ?? weightInit)
        self.activation = activation
    }

    /// Saved for the backward pass: pre- and post-activation hidden values.
    public struct Activations {
        public let pre: UnsafeMutablePointer<Float>
        public let post: UnsafeMutablePointer<Float>
        public init(_ arena: Arena, rows: Int, hidden: Int) {
            pre = arena.floats(rows * hidden)
            post = arena.floats(rows * hidden)
        }
    }

    public func makeActivations(_ arena: Arena, rows: Int) -> Activations { Activations(arena, rows: rows, hidden: hidden) }

    public func forward(_ p: ParameterStore, _ x: UnsafePointer<Float>, rows: Int, _ a: Activations,
                        into y: UnsafeMutablePointer<Float>) {
        fc1.forward(p, x, rows: rows, into: a.pre)
        activationForward(activation, a.pre, a.post, count: rows * hidden)
        fc2.forward(p, a.post, rows: rows, into: y)
    }

    /// dx += ∂L/∂x when dx is given (dx = … with `overwriteDx`). `scratch` holds rows·hidden floats.
    public func backward(_ p: ParameterStore, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int, _ a: Activations,
                         dx: UnsafeMutablePointer<Float>?, overwriteDx: Bool = false, scratch: UnsafeMutablePointer<Float>) {
        fc2.backward(p, x: a.post, dy: dy, rows: rows, dx: scratch, overwriteDx: true)
        activationBackward(activation, x: a.pre, dy: scratch, dx: scratch, count: rows * hidden, accumulate: false)
        fc1.backward(p, x: x, dy: scratch, rows: rows, dx: dx, overwriteDx: overwriteDx)
    }
}

/// t ↦ Linear(SiLU(Linear(sinusoid₂₅₆(t)))) — DiT's / HunyuanVideo's `TimestepEmbedder`
/// (weights N(0, 0.02²), biases zero). `t` is the model timestep: σ·1000 here.
public struct TimestepEmbedder: Sendable {
    public let frequencyDim: Int
    public let mlp: MLP
    public var dim: Int { mlp.outFeatures }

    public init(_ store: ParameterStore, _ name: String, dim: Int, frequencyDim: Int = 256) {
        self.frequencyDim = frequencyDim
        mlp = MLP(store, name + ".mlp", inFeatures: frequencyDim, hidden: dim, outFeatures: dim,
                  activation: .silu, weightInit: .normal(std: 0.02))
    }

    public struct Activations {
        public let sinusoid: UnsafeMutablePointer<Float>
        public let mlp: MLP.Activations
        public let scratch: UnsafeMutablePointer<Float>
    }

    public func makeActivations(_ arena: Arena, batch: Int) -> Activations {
        Activations(sinusoid: arena.floats(batch * frequencyDim), mlp: mlp.makeActivations(arena, rows: batch),
                    scratch: arena.floats(batch * dim))
    }

    public func forward(_ p: ParameterStore, timesteps: UnsafePointer<Float>, batch: Int, _ a: Activations,
                        into y: UnsafeMutablePointer<Float>) {
        timestepSinusoid(timesteps, batch: batch, dim: frequencyDim, into: a.sinusoid)
        mlp.forward(p, a.sinusoid, rows: batch, a.mlp, into: y)
    }

    /// Parameter gradients only (timesteps are inputs, not trained).
    public func backward(_ p: ParameterStore, dy: UnsafePointer<Float>, batch: Int, _ a: Activations) {
        mlp.backward(p, x: a.sinusoid, dy: dy, rows: batch, a.mlp, dx: nil, scratch: a.scratch)
    }
}
