/// A value's identity in its graph: an index into `Graph.values`.
public struct ValueID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let index: Int

    init(_ index: Int) { self.index = index }

    public static func < (a: ValueID, b: ValueID) -> Bool { a.index < b.index }
    public var description: String { "%\(index)" }
}

/// A named tensor of a graph: a graph input, an initializer, or a node's output.
public struct Value: Sendable, Equatable {
    public var name: String
    public var dataType: DataType
    /// Logical (NCHW) shape, once known: declared for inputs, of the data for initializers,
    /// computed by `ShapeInference` for node outputs.
    public var shape: [Int]?

    public init(name: String, dataType: DataType = .float32, shape: [Int]? = nil) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
    }
}

/// How a tensor's elements are ordered in memory.
public enum Layout: String, Sendable, Hashable {
    /// Row-major in the logical dimensions: NCHW for images, as ONNX and PyTorch store them.
    case natural
    /// Rank 4 only: [N, C, H, W] stored as [N, H, W, C], the engine's layout for feature maps.
    case nhwc
}

/// A dimension of a declared input shape: a number, or a name bound when the graph runs
/// (ONNX `dim_param`, typically the batch).
public enum Dimension: Sendable, Hashable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    case fixed(Int)
    case symbolic(String)

    public init(integerLiteral value: Int) { self = .fixed(value) }

    public var description: String {
        switch self {
        case .fixed(let extent): return "\(extent)"
        case .symbolic(let name): return name
        }
    }
}

/// A graph input: its value, its declared shape, and the layout callers hand its data in.
public struct GraphInput: Sendable, Equatable {
    public var value: ValueID
    public var shape: [Dimension]
    public var layout: Layout
}

/// A graph output and the layout it is handed back in.
public struct GraphOutput: Sendable, Equatable {
    public var value: ValueID
    public var layout: Layout
}
