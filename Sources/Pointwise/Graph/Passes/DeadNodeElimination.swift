/// Removes nodes none of whose outputs reach a graph output, and initializers nothing reads.
public struct DeadNodeElimination: GraphPass {
    public let name = "dead-node removal"

    public init() {}

    public func run(on graph: inout Graph) throws {
        var live = Set(graph.outputs.map(\.value))
        var kept: [Node] = []
        for node in graph.nodes.reversed() where node.outputs.contains(where: live.contains) {
            kept.append(node)
            live.formUnion(node.presentInputs)
        }
        graph.nodes = kept.reversed()
        graph.initializers = graph.initializers.filter { live.contains($0.key) }
    }
}
