/// Turns `Add(conv(x), r)` into a convolution that accumulates onto r: the GEMM runs with
/// beta = 1 on an output buffer that already holds r (the memory plan lets it be r's own
/// buffer when r is not needed afterwards, so not even a copy is made). The Add's activation
/// becomes the convolution's.
///
/// Legal when the convolution has no activation or residual yet (an activation before the add
/// cannot be moved after it), its output feeds only the Add (and is not a graph output), and
/// both operands have the same shape (no broadcasting). Needs shapes: run after `ShapeInference`.
public struct ResidualAddFusion: GraphPass {
    public let name = "residual-add fusion"

    public init() {}

    public func run(on graph: inout Graph) throws {
        let producers = graph.producers
        let consumers = graph.consumers
        var removed = Set<Int>()
        for (index, node) in graph.nodes.enumerated() {
            let activation: Activation
            switch node.op {
            case .binary(.add, let a): activation = a
            case .sum(let a) where node.inputs.count == 2: activation = a
            default: continue
            }
            guard node.inputs.count == 2, let a = node.inputs[0], let b = node.inputs[1], a != b,
                  let shape = graph[node.output].shape, graph[a].shape == shape, graph[b].shape == shape,
                  graph[node.output].dataType == .float32
            else { continue }
            func eligible(_ value: ValueID) -> Int? {
                guard let producer = producers[value], !removed.contains(producer),
                      consumers[value]?.count == 1, !graph.isOutput(value),
                      case .conv(let attributes) = graph.nodes[producer].op,
                      attributes.activation == .identity, !attributes.hasResidual
                else { return nil }
                return producer
            }
            guard let (convIndex, residual) = eligible(a).map({ ($0, b) }) ?? eligible(b).map({ ($0, a) }) else { continue }
            var conv = graph.nodes[convIndex]
            guard case .conv(var attributes) = conv.op else { continue }
            attributes.hasResidual = true
            attributes.activation = activation
            conv.op = .conv(attributes)
            conv.inputs = Array(conv.inputs.prefix(3)) + Array(repeating: nil, count: max(0, 3 - conv.inputs.count)) + [residual]
            conv.outputs = node.outputs
            conv.fusedNodes += [node.name] + node.fusedNodes
            // The convolution moves to the Add's place: the residual may be computed after the convolution was.
            graph.nodes[index] = conv
            removed.insert(convIndex)
        }
        graph.nodes = graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }
}
