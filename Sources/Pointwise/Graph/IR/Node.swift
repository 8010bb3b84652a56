/// One operation of a graph: an operator applied to input values, producing output values.
public struct Node: Sendable, Equatable {
    /// Unique within the graph; for built-in networks the PyTorch module path (`layer1.0.conv1`).
    public var name: String
    public var op: Operator
    /// nil marks an optional input left out (ONNX's empty name).
    public var inputs: [ValueID?]
    public var outputs: [ValueID]
    /// Learnable parameters as PyTorch counts them (weights and biases of convolutions and linear
    /// layers, BatchNorm's scale and bias; not running statistics), summed over the nodes a fused
    /// node came from: what `summary` reports.
    public var parameterCount: Int
    /// Names of the nodes fused into this one, in order (empty for an unfused node).
    public var fusedNodes: [String]

    public init(name: String, op: Operator, inputs: [ValueID?], outputs: [ValueID], parameterCount: Int = 0,
                fusedNodes: [String] = []) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
        self.parameterCount = parameterCount
        self.fusedNodes = fusedNodes
    }

    /// The inputs that are present.
    public var presentInputs: [ValueID] { inputs.compactMap { $0 } }

    /// Input `index`, if present.
    public func input(_ index: Int) -> ValueID? { index < inputs.count ? inputs[index] : nil }

    /// The single output.
    public var output: ValueID { outputs[0] }
}
