/// Layers run one after another: x -> the last layer's output.
public final class Sequential: Layer {
    public let layers: [Layer]
    public let execution = LayerExecution()

    public init(_ layers: [Layer]) throws {
        guard !layers.isEmpty else {
            throw PointwiseError.invalidArgument(name: "Sequential layers", value: "none", requirement: "at least one")
        }
        self.layers = layers
    }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        try layers.reduce(input) { try $1.emit($0, into: builder) }
    }
}

/// Parallel branches on one input, their outputs concatenated along channels:
/// x: [N, H, W, C] -> [N, H', W', C₁ + … + C_b]. A Concat node: the planner has each branch's
/// last operator write straight into its channel slice of the output (for a convolution, the
/// GEMM's ldc is the total channel count), so nothing is copied.
public final class ChannelConcat: Layer {
    public let branches: [Layer]
    public let name: String
    public let execution = LayerExecution()

    public init(_ branches: [Layer], name: String = "") throws {
        guard !branches.isEmpty else {
            throw PointwiseError.invalidArgument(name: "ChannelConcat branches", value: "none", requirement: "at least one")
        }
        self.branches = branches
        self.name = name
    }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        let outputs = try branches.map { try $0.emit(input, into: builder) }
        return builder.concat(outputs, axis: 1, name: name.isEmpty ? "concat" : name)
    }
}
