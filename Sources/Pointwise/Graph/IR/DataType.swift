/// Element types a graph value can have: float32 for activations and weights, int64 for
/// shape-like data (shapes, pads, axes, indices), which is computed when a model is planned.
public enum DataType: String, Sendable, Hashable, CustomStringConvertible {
    case float32
    case int64

    public var description: String { rawValue }

    /// Bytes per element.
    public var size: Int { self == .float32 ? 4 : 8 }
}
