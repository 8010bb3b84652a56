/// ResNet's bottleneck block as in torchvision's ResNet-50 (v1.5: the stride is on the 3x3).
/// x: [N, H, W, Cin] -> [N, H/s, W/s, 4·width]
///
///     conv1 1x1 Cin→width, BN, ReLU       (one SGEMM on the input itself)
///     conv2 3x3 width→width, stride s, BN, ReLU   (im2col + SGEMM)
///     conv3 1x1 width→4·width, BN          ┐ Add, then ReLU: fused by the passes into conv3's GEMM
///     + shortcut (identity, or downsample: 1x1 stride s Cin→4·width, BN)   ┘ accumulating onto the shortcut (beta = 1)
///
/// The graph it builds is PyTorch's (conv, BatchNorm, ReLU, Add nodes); the passes fold each
/// BatchNorm, fuse the ReLUs into the GEMM epilogues and the Add into conv3, and the memory plan
/// lets conv3 accumulate straight onto the shortcut's buffer.
public final class Bottleneck: Layer {
    public static let expansion = 4

    public let prefix: String
    public let conv1: Conv2D
    public let conv2: Conv2D
    public let conv3: Conv2D
    public let downsample: Conv2D?
    public let execution = LayerExecution()

    /// Reads `\(prefix).conv1.weight`, `\(prefix).bn1.*`, …, `\(prefix).downsample.0.weight`,
    /// `\(prefix).downsample.1.*` from `parameters`. A downsample branch is built when the
    /// stride is not 1 or Cin ≠ 4·width, as torchvision does.
    public init(_ parameters: ParameterSource, prefix: String, inChannels: Int, width: Int, stride: Int = 1) throws {
        let out = width * Self.expansion
        self.prefix = prefix
        conv1 = try parameters.convBatchNorm(conv: "\(prefix).conv1", bn: "\(prefix).bn1", inChannels, width,
                                             kernel: 1, activation: .relu)
        conv2 = try parameters.convBatchNorm(conv: "\(prefix).conv2", bn: "\(prefix).bn2", width, width,
                                             kernel: 3, stride: Size2D(stride), padding: 1, activation: .relu)
        conv3 = try parameters.convBatchNorm(conv: "\(prefix).conv3", bn: "\(prefix).bn3", width, out,
                                             kernel: 1, activation: .identity)
        downsample = stride != 1 || inChannels != out
            ? try parameters.convBatchNorm(conv: "\(prefix).downsample.0", bn: "\(prefix).downsample.1", inChannels, out,
                                           kernel: 1, stride: Size2D(stride), activation: .identity)
            : nil
    }

    public var layerName: String { prefix }

    public func checkInput(_ shape: [Int]) throws { _ = try nhwc(shape, channels: conv1.inChannels, for: "bottleneck") }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        let main = try conv3.emit(conv2.emit(conv1.emit(input, into: builder), into: builder), into: builder)
        let shortcut = try downsample?.emit(input, into: builder) ?? input
        return builder.relu(builder.add(main, shortcut, name: "\(prefix).add"), name: "\(prefix).relu")
    }
}
