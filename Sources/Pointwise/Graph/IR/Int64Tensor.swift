/// A dense, row-major array of `Int64` with a shape: shape-like data (an ONNX `Reshape`'s
/// target shape, `Pad`'s pads, `Squeeze`'s axes) given to or computed by a graph.
public struct Int64Tensor: Sendable, Equatable {
    public let shape: [Int]
    public var scalars: [Int64]

    /// Throws when a dimension is negative or the count does not match the shape.
    public init(shape: [Int], scalars: [Int64]) throws {
        let expected = try Tensor.elementCount(of: shape)
        guard scalars.count == expected else {
            throw PointwiseError.shapeMismatch(what: "element count for shape \(describe(shape))",
                                               expected: "\(expected)", actual: "\(scalars.count)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A rank-1 tensor of `values`.
    public init(_ values: [Int64]) {
        shape = [values.count]
        scalars = values
    }

    /// A rank-1 tensor of `values`.
    public init(_ values: [Int]) { self.init(values.map(Int64.init)) }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }
}
