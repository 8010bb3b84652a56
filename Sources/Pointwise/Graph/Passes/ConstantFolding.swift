/// Replaces every node whose result is known when the model is planned by an initializer
/// holding that result, computed by the reference interpreter: nodes whose inputs are all
/// constants, and `Shape` of a value whose shape is known (so `Shape → Gather → Concat →
/// Reshape` chains become a constant target shape). Also turns parameters given as constant
/// inputs into attributes: Clip's min and max, Pad's pads and value, Squeeze's and
/// Unsqueeze's axes.
public struct ConstantFolding: GraphPass {
    public let name = "constant folding"

    /// Results larger than this many elements are left to run (folding would hold them in memory twice).
    static let elementLimit = 1 << 24

    public init() {}

    /// Operators that compute plan-time data (shapes, indices), never activations.
    static func isPlanTimeOperator(_ op: Operator) -> Bool {
        switch op {
        case .constant, .shape, .gather, .cast, .slice, .constantOfShape: return true
        default: return false
        }
    }

    /// The product of `shape`'s extents with zeros counted as 1 (nil on overflow): what the reference
    /// interpreter's loops visit, an empty [5·10¹¹, 0, 0] MatMul included.
    static func extentProduct(_ shape: [Int]) -> Int? {
        var product = 1
        for extent in shape {
            let (p, overflow) = product.multipliedReportingOverflow(by: max(extent, 1))
            if overflow { return nil }
            product = p
        }
        return product
    }

    public func run(on graph: inout Graph) throws {
        var kept: [Node] = []
        kept.reserveCapacity(graph.nodes.count)
        for var node in graph.nodes {
            canonicalise(&node, graph)
            let inputs = node.inputs.map { $0.flatMap { graph.initializers[$0] } }
            let allConstant = node.presentInputs.allSatisfy { graph.initializers[$0] != nil }
            var isShapeOfKnown = false
            if case .shape = node.op, let input = node.input(0), graph[input].shape != nil { isShapeOfKnown = true }
            guard (allConstant || isShapeOfKnown), !graph.isInput(node.output) else {
                kept.append(node)
                continue
            }
            let shapes = node.inputs.map { $0.flatMap { graph[$0].shape ?? graph.initializers[$0]?.shape } }
            // The output size before anything is computed: a ConstantOfShape or Expand of absurd
            // dimensions must not allocate (an invalid node is left for ShapeInference to report).
            guard let inferred = try? ShapeInference.infer(node.op, shapes: shapes, types: inputs.map { $0?.dataType }, data: inputs),
                  inferred.allSatisfy({ Self.extentProduct($0.shape).map { $0 <= Self.elementLimit } ?? false }) else {
                kept.append(node)
                continue
            }
            let results: [TensorValue]
            do {
                results = try ReferenceInterpreter.evaluate(node, inputs: inputs, shapes: shapes)
            } catch let error as PointwiseError {
                throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)) on constant inputs: \(error)")
            }
            for (output, result) in zip(node.outputs, results) {
                graph.initializers[output] = result
                graph[output].shape = result.shape
                graph[output].dataType = result.dataType
            }
        }
        graph.nodes = kept
    }

    /// Moves parameters given as constant inputs into the operator's attributes.
    private func canonicalise(_ node: inout Node, _ graph: Graph) {
        func constant(_ index: Int) -> TensorValue? { node.input(index).flatMap { graph.initializers[$0] } }
        func absent(_ index: Int) -> Bool { node.input(index) == nil }
        switch node.op {
        case .clip:
            let low = constant(1), high = constant(2)
            guard (absent(1) || low != nil) && (absent(2) || high != nil) else { return }
            let min = low?.floatTensor?.scalars.first ?? -.infinity
            let max = high?.floatTensor?.scalars.first ?? .infinity
            guard low?.count ?? 1 == 1, high?.count ?? 1 == 1 else { return }
            node.op = .activation(min == 0 && max == .infinity ? .relu : .clip(min: min, max: max))
            node.inputs = [node.inputs[0]]
        case .pad(var a) where a.pads == nil:
            guard constant(1) != nil, absent(2) || constant(2) != nil, absent(3) || constant(3) != nil,
                  let rank = node.input(0).flatMap({ graph[$0].shape?.count }),
                  let pads = try? ShapeInference.padAmounts(a, data: node.inputs.map { $0.flatMap { graph.initializers[$0] } }, rank: rank)
            else { return }
            a.pads = pads
            if a.value == nil { a.value = constant(2)?.floatTensor?.scalars.first ?? 0 }
            node.op = .pad(a)
            node.inputs = [node.inputs[0]]
        case .squeeze(nil):
            guard let axes = constant(1)?.integers else { return }
            node.op = .squeeze(axes: axes)
            node.inputs = [node.inputs[0]]
        case .unsqueeze(nil):
            guard let axes = constant(1)?.integers else { return }
            node.op = .unsqueeze(axes: axes)
            node.inputs = [node.inputs[0]]
        default:
            return
        }
    }
}
