#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An element-wise activation with ONNX (and PyTorch) semantics. Standalone it is a graph node;
/// the activation-fusion pass moves it into the last pass of the operator before it
/// (a convolution's or GEMM's epilogue, a binary op, a BatchNorm), where it costs no extra pass.
///
/// Every activation propagates NaN (relu(NaN) = NaN), as PyTorch and ONNX Runtime do.
public enum Activation: Sendable, Hashable, CustomStringConvertible {
    case identity
    /// max(x, 0)
    case relu
    /// min(max(x, min), max): ONNX Clip, PyTorch's clamp / ReLU6 (`relu6`)
    case clip(min: Float, max: Float)
    /// x < 0 ? alpha·x : x
    case leakyRelu(alpha: Float)
    /// 1 / (1 + e^−x)
    case sigmoid
    /// max(0, min(1, alpha·x + beta))
    case hardSigmoid(alpha: Float, beta: Float)
    /// x · max(0, min(1, x/6 + 1/2))
    case hardSwish

    /// min(max(x, 0), 6), MobileNetV2's activation.
    public static let relu6 = Activation.clip(min: 0, max: 6)

    /// The reference definition, in Double: what every kernel is tested against.
    public func apply(_ x: Double) -> Double {
        if x.isNaN { return x }
        switch self {
        case .identity: return x
        case .relu: return x < 0 ? 0 : x
        case .clip(let low, let high): return Swift.min(Swift.max(x, Double(low)), Double(high))
        case .leakyRelu(let alpha): return x < 0 ? Double(alpha) * x : x
        case .sigmoid: return 1 / (1 + exp(-x))
        case .hardSigmoid(let alpha, let beta): return Swift.max(0, Swift.min(1, Double(alpha) * x + Double(beta)))
        case .hardSwish: return x * Swift.max(0, Swift.min(1, x / 6 + 0.5))
        }
    }

    /// `apply` on a Float (rounded once, at the end).
    public func apply(_ x: Float) -> Float { Float(apply(Double(x))) }

    /// ONNX's name for it.
    public var description: String {
        switch self {
        case .identity: return "Identity"
        case .relu: return "Relu"
        case .clip(0, 6): return "Relu6"
        case .clip(let low, let high): return "Clip(\(low), \(high))"
        case .leakyRelu(let alpha): return "LeakyRelu(\(alpha))"
        case .sigmoid: return "Sigmoid"
        case .hardSigmoid(let alpha, let beta): return "HardSigmoid(\(alpha), \(beta))"
        case .hardSwish: return "HardSwish"
        }
    }
}
