/// MobileNetV1's depthwise-separable block.
/// x: [N, H, W, Cin] -> [N, H/s, W/s, Cout]
///
///     depthwise 3x3, stride s, groups = Cin, BN, ReLU   (direct NHWC kernel)
///     pointwise 1x1 Cin→Cout, BN, ReLU                  (one SGEMM, ~95% of the block's MACs)
///
/// Names: `\(prefix).depthwise.0` (conv), `.depthwise.1` (BN), `.pointwise.0`, `.pointwise.1`.
public final class DepthwiseSeparable: Layer {
    public let depthwise: Conv2D
    public let pointwise: Conv2D
    private let body: Sequential

    public init(_ parameters: ParameterSource, prefix: String, inChannels: Int, outChannels: Int, stride: Int) throws {
        depthwise = try parameters.convBatchNorm(conv: "\(prefix).depthwise.0", bn: "\(prefix).depthwise.1",
                                                 inChannels, inChannels, kernel: 3, stride: Size2D(stride), padding: 1,
                                                 groups: inChannels, activation: .relu)
        pointwise = try parameters.convBatchNorm(conv: "\(prefix).pointwise.0", bn: "\(prefix).pointwise.1",
                                                 inChannels, outChannels, kernel: 1, activation: .relu)
        body = Sequential([depthwise, pointwise])
    }

    public func outputShape(forInput shape: [Int]) throws -> [Int] { try body.outputShape(forInput: shape) }
    public func prepare(forInput shape: [Int]) throws -> [Int] { try body.prepare(forInput: shape) }
    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride: Int) {
        body.run(x, into: y, outputRowStride: outputRowStride)
    }
    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        try body.summarize(inputShape: inputShape, into: &rows)
    }
    public func addMemoryUse(to use: inout MemoryUse) { body.addMemoryUse(to: &use) }
    public var sublayers: [Layer] { [body] }
}
