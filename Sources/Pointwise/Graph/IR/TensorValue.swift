/// A graph's data: a float32 `Tensor` or an `Int64Tensor`. Initializers (weights, constants),
/// inputs and outputs of a graph are tensor values, in their logical (NCHW) element order.
public enum TensorValue: Sendable, Equatable {
    case float32(Tensor)
    case int64(Int64Tensor)

    public var shape: [Int] {
        switch self {
        case .float32(let tensor): return tensor.shape
        case .int64(let tensor): return tensor.shape
        }
    }

    public var dataType: DataType {
        switch self {
        case .float32: return .float32
        case .int64: return .int64
        }
    }

    public var count: Int {
        switch self {
        case .float32(let tensor): return tensor.count
        case .int64(let tensor): return tensor.count
        }
    }

    /// The float32 tensor, or nil for int64 data.
    public var floatTensor: Tensor? {
        if case .float32(let tensor) = self { return tensor }
        return nil
    }

    /// The int64 tensor, or nil for float32 data.
    public var int64Tensor: Int64Tensor? {
        if case .int64(let tensor) = self { return tensor }
        return nil
    }

    /// The values as Int (int64 data), or nil for float32 data.
    var integers: [Int]? { int64Tensor?.scalars.map { Int(truncatingIfNeeded: $0) } }

    /// The values as Double, whatever the type (for constant folding and tests).
    var doubles: [Double] {
        switch self {
        case .float32(let tensor): return tensor.scalars.map(Double.init)
        case .int64(let tensor): return tensor.scalars.map(Double.init)
        }
    }

    /// Bytes of data.
    public var byteCount: Int { count * dataType.size }
}
