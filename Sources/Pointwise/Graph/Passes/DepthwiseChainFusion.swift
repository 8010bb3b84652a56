/// Fuses a depthwise convolution with the 1x1 convolution that reads it, and with the 1x1
/// convolution that feeds it when there is one, into one `depthwiseChain` node: MobileNetV2's
/// inverted residual (expand → depthwise → project, with its residual add already fused) and
/// MobileNetV1's depthwise → pointwise pair. Its kernel runs the stages a band of output rows at a
/// time, so the expanded map (MobileNetV2's first is 112×112×96, 4.6 MiB at batch 1) is never
/// written out whole and read back.
///
/// Legal when the 1x1 convolutions have stride 1, no padding and one group, the depthwise one has
/// group = channels (any kernel, stride, padding, dilation), every weight and bias is a constant,
/// neither intermediate map is read by anything else or is a graph output, and only the last stage
/// has a residual. Needs shapes: run after `ShapeInference` (and after the activation and
/// residual fusions, whose results it carries along).
public struct DepthwiseChainFusion: GraphPass {
    public let name = "depthwise chain fusion"

    public init() {}

    public func run(on graph: inout Graph) throws {
        let producers = graph.producers
        let consumers = graph.consumers
        var removed = Set<Int>()
        func constant(_ value: ValueID?) -> Bool { value.map { graph.initializers[$0]?.floatTensor != nil } ?? true }
        func shape(_ value: ValueID?) -> [Int]? { value.flatMap { graph[$0].shape } }
        /// The node producing `value` when `value` is read by one node only and is an intermediate.
        func soleProducer(_ value: ValueID) -> Int? {
            guard let producer = producers[value], !removed.contains(producer), consumers[value]?.count == 1,
                  !graph.isOutput(value), graph[value].dataType == .float32, graph.nodes[producer].outputs.count == 1
            else { return nil }
            return producer
        }
        /// A 1x1, stride-1, unpadded, ungrouped convolution on constant weights.
        func pointwise(_ node: Node) -> ConvolutionAttributes? {
            guard case .conv(let a) = node.op, a.group == 1, a.strides.allSatisfy({ $0 == 1 }), a.pads.allSatisfy({ $0 == 0 }),
                  a.autoPad == .notSet || a.autoPad == .valid, let w = shape(node.input(1)), w.count == 4, w[2] == 1, w[3] == 1,
                  constant(node.input(1)), node.input(1) != nil, constant(node.input(2)), shape(node.input(0))?.count == 4
            else { return nil }
            return a
        }

        for (index, node) in graph.nodes.enumerated() where !removed.contains(index) {
            guard let project = pointwise(node), let d = node.input(0), let depthwiseIndex = soleProducer(d) else { continue }
            let depthwiseNode = graph.nodes[depthwiseIndex]
            guard case .conv(let depthwise) = depthwiseNode.op, !depthwise.hasResidual,
                  let x = depthwiseNode.input(0), let xShape = shape(x), xShape.count == 4,
                  let w = shape(depthwiseNode.input(1)), w.count == 4, w[1] == 1, depthwise.group == w[0], xShape[1] == w[0],
                  depthwiseNode.input(1) != nil, constant(depthwiseNode.input(1)), constant(depthwiseNode.input(2)),
                  shape(node.output) != nil
            else { continue }
            // The expansion, when the depthwise map comes from a 1x1 convolution read by nothing else.
            var expandNode: Node?
            var expand: ConvolutionAttributes?
            if let e = soleProducer(x), let a = pointwise(graph.nodes[e]), !a.hasResidual {
                expandNode = graph.nodes[e]
                expand = a
                removed.insert(e)
            }
            removed.insert(depthwiseIndex)
            let first = expandNode ?? depthwiseNode
            let stages = [expandNode, depthwiseNode, node].compactMap { $0 }
            var inputs: [ValueID?] = [expandNode?.input(0) ?? x, expandNode?.input(1), expandNode?.input(2),
                                      depthwiseNode.input(1), depthwiseNode.input(2), node.input(1), node.input(2)]
            if project.hasResidual { inputs.append(node.input(3)) }
            graph.nodes[index] = Node(name: first.name, op: .depthwiseChain(DepthwiseChainAttributes(expand: expand, depthwise: depthwise, project: project,
                                                                                   parameterCounts: stages.map(\.parameterCount))),
                                      inputs: inputs, outputs: node.outputs,
                                      parameterCount: stages.reduce(0) { $0 + $1.parameterCount },
                                      fusedNodes: first.fusedNodes + stages.dropFirst().flatMap { [$0.name] + $0.fusedNodes })
        }
        graph.nodes = graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }
}
