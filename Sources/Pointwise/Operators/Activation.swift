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
        case .relu: return max(x, 0)
        case .relu6: return min(max(x, 0), 6)
        }
    }
}
