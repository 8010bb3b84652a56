import Synchronization

/// An operator, block or network in the typed Swift API (Conv2D, Bottleneck, Network, …): a
/// graph builder. Calling one builds its graph once (per input rank), compiles it in an
/// `InferenceSession` and runs it: blocks and whole networks run on the same graph engine as
/// imported models, with the same passes (BatchNorm folding, fusions, in-place concat) and the
/// same memory planning.
///
/// Rank-4 inputs and outputs are NHWC tensors ([N, H, W, C]); the graph inside has NCHW
/// semantics and converts nothing at its edges. A layer is immutable once built and safe to
/// call from many threads; calling a sublayer on its own never affects its parent, whose plans
/// are its own.
public protocol Layer: AnyObject, Sendable {
    /// Adds this layer's nodes to `builder`, reading `input` (NCHW semantics), and returns its output.
    func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID
    /// The compiled sessions of this layer (made on first call); conformers store one `LayerExecution()`.
    var execution: LayerExecution { get }
    /// A name for graphs and errors.
    var layerName: String { get }
    /// Checks an input shape before it is planned (a network names its expected input).
    func checkInput(_ shape: [Int]) throws
    /// The error to report when planning fails for `shape` (a network adds its context).
    func explain(_ error: PointwiseError, inputShape shape: [Int]) -> PointwiseError
}

extension Layer {
    public var layerName: String { String(describing: type(of: self)) }
    public func checkInput(_ shape: [Int]) throws {}
    public func explain(_ error: PointwiseError, inputShape shape: [Int]) -> PointwiseError { error }

    /// This layer alone as a graph: one input `x` of `rank` (NHWC when rank 4), one output.
    public func graph(inputRank rank: Int) throws -> Graph {
        let builder = GraphBuilder(name: layerName)
        let dimensions: [Dimension] = rank == 4 ? [.symbolic("N"), .symbolic("C"), .symbolic("H"), .symbolic("W")]
                                                : (0..<rank).map { .symbolic("d\($0)") }
        let x = builder.input("x", shape: dimensions, layout: rank == 4 ? .nhwc : .natural)
        builder.output(try emit(x, into: builder), layout: .nhwc)
        return try builder.build()
    }

    /// The session running this layer on inputs of `rank`.
    public func session(inputRank rank: Int) throws -> InferenceSession {
        try execution.session(rank: rank, options: CompileOptions()) { try graph(inputRank: rank) }
    }

    /// The session for `shape`, with the input checked and planning errors explained.
    private func plannedSession(_ shape: [Int]) throws -> InferenceSession {
        do {
            try checkInput(shape)
            let session = try session(inputRank: shape.count)
            _ = try session.plan(forInput: shape)
            return session
        } catch let error as PointwiseError {
            throw explain(error, inputShape: shape)
        }
    }

    /// The output shape for an input of `shape` (both in the layer's layouts: NHWC for rank 4).
    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        try plannedSession(shape).outputShape(forInput: shape)
    }

    /// `layer(x)`, allocating the output.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try plannedSession(input.shape)(input)
    }

    /// Writes `layer(input)` into `output`, which must have the output shape. Allocates nothing
    /// once the plan for this shape exists and this thread has run it once.
    public func forward(_ input: Tensor, into output: inout Tensor) throws {
        if let session = execution.existing(rank: input.rank), let plan = session.cachedPlan(for: input.shape) {
            return try session.run(plan, input, into: &output)
        }
        try plannedSession(input.shape).run(input, into: &output)
    }

    /// The execution plan for an input of `shape`.
    public func plan(forInput shape: [Int]) throws -> ExecutionPlan {
        try plannedSession(shape).plan(forInput: shape)
    }

    /// The summary of the plan for `shape`: one row per step, the GEMM each lowers to, the arena.
    public func summary(inputShape shape: [Int]) throws -> ModelSummary {
        ModelSummary(network: layerName, inputShape: shape, plan: try plan(forInput: shape))
    }

    /// Memory the plan for `shape` holds: packed weights and the arena (activations and workspaces).
    public func memoryUse(inputShape shape: [Int]) throws -> MemoryUse {
        let plan = try plan(forInput: shape)
        return MemoryUse(weightBytes: plan.weightBytes, arenaBytes: plan.memory.arenaBytes)
    }
}

/// Memory a plan holds, beyond the caller's input and output.
public struct MemoryUse: Sendable, Equatable {
    /// Packed weights, biases and constants.
    public var weightBytes: Int
    /// The arena: every intermediate activation and workspace, shared by liveness.
    public var arenaBytes: Int

    public var totalBytes: Int { weightBytes + arenaBytes }
}

/// The sessions of one layer, by input rank, made on first use and kept.
public final class LayerExecution: Sendable {
    private let sessions = Mutex<[Int: InferenceSession]>([:])

    public init() {}

    func existing(rank: Int) -> InferenceSession? { sessions.withLock { $0[rank] } }

    func session(rank: Int, options: CompileOptions, make: () throws -> Graph) throws -> InferenceSession {
        if let session = existing(rank: rank) { return session }
        let session = try InferenceSession(try make(), options: options)
        return sessions.withLock { list in
            if let existing = list[rank] { return existing }
            list[rank] = session
            return session
        }
    }
}

/// The NHWC dimensions of an input shape, or an error naming the layer and the shape.
func nhwc(_ shape: [Int], channels: Int? = nil, for layer: String) throws -> (n: Int, h: Int, w: Int, c: Int) {
    guard shape.count == 4 else {
        throw PointwiseError.shapeMismatch(what: "\(layer) input rank", expected: "4 ([N, H, W, C])",
                                           actual: "\(shape.count) (\(describe(shape)))")
    }
    if let bad = shape.firstIndex(where: { $0 < 1 }) {
        throw PointwiseError.invalidArgument(name: "dimension \(bad) of \(layer) input shape \(describe(shape))",
                                             value: "\(shape[bad])", requirement: "≥ 1")
    }
    if let channels, shape[3] != channels {
        throw PointwiseError.shapeMismatch(what: "\(layer) input channels (input shape \(describe(shape)), NHWC)",
                                           expected: "\(channels)", actual: "\(shape[3])")
    }
    return (shape[0], shape[1], shape[2], shape[3])
}
