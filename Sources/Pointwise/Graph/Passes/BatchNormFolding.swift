/// Folds an inference BatchNormalization into the convolution before it:
/// W'[o, …] = W[o, …]·s_o and B'[o] = (B[o] − mean_o)·s_o + β_o with s_o = γ_o / √(var_o + ε),
/// computed in Double so folding adds no rounding beyond the final Float conversion.
///
/// Applies when the convolution's output feeds only the BatchNorm (and is not a graph output),
/// has no fused activation or residual yet, and weights, bias and statistics are initializers.
public struct BatchNormFolding: GraphPass {
    public let name = "BatchNorm folding"

    public init() {}

    public func run(on graph: inout Graph) throws {
        let producers = graph.producers
        let consumers = graph.consumers
        var removed = Set<Int>()
        for (index, node) in graph.nodes.enumerated() {
            guard case .batchNormalization(let epsilon, let activation) = node.op,
                  let x = node.input(0), let convIndex = producers[x], !removed.contains(convIndex),
                  consumers[x]?.count == 1, !graph.isOutput(x),
                  case .conv(var attributes) = graph.nodes[convIndex].op,
                  attributes.activation == .identity, !attributes.hasResidual,
                  let weightID = graph.nodes[convIndex].input(1), let weight = graph.initializers[weightID]?.floatTensor,
                  weight.rank >= 1
            else { continue }
            let conv = graph.nodes[convIndex]
            let bias = conv.input(2).flatMap { graph.initializers[$0]?.floatTensor }
            if conv.input(2) != nil && bias == nil { continue }
            let parameters = (1...4).map { node.input($0).flatMap { graph.initializers[$0]?.floatTensor } }
            guard parameters.allSatisfy({ $0 != nil }) else { continue }
            let statistics = try BatchNormParameters(weight: parameters[0]!.scalars, bias: parameters[1]!.scalars,
                                                     runningMean: parameters[2]!.scalars, runningVar: parameters[3]!.scalars,
                                                     eps: epsilon)
            guard statistics.channels == weight.shape[0] else { continue }
            let folded = try statistics.fold(weight: weight, bias: bias)
            let newWeight = graph.addInitializer(graph.uniqueValueName("\(conv.name).weight.folded"), .float32(folded.weight))
            let newBias = graph.addInitializer(graph.uniqueValueName("\(conv.name).bias.folded"), .float32(folded.bias))
            attributes.activation = activation
            var fused = conv
            fused.op = .conv(attributes)
            fused.inputs = [conv.inputs[0], newWeight, newBias]
            fused.outputs = node.outputs
            fused.parameterCount += node.parameterCount
            fused.fusedNodes += [node.name] + node.fusedNodes
            // The convolution takes the BatchNorm's place (its inputs are all earlier).
            graph.nodes[index] = fused
            removed.insert(convIndex)
        }
        graph.nodes = graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        try DeadNodeElimination().run(on: &graph)
    }
}
