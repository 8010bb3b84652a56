/// Builds a `Graph` in Swift, node by node, the way PyTorch code reads:
///
///     let builder = GraphBuilder(name: "tiny")
///     let x = builder.input("x", shape: [.symbolic("N"), 3, 32, 32])
///     let c = try builder.conv(x, weight: w, bias: b, padding: 1, name: "conv")
///     let y = builder.add(builder.relu(c, name: "relu"), x, name: "residual")
///     builder.output(y)
///     let graph = try builder.build()
///
/// Values are NCHW, as in ONNX and PyTorch; weights use PyTorch's layouts. Node names are made
/// unique (a repeated name gets a suffix); each node's output value takes the node's name.
public final class GraphBuilder {
    public private(set) var graph: Graph
    private var usedNodeNames: Set<String> = []
    private var usedValueNames: Set<String> = []
    private var ranks: [ValueID: Int] = [:]

    public init(name: String) { graph = Graph(name: name) }

    /// The logical shape of `value` where the builder knows it (inputs with fixed dimensions,
    /// constants), else nil.
    public func shape(of value: ValueID) -> [Int]? { graph[value].shape }

    /// The rank of `value` where the builder can tell (inputs, constants, and what the
    /// convenience operators make from them), else nil.
    public func rank(of value: ValueID) -> Int? { ranks[value] ?? graph[value].shape?.count }

    private func outputRank(_ op: Operator, _ inputs: [ValueID?]) -> Int? {
        let inputRanks = inputs.compactMap { $0.flatMap(rank(of:)) }
        switch op {
        case .conv, .maxPool, .averagePool, .globalAveragePool, .globalMaxPool, .batchNormalization, .lrn,
             .identity, .softmax, .pad, .clip, .concat:
            return inputs.first.flatMap { $0.flatMap(rank(of:)) }
        case .activation, .binary, .sum:
            return inputRanks.count == inputs.compactMap({ $0 }).count ? inputRanks.max() : nil
        case .flatten, .gemm:
            return 2
        default:
            return nil
        }
    }

    /// Declares a graph input. `layout` is how callers hand its data over: `.nhwc` lets a caller
    /// that already holds NHWC data (the typed layers) skip the conversion.
    @discardableResult
    public func input(_ name: String, shape: [Dimension], dataType: DataType = .float32, layout: Layout = .natural) -> ValueID {
        let fixed = shape.allSatisfy { if case .fixed = $0 { return true } else { return false } }
        let id = graph.addValue(uniqueValueName(name), dataType: dataType,
                                shape: fixed ? shape.map { if case .fixed(let n) = $0 { return n } else { return 0 } } : nil)
        graph.inputs.append(GraphInput(value: id, shape: shape, layout: layout))
        ranks[id] = shape.count
        return id
    }

    /// A float32 constant (weights, biases, scales).
    @discardableResult
    public func constant(_ name: String, _ tensor: Tensor) -> ValueID {
        graph.addInitializer(uniqueValueName(name), .float32(tensor))
    }

    /// An int64 constant (shapes, axes, pads).
    @discardableResult
    public func constant(_ name: String, _ tensor: Int64Tensor) -> ValueID {
        graph.addInitializer(uniqueValueName(name), .int64(tensor))
    }

    /// Adds a node of any operator; returns its outputs (named `name`, `name:1`, …).
    @discardableResult
    public func node(_ op: Operator, _ inputs: [ValueID?], name: String, outputs: Int = 1,
                     outputType: DataType = .float32, parameterCount: Int = 0) -> [ValueID] {
        let nodeName = uniqueNodeName(name.isEmpty ? op.typeName : name)
        let outputIDs = (0..<outputs).map { index in
            graph.addValue(uniqueValueName(index == 0 ? nodeName : "\(nodeName):\(index)"), dataType: outputType)
        }
        graph.nodes.append(Node(name: nodeName, op: op, inputs: inputs, outputs: outputIDs, parameterCount: parameterCount))
        if let rank = outputRank(op, inputs) { ranks[outputIDs[0]] = rank }
        return outputIDs
    }

    /// Overrides the learnable-parameter count of node `index` (a constant affine map counts none).
    public func setParameterCount(_ count: Int, ofNode index: Int) { graph.nodes[index].parameterCount = count }

    /// Marks `value` as a graph output, handed back in `layout`.
    public func output(_ value: ValueID, layout: Layout = .natural) {
        graph.outputs.append(GraphOutput(value: value, layout: layout))
    }

    /// The graph, validated.
    public func build() throws -> Graph {
        try graph.validate()
        return graph
    }

    // MARK: Operators

