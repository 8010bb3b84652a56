/// MobileNetV1's depthwise-separable block.
/// x: [N, H, W, Cin] -> [N, H/s, W/s, Cout]
///
///     depthwise 3x3, stride s, groups = Cin, BN, ReLU   (direct NHWC kernel)
///     pointwise 1x1 Cin→Cout, BN, ReLU                  (one SGEMM, ~95% of the block's MACs)
///
/// Names: `\(prefix).depthwise.0` (conv), `.depthwise.1` (BN), `.pointwise.0`, `.pointwise.1`.
public final class DepthwiseSeparable: Layer {
    public let prefix: String
    public let depthwise: Conv2D
    public let pointwise: Conv2D
    public let execution = LayerExecution()

    public init(_ parameters: ParameterSource, prefix: String, inChannels: Int, outChannels: Int, stride: Int) throws {
        self.prefix = prefix
        depthwise = try parameters.convBatchNorm(conv: "\(prefix).depthwise.0", bn: "\(prefix).depthwise.1",
                                                 inChannels, inChannels, kernel: 3, stride: Size2D(stride), padding: 1,
                                                 groups: inChannels, activation: .relu)
        pointwise = try parameters.convBatchNorm(conv: "\(prefix).pointwise.0", bn: "\(prefix).pointwise.1",
                                                 inChannels, outChannels, kernel: 1, activation: .relu)
    }

    public var layerName: String { prefix }

    public func checkInput(_ shape: [Int]) throws { _ = try nhwc(shape, channels: depthwise.inChannels, for: "depthwise-separable block") }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        try pointwise.emit(depthwise.emit(input, into: builder), into: builder)
    }
}
