/// A fixed per-channel affine map y = x·scale + shift on NHWC activations: an eval-mode
/// BatchNorm (`init(batchNorm:)`) or an input normalisation. x: [N, H, W, C] -> [N, H, W, C].
/// A BatchNormalization node in the graph; after a convolution the passes fold it away.
public final class ChannelAffine: Layer {
    public let scale: [Float]
    public let shift: [Float]
    public let name: String
    /// Parameters PyTorch would count for it (BatchNorm weight and bias; 0 for constants).
    let parameterCount: Int
    let parameters: BatchNormParameters
    public let execution = LayerExecution()

    public init(scale: [Float], shift: [Float], name: String = "") throws {
        guard scale.count == shift.count else {
            throw PointwiseError.shapeMismatch(what: "ChannelAffine shift (one value per channel)", expected: "\(scale.count) values",
                                               actual: "\(shift.count)")
        }
        self.scale = scale
        self.shift = shift
        self.name = name
        self.parameterCount = 0
        // mean 0, variance 1, ε 0: the BatchNorm is exactly x·scale + shift.
        parameters = try BatchNormParameters(weight: scale, bias: shift, runningMean: Array(repeating: 0, count: scale.count),
                                             runningVar: Array(repeating: 1, count: scale.count), eps: 0)
    }

    /// Standalone BatchNorm in eval mode, for tests and for models where it does not follow a convolution.
    public init(batchNorm parameters: BatchNormParameters, name: String = "") {
        let (scale, shift) = parameters.scaleAndShift
        self.scale = scale.map(Float.init)
        self.shift = shift.map(Float.init)
        self.name = name
        self.parameterCount = 2 * parameters.channels
        self.parameters = parameters
    }

    public func checkInput(_ shape: [Int]) throws { _ = try nhwc(shape, channels: scale.count, for: "ChannelAffine") }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        let y = try builder.batchNorm(input, parameters, name: name.isEmpty ? "affine" : name)
        if parameterCount == 0, let index = builder.graph.nodes.indices.last { builder.setParameterCount(0, ofNode: index) }
        return y
    }
}