    /// Conv2d with PyTorch's arguments and weight layout `[Cout, Cin/groups, KH, KW]`.
    public func conv(_ x: ValueID, weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1, padding: Padding2D = 0,
                     dilation: Size2D = 1, groups: Int = 1, name: String) throws -> ValueID {
        guard weight.rank == 4 else {
            throw PointwiseError.shapeMismatch(what: "weight rank of convolution '\(name)' ([Cout, Cin/groups, KH, KW])",
                                               expected: "4", actual: "\(weight.rank) (\(describe(weight.shape)))")
        }
        let w = constant("\(name).weight", weight)
        let b = bias.map { constant("\(name).bias", $0) }
        let attributes = ConvolutionAttributes(kernelShape: [weight.shape[2], weight.shape[3]],
                                               strides: [stride.height, stride.width],
                                               dilations: [dilation.height, dilation.width],
                                               pads: [padding.top, padding.left, padding.bottom, padding.right], group: groups)
        return node(.conv(attributes), [x, w, b], name: name, parameterCount: weight.count + (bias?.count ?? 0))[0]
    }

    /// Inference BatchNorm (PyTorch's `BatchNorm2d` in eval mode).
    public func batchNorm(_ x: ValueID, _ parameters: BatchNormParameters, name: String) throws -> ValueID {
        let c = parameters.channels
        let inputs = try [("weight", parameters.weight), ("bias", parameters.bias),
                          ("running_mean", parameters.runningMean), ("running_var", parameters.runningVar)].map {
            constant("\(name).\($0.0)", try Tensor(shape: [c], scalars: $0.1))
        }
        return node(.batchNormalization(epsilon: parameters.eps, activation: .identity), [x] + inputs, name: name,
                    parameterCount: 2 * c)[0]
    }

    /// `activation(x)`; the identity adds no node.
    public func activation(_ x: ValueID, _ activation: Activation, name: String) -> ValueID {
        activation == .identity ? x : node(.activation(activation), [x], name: name)[0]
    }

    public func relu(_ x: ValueID, name: String) -> ValueID { activation(x, .relu, name: name) }

    /// a op b with NumPy broadcasting.
    public func binary(_ op: BinaryOperator, _ a: ValueID, _ b: ValueID, name: String) -> ValueID {
        node(.binary(op, activation: .identity), [a, b], name: name)[0]
    }

    public func add(_ a: ValueID, _ b: ValueID, name: String) -> ValueID { binary(.add, a, b, name: name) }
    public func mul(_ a: ValueID, _ b: ValueID, name: String) -> ValueID { binary(.mul, a, b, name: name) }

    /// MaxPool2d / AvgPool2d with PyTorch's arguments (`stride` defaults to the kernel).
    public func pool(_ mode: Pool2D.Mode, _ x: ValueID, kernel: Size2D, stride: Size2D? = nil, padding: Padding2D = 0,
                     dilation: Size2D = 1, ceilMode: Bool = false, name: String) -> ValueID {
        let stride = stride ?? kernel
        var attributes = PoolingAttributes(kernelShape: [kernel.height, kernel.width], strides: [stride.height, stride.width],
                                           dilations: [dilation.height, dilation.width],
                                           pads: [padding.top, padding.left, padding.bottom, padding.right], ceilMode: ceilMode)
        switch mode {
        case .max:
            return node(.maxPool(attributes), [x], name: name)[0]
        case .average(let countIncludePad):
            attributes.countIncludePad = countIncludePad
            return node(.averagePool(attributes), [x], name: name)[0]
        }
    }

    public func globalAveragePool(_ x: ValueID, name: String) -> ValueID { node(.globalAveragePool, [x], name: name)[0] }

    /// Concatenation along `axis` (1: channels).
    public func concat(_ values: [ValueID], axis: Int = 1, name: String) -> ValueID {
        node(.concat(axis: axis), values, name: name)[0]
    }

    /// `torch.flatten(x, axis)`.
    public func flatten(_ x: ValueID, axis: Int = 1, name: String) -> ValueID { node(.flatten(axis: axis), [x], name: name)[0] }

    /// `Linear(in, out)`: x [N, in] -> [N, out], weight `[out, in]` (a Gemm with transB).
    public func linear(_ x: ValueID, weight: Tensor, bias: Tensor?, name: String) -> ValueID {
        let w = constant("\(name).weight", weight)
        let b = bias.map { constant("\(name).bias", $0) }
        return node(.gemm(GemmAttributes(transposeB: true)), [x, w, b], name: name,
                    parameterCount: weight.count + (bias?.count ?? 0))[0]
    }

    public func softmax(_ x: ValueID, axis: Int = -1, name: String) -> ValueID {
        node(.softmax(axis: axis, flattensTo2D: false), [x], name: name)[0]
    }

    // MARK: Names

    private func uniqueNodeName(_ base: String) -> String {
        var name = base
        var index = 1
        while usedNodeNames.contains(name) { name = "\(base)_\(index)"; index += 1 }
        usedNodeNames.insert(name)
        return name
    }

    private func uniqueValueName(_ base: String) -> String {
        var name = base
        var index = 1
        while usedValueNames.contains(name) { name = "\(base)_\(index)"; index += 1 }
        usedValueNames.insert(name)
        return name
    }
}
