import Synchronization

/// A graph ready to run, from any number of threads at once (ONNX Runtime's `InferenceSession`).
///
/// Made once: the graph is validated and its shape-independent passes run (constant folding,
/// BatchNorm folding, activation fusion). Each new set of input shapes compiles an
/// `ExecutionPlan` (shape inference, the shape-dependent passes, layouts, kernels with packed
/// weights, a memory plan), cached by shape: a plan only ever runs on the shapes it was made for.
/// Each call takes an execution context (arena) from its plan's pool, so concurrent calls never
/// share memory, and a thread's steady-state call allocates nothing.
///
///     let session = try InferenceSession(graph)
///     let y = try session(x)                    // one float input and output
///     try session.run(x, into: &y)              // the same, writing into y: no allocation
///     let outputs = try session.run(["x": .float32(x)])
///
/// Tensors are handed over in the layout the graph declares for its inputs and outputs: NCHW
/// (natural) for imported models, NHWC for the typed layers (`Tensor` shape [N, H, W, C]).
public final class InferenceSession: Sendable {
    /// The graph as given.
    public let graph: Graph
    /// The graph after the shape-independent passes.
    public let prepared: Graph
    public let options: CompileOptions
    private let plans = Mutex<[ExecutionPlan]>([])

    public init(_ graph: Graph, options: CompileOptions = CompileOptions()) throws {
        try graph.validate()
        guard !graph.outputs.isEmpty else { throw PointwiseError.invalidGraph("'\(graph.name)' has no outputs") }
        var prepared = graph
        try GraphPipeline.run(GraphPipeline.preparation, on: &prepared)
        self.graph = graph
        self.prepared = prepared
        self.options = options
    }

    public var inputNames: [String] { graph.inputs.map { graph[$0.value].name } }
    public var outputNames: [String] { graph.outputs.map { graph[$0.value].name } }

    /// The plan for these logical (NCHW) input shapes and int64 input values (by input index),
    /// compiled on first use.
    public func plan(inputShapes: [[Int]], int64Inputs: [Int: Int64Tensor] = [:]) throws -> ExecutionPlan {
        let int64List = graph.inputs.indices.map { int64Inputs[$0] }
        if let plan = plans.withLock({ $0.first { $0.inputShapes == inputShapes && $0.int64Inputs == int64List } }) { return plan }
        let plan = try ExecutionPlan(prepared: prepared, inputShapes: inputShapes, int64Inputs: int64Inputs, options: options)
        return plans.withLock { list in
            if let existing = list.first(where: { $0.inputShapes == inputShapes && $0.int64Inputs == int64List }) { return existing }
            list.append(plan)
            return plan
        }
    }

    /// Plans compiled so far.
    public var planCount: Int { plans.withLock { $0.count } }

    // MARK: One input, one output

