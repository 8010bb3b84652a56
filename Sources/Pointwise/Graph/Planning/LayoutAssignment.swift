/// Chooses each value's memory layout and inserts layout conversions where a consumer needs
/// another: the engine runs feature maps in NHWC (a 1x1 convolution is then one GEMM on the
/// map itself) while the graph's semantics stay NCHW.
///
/// - Convolutions, pools, LRN and BatchNorm on 4-D maps read and write NHWC.
/// - Element-wise ops write the layout of their full-shape inputs (NHWC if any is), converting the
///   others; broadcast operands are read in whatever layout they have.
/// - Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Slice, Gather write natural (NCHW) order:
///   a copy where their NHWC input's element order differs, an alias where it does not.
/// - Gemm, MatMul and Softmax read natural order (converted if needed).
/// - Graph inputs arrive, and graph outputs leave, in the layout they declare.
/// A conversion is an `Identity` node between values of different layouts; an NHWC map whose
/// H·W or C is 1 has the same bytes in both layouts and never needs one.
enum LayoutAssignment {
    /// Returns the layout of every value (indexed by `ValueID.index`), `graph` with the conversion
    /// nodes added. Needs shapes (run `ShapeInference` first).
    static func run(_ graph: inout Graph) throws -> [Layout] {
        var layouts = [Layout](repeating: .natural, count: graph.values.count)
        for input in graph.inputs where (graph[input.value].shape?.count ?? 0) == 4 { layouts[input.value.index] = input.layout }
        var converted: [ValueID: [Layout: ValueID]] = [:]
        var nodes: [Node] = []
        nodes.reserveCapacity(graph.nodes.count)

        func shape(_ value: ValueID) -> [Int] { graph[value].shape ?? [] }
        func equivalent(_ value: ValueID, _ layout: Layout) -> Bool {
            let s = shape(value)
            return layouts[value.index] == layout || (s.count == 4 && (s[2] * s[3] == 1 || s[1] == 1))
        }
        /// `value` in `layout`, converting it (once) if needed.
        func inLayout(_ value: ValueID, _ layout: Layout) -> ValueID {
            if equivalent(value, layout) { return value }
            if let existing = converted[value]?[layout] { return existing }
            let name = graph.uniqueValueName("\(graph[value].name).\(layout.rawValue)")
            let id = graph.addValue(name, dataType: graph[value].dataType, shape: graph[value].shape)
            layouts.append(layout)
            nodes.append(Node(name: name, op: .identity, inputs: [value], outputs: [id]))
            converted[value, default: [:]][layout] = id
            return id
        }

        for var node in graph.nodes {
            let outputRank = node.outputs.first.map { shape($0).count } ?? 0
            var output: Layout = .natural
            switch node.op {
            case .conv:
                node.inputs[0] = inLayout(node.inputs[0]!, .nhwc)
                if node.inputs.count > 3, let residual = node.inputs[3] { node.inputs[3] = inLayout(residual, .nhwc) }
                output = .nhwc
            case .depthwiseChain:
                node.inputs[0] = inLayout(node.inputs[0]!, .nhwc)
                let slot = DepthwiseChainAttributes.residual
                if node.inputs.count > slot, let residual = node.inputs[slot] { node.inputs[slot] = inLayout(residual, .nhwc) }
                output = .nhwc
            case .batchNormalization, .lrn, .maxPool, .averagePool, .globalAveragePool, .globalMaxPool:
                if outputRank == 4 {
                    node.inputs[0] = inLayout(node.inputs[0]!, .nhwc)
                    output = .nhwc
                } else {
                    node.inputs[0] = inLayout(node.inputs[0]!, .natural)
                }
            case .activation, .binary, .sum, .clip:
                let full = node.inputs.indices.filter { node.inputs[$0].map { shape($0) == shape(node.output) && graph[$0].dataType == .float32 } ?? false }
                if outputRank == 4 && full.contains(where: { layouts[node.inputs[$0]!.index] == .nhwc }) { output = .nhwc }
                for i in full { node.inputs[i] = inLayout(node.inputs[i]!, output) }
            case .concat:
                let present = node.presentInputs
                if outputRank == 4 && present.contains(where: { layouts[$0.index] == .nhwc }) { output = .nhwc }
            case .pad, .identity, .cast:
                output = outputRank == 4 ? layouts[node.inputs[0]!.index] : .natural
            case .gemm, .matMul, .softmax:
                for i in node.inputs.indices { if let v = node.inputs[i] { node.inputs[i] = inLayout(v, .natural) } }
            case .flatten, .reshape, .squeeze, .unsqueeze, .transpose, .slice, .gather, .shape, .constant, .constantOfShape:
                output = .natural
            }
            nodes.append(node)
            for value in node.outputs { layouts[value.index] = shape(value).count == 4 ? output : .natural }
        }
        for index in graph.outputs.indices {
            let output = graph.outputs[index]
            if (graph[output.value].shape?.count ?? 0) == 4 && !equivalent(output.value, output.layout) {
                graph.outputs[index].value = inLayout(output.value, output.layout)
            }
        }
        graph.nodes = nodes
        return layouts
    }
}
