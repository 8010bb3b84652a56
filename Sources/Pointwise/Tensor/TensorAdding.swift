extension Tensor {
    /// Element-wise residual add with an optional activation: act(self + other), same shapes.
    ///
    /// Blocks do not call this: they fuse the residual into their last convolution (the
    /// shortcut is written to the output first, then the GEMM accumulates onto it with
    /// beta = 1). This is the standalone operator, for models and tests.
    public func adding(_ other: Tensor, activation: Activation = .identity) throws -> Tensor {
        guard shape == other.shape else {
            throw PointwiseError.shapeMismatch(what: "residual add operand shapes", expected: describe(shape),
                                               actual: describe(other.shape))
        }
        var y = self
        y.scalars.withUnsafeMutableBufferPointer { out in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<out.count { out[i] = activation.apply(out[i] + b[i]) }
            }
        }
        return y
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a pointer to the array's elements, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): return array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Float {
    @inline(__always) func exp() -> Float { expf(self) }
}
