/// MobileNetV2's inverted residual block, torchvision's layout and names.
/// x: [N, H, W, Cin] -> [N, H/s, W/s, Cout]
///
///     expand   1x1 Cin→t·Cin, BN, ReLU6   (omitted when t = 1)
///     depthwise 3x3, stride s, BN, ReLU6
///     project  1x1 t·Cin→Cout, BN, linear (no activation)
///     + x when s = 1 and Cin = Cout (fused: x is copied into the output, the projection GEMM accumulates onto it)
///
/// Names (t ≠ 1): `\(prefix).conv.0.0` / `.conv.0.1` expand, `.conv.1.0` / `.conv.1.1` depthwise,
/// `.conv.2` projection conv, `.conv.3` its BN. With t = 1: `.conv.0.*` depthwise, `.conv.1`, `.conv.2`.
public final class InvertedResidual: Layer {
    public let expand: Conv2D?
    public let depthwise: Conv2D
    public let project: Conv2D
    public let usesResidual: Bool
    private let front: Sequential
    private let hidden = FeatureBuffer()
    private var prepared: (input: [Int], output: [Int], hidden: [Int])?

    public init(_ parameters: ParameterSource, prefix: String, inChannels: Int, outChannels: Int,
                stride: Int, expandRatio: Int) throws {
        guard stride == 1 || stride == 2 else {
            throw PointwiseError.invalidArgument(name: "inverted residual stride", value: "\(stride)", requirement: "1 or 2")
        }
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
        front = Sequential((expand.map { [$0] } ?? []) + [depthwise])
    }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        return try project.outputShape(forInput: front.outputShape(forInput: shape))
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        let hiddenShape = try front.prepare(forInput: shape)
        let output = try project.prepare(forInput: hiddenShape)
        hidden.reserve(hiddenShape.reduce(1, *))
        prepared = (shape, output, hiddenShape)
        return output
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int) {
        let (input, _, hiddenShape) = prepared!
        front.run(x, into: hidden.pointer, outputRowStride: hiddenShape[3])
        if usesResidual {
            let (pixels, channels) = (input[0] * input[1] * input[2], input[3])
            for p in 0..<pixels { (y + p * ldy).update(from: x + p * channels, count: channels) }
        }
        project.run(hidden.pointer, into: y, outputRowStride: ldy, accumulate: usesResidual)
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        try front.summarize(inputShape: inputShape, into: &rows)
        try project.summarize(inputShape: front.outputShape(forInput: inputShape), into: &rows)
    }

    public var sublayers: [Layer] { [front, project] }

    public func addMemoryUse(to use: inout MemoryUse) {
        use.addActivations(hidden)
        front.addMemoryUse(to: &use)
        project.addMemoryUse(to: &use)
    }
}
