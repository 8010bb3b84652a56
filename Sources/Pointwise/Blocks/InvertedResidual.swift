/// MobileNetV2's inverted residual block, torchvision's layout and names.
/// x: [N, H, W, Cin] -> [N, H/s, W/s, Cout]
///
///     expand   1x1 Cin→t·Cin, BN, ReLU6   (omitted when t = 1)
///     depthwise 3x3, stride s, BN, ReLU6
///     project  1x1 t·Cin→Cout, BN, linear (no activation)
///     + x when s = 1 and Cin = Cout (an Add the passes fuse into the projection GEMM: it
///       accumulates onto x's buffer, beta = 1)
///
/// Names (t ≠ 1): `\(prefix).conv.0.0` / `.conv.0.1` expand, `.conv.1.0` / `.conv.1.1` depthwise,
/// `.conv.2` projection conv, `.conv.3` its BN. With t = 1: `.conv.0.*` depthwise, `.conv.1`, `.conv.2`.
public final class InvertedResidual: Layer {
    public let prefix: String
    public let expand: Conv2D?
    public let depthwise: Conv2D
    public let project: Conv2D
    public let usesResidual: Bool
    public let execution = LayerExecution()

    public init(_ parameters: ParameterSource, prefix: String, inChannels: Int, outChannels: Int,
                stride: Int, expandRatio: Int) throws {
        guard stride == 1 || stride == 2 else {
            throw PointwiseError.invalidArgument(name: "inverted residual stride", value: "\(stride)", requirement: "1 or 2")
        }
        guard expandRatio >= 1 else {
            throw PointwiseError.invalidArgument(name: "inverted residual expand ratio", value: "\(expandRatio)", requirement: "≥ 1")
        }
        self.prefix = prefix
        let hiddenChannels = inChannels * expandRatio
        var index = 0
        if expandRatio != 1 {
            expand = try parameters.convBatchNorm(conv: "\(prefix).conv.0.0", bn: "\(prefix).conv.0.1", inChannels,
                                                  hiddenChannels, kernel: 1, activation: .relu6)
            index = 1
        } else {
            expand = nil
        }
        depthwise = try parameters.convBatchNorm(conv: "\(prefix).conv.\(index).0", bn: "\(prefix).conv.\(index).1",
                                                 hiddenChannels, hiddenChannels, kernel: 3, stride: Size2D(stride),
                                                 padding: 1, groups: hiddenChannels, activation: .relu6)
        project = try parameters.convBatchNorm(conv: "\(prefix).conv.\(index + 1)", bn: "\(prefix).conv.\(index + 2)",
                                               hiddenChannels, outChannels, kernel: 1, activation: .identity)
        usesResidual = stride == 1 && inChannels == outChannels
    }

    public var layerName: String { prefix }

    public func checkInput(_ shape: [Int]) throws {
        _ = try nhwc(shape, channels: (expand ?? depthwise).inChannels, for: "inverted residual")
    }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        let hidden = try expand?.emit(input, into: builder) ?? input
        let y = try project.emit(depthwise.emit(hidden, into: builder), into: builder)
        return usesResidual ? builder.add(y, input, name: "\(prefix).add") : y
    }
}
