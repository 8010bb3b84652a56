/// Which kernel an operator runs.
public enum KernelPath: Sendable, Equatable {
    /// The fast path: SGEMM lowering or the vectorised direct kernel.
    case lowered
    /// The naive loop with Double accumulation, as a baseline for benchmarks.
    case naive
}

extension Layer {
    /// Switches every convolution and linear layer inside this one to `path`.
    public func setKernelPath(_ path: KernelPath) {
        for layer in allLayers {
            (layer as? Conv2D)?.kernelPath = path
            (layer as? Linear)?.kernelPath = path
        }
    }
}

/// The activation fused into an operator's epilogue.
public enum Activation: String, Sendable, CaseIterable {
    case identity
    /// max(x, 0)
    case relu
    /// min(max(x, 0), 6), MobileNetV2's activation
    case relu6

    @inline(__always)
    func apply(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .relu: return Self.relu(x)
        case .relu6: return Self.relu6(x)
        }
    }

    /// Written as comparisons, which vectorise (Swift's `max` orders NaN specially and does not).
    @inline(__always) static func relu(_ x: Float) -> Float { x > 0 ? x : 0 }
    @inline(__always) static func relu6(_ x: Float) -> Float { x > 6 ? 6 : (x > 0 ? x : 0) }
}