    /// Runs a graph with one float input and one float output.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let plan = try plan(forInput: x.shape)
        var y = try Tensor(zeros: Self.physical(plan.outputs[0].shape, plan.outputs[0].layout))
        try run(plan, x, into: &y)
        return y
    }

    /// Writes the output for `x` into `y`, which must have the output's shape. Allocates nothing
    /// once this shape's plan exists and this thread's context is made.
    public func run(_ x: Tensor, into y: inout Tensor) throws {
        try run(try plan(forInput: x.shape), x, into: &y)
    }

    /// The output shape (in the layout it is handed back in) for an input of `shape`.
    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        let plan = try plan(forInput: shape)
        return Self.physical(plan.outputs[0].shape, plan.outputs[0].layout)
    }

    /// The plan for a one-input graph's input of `shape`, if compiled already (found without allocating).
    func cachedPlan(for shape: [Int]) -> ExecutionPlan? {
        guard graph.inputs.count == 1 else { return nil }
        let layout = graph.inputs[0].layout
        return plans.withLock { $0.first { Self.matches(logical: $0.inputShapes[0], physical: shape, layout) } }
    }

    /// The plan for a one-input graph, found without allocating when it exists.
    public func plan(forInput shape: [Int]) throws -> ExecutionPlan {
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw PointwiseError.invalidArgument(name: "inputs and outputs of '\(graph.name)'",
                                                 value: "\(graph.inputs.count) and \(graph.outputs.count)",
                                                 requirement: "1 and 1 for a single-tensor call; use run(_: [String: TensorValue])")
        }
        let layout = graph.inputs[0].layout
        if let plan = cachedPlan(for: shape) { return plan }
        guard layout != .nhwc || shape.count == 4 else {
            throw PointwiseError.shapeMismatch(what: "'\(graph.name)' input rank (NHWC)", expected: "4 ([N, H, W, C])",
                                               actual: "\(shape.count) (\(describe(shape)))")
        }
        return try plan(inputShapes: [Self.logical(shape, layout)])
    }

    func run(_ plan: ExecutionPlan, _ x: Tensor, into y: inout Tensor) throws {
        try x.checkElementCount("input of '\(graph.name)'")
        try y.checkElementCount("output tensor of '\(graph.name)'")
        let output = plan.outputs[0]
        let expected = Self.physical(output.shape, output.layout)
        guard y.shape == expected else {
            throw PointwiseError.shapeMismatch(what: "output tensor shape of '\(graph.name)'", expected: describe(expected), actual: describe(y.shape))
        }
        guard output.dataType == .float32 else {
            throw PointwiseError.invalidArgument(name: "output '\(output.name)'", value: "int64", requirement: "float32 for a Tensor; use run(_: [String: TensorValue])")
        }
        if let constant = output.constant?.floatTensor {
            y.scalars.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: constant.scalars) }
            return
        }
        x.scalars.withUnsafeBytes { xb in
            y.scalars.withUnsafeMutableBytes { yb in
                withUnsafeTemporaryAllocation(of: UnsafeRawPointer?.self, capacity: 1) { inputs in
                    inputs[0] = xb.baseAddress
                    withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: 1) { outputs in
                        outputs[0] = yb.baseAddress
                        plan.run(inputs: UnsafeBufferPointer(inputs), outputs: UnsafeBufferPointer(outputs))
                    }
                }
            }
        }
    }

    // MARK: Any inputs and outputs

    /// Runs on named inputs (float32 in the layout each input declares; int64 shape-like inputs
    /// become part of the plan) and returns every output by name.
    public func run(_ inputs: [String: TensorValue]) throws -> [String: TensorValue] {
        var shapes: [[Int]] = []
        var int64: [Int: Int64Tensor] = [:]
        var floats: [Tensor?] = []
        for (index, input) in graph.inputs.enumerated() {
            let name = graph[input.value].name
            guard let value = inputs[name] else {
                throw PointwiseError.invalidArgument(name: "input '\(name)' of '\(graph.name)'", value: "missing",
                                                     requirement: "given (inputs: \(inputNames.joined(separator: ", ")))")
            }
            guard value.dataType == graph[input.value].dataType else {
                throw PointwiseError.shapeMismatch(what: "data type of input '\(name)'", expected: "\(graph[input.value].dataType)", actual: "\(value.dataType)")
            }
            switch value {
            case .float32(let tensor):
                try tensor.checkElementCount("input '\(name)'")
                if input.layout == .nhwc && tensor.rank != 4 {
                    throw PointwiseError.shapeMismatch(what: "rank of input '\(name)' (NHWC)", expected: "4", actual: "\(tensor.rank)")
                }
                shapes.append(Self.logical(tensor.shape, input.layout))
                floats.append(tensor)
            case .int64(let tensor):
                shapes.append(tensor.shape)
                int64[index] = tensor
                floats.append(nil)
            }
        }
        if let unknown = inputs.keys.first(where: { !inputNames.contains($0) }) {
            throw PointwiseError.invalidArgument(name: "input '\(unknown)'", value: "not an input of '\(graph.name)'",
                                                 requirement: "one of \(inputNames.joined(separator: ", "))")
        }
        let plan = try plan(inputShapes: shapes, int64Inputs: int64)
        // Room for every float output, and pointers to every input and output, valid for the call.
        let results = try plan.outputs.map { output -> UnsafeMutableBufferPointer<Float> in
            let count = output.dataType == .float32 && output.constant == nil ? try Tensor.elementCount(of: output.shape) : 0
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
            buffer.initialize(repeating: 0)
            return buffer
        }
        let inputPointers = UnsafeMutableBufferPointer<UnsafeRawPointer?>.allocate(capacity: max(floats.count, 1))
        let outputPointers = UnsafeMutableBufferPointer<UnsafeMutableRawPointer?>.allocate(capacity: max(results.count, 1))
        defer {
            inputPointers.deallocate()
            outputPointers.deallocate()
            for buffer in results { buffer.deallocate() }
        }
        for (k, buffer) in results.enumerated() { outputPointers[k] = UnsafeMutableRawPointer(buffer.baseAddress) }
        try withPointers(floats, 0, inputPointers) {
            plan.run(inputs: UnsafeBufferPointer(inputPointers), outputs: UnsafeBufferPointer(outputPointers))
        }
        var outputs: [String: TensorValue] = [:]
        for (k, output) in plan.outputs.enumerated() {
            if let constant = output.constant {
                outputs[output.name] = constant
            } else {
                let shape = Self.physical(output.shape, output.layout)
                outputs[output.name] = .float32(try Tensor(shape: shape, scalars: Array(results[k].prefix(shape.reduce(1, *)))))
            }
        }
        return outputs
    }

    private func withPointers(_ tensors: [Tensor?], _ index: Int, _ pointers: UnsafeMutableBufferPointer<UnsafeRawPointer?>,
                              _ body: () throws -> Void) throws {
        guard index < tensors.count else { return try body() }
        guard let tensor = tensors[index] else {
            pointers[index] = nil
            return try withPointers(tensors, index + 1, pointers, body)
        }
        try tensor.scalars.withUnsafeBytes { bytes in
            pointers[index] = bytes.baseAddress
            try withPointers(tensors, index + 1, pointers, body)
        }
    }

    // MARK: Layouts at the edges

    /// [N, H, W, C] handed over for an NHWC input → its logical [N, C, H, W].
    static func logical(_ shape: [Int], _ layout: Layout) -> [Int] {
        layout == .nhwc && shape.count == 4 ? [shape[0], shape[3], shape[1], shape[2]] : shape
    }

    /// Logical [N, C, H, W] → the shape handed over in `layout`.
    static func physical(_ shape: [Int], _ layout: Layout) -> [Int] {
        layout == .nhwc && shape.count == 4 ? [shape[0], shape[2], shape[3], shape[1]] : shape
    }

    /// Whether a handed-over shape is this logical one, compared without allocating.
    static func matches(logical: [Int], physical: [Int], _ layout: Layout) -> Bool {
        guard logical.count == physical.count else { return false }
        if layout == .nhwc && physical.count == 4 {
            return logical[0] == physical[0] && logical[1] == physical[3] && logical[2] == physical[1] && logical[3] == physical[2]
        }
        return logical == physical
    }
}
