/// A rewrite of a graph, tested on its own (node list before and after, and numerical
/// equality with the graph it was given), as tract's passes are.
public protocol GraphPass: Sendable {
    /// A short name for summaries and errors.
    var name: String { get }
    /// Rewrites `graph` in place; throws for a graph it cannot handle, naming the node.
    func run(on graph: inout Graph) throws
}

/// The passes a graph goes through before it is planned, in order.
///
/// Shape-independent ones run once per session (`preparation`); the rest once per input shape
/// (`specialisation`), after the input shapes (and int64 input values) are bound.
public enum GraphPipeline {
    /// Folds what initializers alone determine, folds BatchNorm into convolutions, fuses
    /// activations into their producers, removes dead nodes.
    public static let preparation: [any GraphPass] = [
        DeadNodeElimination(), ConstantFolding(), BatchNormFolding(), ActivationFusion(), DeadNodeElimination(),
    ]

    /// With shapes known: infers them, folds shape computations, fuses residual adds into
    /// convolutions (beta = 1), fuses the activations that now follow them, removes dead nodes.
    public static let specialisation: [any GraphPass] = [
        ShapeInference(), ConstantFolding(), ShapeInference(), ResidualAddFusion(), ActivationFusion(), DeadNodeElimination(),
    ]

    /// Runs `passes` in order.
    public static func run(_ passes: [any GraphPass], on graph: inout Graph) throws {
        for pass in passes { try pass.run(on: &graph) }
    }
}
