/// Moves a standalone activation (Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish) into
/// the last pass of the node that produces its input: a convolution's or GEMM's epilogue, a
/// binary op, Sum or an unfolded BatchNorm. Applies when that node has no activation yet and
/// its output feeds only the activation (and is not a graph output).
public struct ActivationFusion: GraphPass {
    public let name = "activation fusion"

    public init() {}

    public func run(on graph: inout Graph) throws {
        let producers = graph.producers
        let consumers = graph.consumers
        var removed = Set<Int>()
        for (index, node) in graph.nodes.enumerated() {
            guard case .activation(let activation) = node.op, let x = node.input(0),
                  let producerIndex = producers[x], !removed.contains(producerIndex),
                  consumers[x]?.count == 1, !graph.isOutput(x),
                  graph.nodes[producerIndex].op.fusedActivation == .identity,
                  graph[x].dataType == .float32,
                  let fusedOp = graph.nodes[producerIndex].op.fusing(activation)
            else { continue }
            var fused = graph.nodes[producerIndex]
            fused.op = fusedOp
            fused.outputs = node.outputs
            fused.fusedNodes += [node.name] + node.fusedNodes
            // The producer takes the activation's place, after everything it reads.
            graph.nodes[index] = fused
            removed.insert(producerIndex)
        }
        graph.nodes = graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }
}
