import Testing
@testable import Pointwise

/// The engine's outputs against the reference interpreter's on the same graph and inputs:
/// the largest normalised error over all outputs (inputs and outputs in natural NCHW order).
func engineError(_ graph: Graph, _ inputs: [String: TensorValue], options: CompileOptions = CompileOptions(),
                 sourceLocation: SourceLocation = #_sourceLocation) throws -> Double {
    // The session takes and gives NHWC-declared values as [N, H, W, C]; the reference works in NCHW.
    var physical = inputs
    for input in graph.inputs where input.layout == .nhwc {
        let name = graph[input.value].name
        if case .float32(let t)? = inputs[name] { physical[name] = .float32(try Tensor(nchw: t)) }
    }
    var engine = try InferenceSession(graph, options: options).run(physical)
    for output in graph.outputs where output.layout == .nhwc {
        let name = graph[output.value].name
        if case .float32(let t)? = engine[name], t.rank == 4 { engine[name] = .float32(try t.nchw()) }
    }
    let reference = try ReferenceInterpreter.run(graph, inputs: inputs)
    var worst = 0.0
    for (name, expected) in reference {
        let actual = try #require(engine[name], "output \(name) missing", sourceLocation: sourceLocation)
        switch (actual, expected) {
        case (.float32(let a), .float32(let b)):
            #expect(a.shape == b.shape, "\(name)", sourceLocation: sourceLocation)
            worst = max(worst, try Reference.normalizedError(a, b))
        case (.int64(let a), .int64(let b)):
            #expect(a == b, "\(name)", sourceLocation: sourceLocation)
        default:
            Issue.record("output \(name): types differ", sourceLocation: sourceLocation)
        }
    }
    return worst
}

/// Random float inputs for every float graph input (natural layout), seeded.
func randomInputs(_ graph: Graph, shapes: [String: [Int]], seed: UInt64 = 1) throws -> [String: TensorValue] {
    var inputs: [String: TensorValue] = [:]
    for (index, input) in graph.inputs.enumerated() {
        let name = graph[input.value].name
        let shape = try #require(shapes[name])
        inputs[name] = .float32(try Tensor(randomUniform: shape, seed: seed + UInt64(index)))
    }
    return inputs
}

/// A graph after `passes` (shapes bound first when given).
func applying(_ passes: [any GraphPass], to graph: Graph, shapes: [[Int]]? = nil) throws -> Graph {
    var g = graph
    if let shapes { try g.bindInputShapes(shapes) }
    try GraphPipeline.run(passes, on: &g)
    return g
}

/// Seeded random weights.
func weights(_ shape: [Int], seed: UInt64, scale: Float = 0.5) throws -> Tensor {
    try Tensor(randomUniform: shape, in: -scale...scale, seed: seed)
}
