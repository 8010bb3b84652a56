/// GoogLeNet's Inception module (v1), torchvision's layout and names.
/// x: [N, H, W, Cin] -> [N, H, W, ch1x1 + ch3x3 + ch5x5 + poolProj]
///
///     branch1: 1x1                               ┐
///     branch2: 1x1 reduce → 3x3                  │ a channel Concat: the planner has each
///     branch3: 1x1 reduce → 3x3 (or 5x5)         │ branch's last GEMM write straight into
///     branch4: 3x3 max pool (stride 1) → 1x1     ┘ its slice of the output (ldc): no copy
///
/// Every convolution is torchvision's `BasicConv2d`: conv (no bias) + BatchNorm (eps 0.001) + ReLU.
public final class InceptionModule: Layer {
    /// The kernel of branch 3. torchvision's GoogLeNet uses 3x3 there (a known deviation
    /// from the paper, kept so its trained weights load); the paper uses 5x5.
    public enum Branch3Kernel: Int, Sendable {
        case torchvision3x3 = 3
        case paper5x5 = 5
    }

    public let prefix: String
    public let inChannels: Int
    public let concat: ChannelConcat
    public let execution = LayerExecution()

    public init(_ parameters: ParameterSource, prefix: String, inChannels: Int, ch1x1: Int, ch3x3Reduce: Int, ch3x3: Int,
                ch5x5Reduce: Int, ch5x5: Int, poolProjection: Int, branch3Kernel: Branch3Kernel = .torchvision3x3) throws {
        func basic(_ path: String, _ cin: Int, _ cout: Int, kernel: Int, padding: Int = 0) throws -> Conv2D {
            try parameters.convBatchNorm(conv: "\(prefix).\(path).conv", bn: "\(prefix).\(path).bn", cin, cout,
                                         kernel: Size2D(kernel), padding: Padding2D(padding), activation: .relu, eps: 0.001)
        }
        let k3 = branch3Kernel.rawValue
        self.prefix = prefix
        self.inChannels = inChannels
        concat = try ChannelConcat([
            try basic("branch1", inChannels, ch1x1, kernel: 1),
            try Sequential([try basic("branch2.0", inChannels, ch3x3Reduce, kernel: 1),
                            try basic("branch2.1", ch3x3Reduce, ch3x3, kernel: 3, padding: 1)]),
            try Sequential([try basic("branch3.0", inChannels, ch5x5Reduce, kernel: 1),
                            try basic("branch3.1", ch5x5Reduce, ch5x5, kernel: k3, padding: k3 / 2)]),
            try Sequential([try Pool2D(.max, kernel: 3, stride: 1, padding: 1, ceilMode: true, name: "\(prefix).branch4.0"),
                            try basic("branch4.1", inChannels, poolProjection, kernel: 1)]),
        ], name: "\(prefix).concat")
    }

    public var layerName: String { prefix }

    public func checkInput(_ shape: [Int]) throws { _ = try nhwc(shape, channels: inChannels, for: "inception module") }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID { try concat.emit(input, into: builder) }
}
