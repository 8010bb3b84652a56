/// ResNet's bottleneck block as in torchvision's ResNet-50 (v1.5: the stride is on the 3x3).
/// x: [N, H, W, Cin] -> [N, H/s, W/s, 4·width]
///
///     conv1 1x1 Cin→width, BN, ReLU       (one SGEMM on the input itself)
///     conv2 3x3 width→width, stride s, BN, ReLU   (im2col + SGEMM)
///     conv3 1x1 width→4·width, BN          (SGEMM accumulating onto the shortcut, beta = 1)
///     + shortcut (identity, or downsample: 1x1 stride s Cin→4·width, BN), then ReLU
///
/// The residual add is fused: the shortcut is written into the output first (the
/// downsample GEMM writes it there directly), then conv3's GEMM accumulates onto it and
/// its epilogue applies bias and ReLU in the same pass.
public final class Bottleneck: Layer {
    public static let expansion = 4

    public let conv1: Conv2D
    public let conv2: Conv2D
    public let conv3: Conv2D
    public let downsample: Conv2D?
    private let buffer1 = FeatureBuffer(), buffer2 = FeatureBuffer()
    private var prepared: (input: [Int], output: [Int])?

    /// Reads `\(prefix).conv1.weight`, `\(prefix).bn1.*`, …, `\(prefix).downsample.0.weight`,
    /// `\(prefix).downsample.1.*` from `parameters`. A downsample branch is built when the
    /// stride is not 1 or Cin ≠ 4·width, as torchvision does.
    public init(_ parameters: ParameterSource, prefix: String, inChannels: Int, width: Int, stride: Int = 1) throws {
        let out = width * Self.expansion
        conv1 = try parameters.convBatchNorm(conv: "\(prefix).conv1", bn: "\(prefix).bn1", inChannels, width,
                                             kernel: 1, activation: .relu)
        conv2 = try parameters.convBatchNorm(conv: "\(prefix).conv2", bn: "\(prefix).bn2", width, width,
                                             kernel: 3, stride: Size2D(stride), padding: 1, activation: .relu)
        conv3 = try parameters.convBatchNorm(conv: "\(prefix).conv3", bn: "\(prefix).bn3", width, out,
                                             kernel: 1, activation: .relu)  // ReLU applies after the fused add
        downsample = stride != 1 || inChannels != out
            ? try parameters.convBatchNorm(conv: "\(prefix).downsample.0", bn: "\(prefix).downsample.1", inChannels, out,
                                           kernel: 1, stride: Size2D(stride), activation: .identity)
            : nil
    }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        let shape1 = try conv1.outputShape(forInput: shape)
        return try conv3.outputShape(forInput: conv2.outputShape(forInput: shape1))
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        let shape1 = try conv1.prepare(forInput: shape)
        let shape2 = try conv2.prepare(forInput: shape1)
        let output = try conv3.prepare(forInput: shape2)
        if let downsample {
            let shortcut = try downsample.prepare(forInput: shape)
            guard shortcut == output else {
                throw PointwiseError.shapeMismatch(what: "bottleneck shortcut shape", expected: describe(output), actual: describe(shortcut))
            }
        }
        buffer1.reserve(shape1.reduce(1, *))
        buffer2.reserve(shape2.reduce(1, *))
        prepared = (shape, output)
        return output
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int) {
        let input = prepared!.input
        conv1.run(x, into: buffer1.pointer, outputRowStride: conv1.outChannels)
        conv2.run(buffer1.pointer, into: buffer2.pointer, outputRowStride: conv2.outChannels)
        if let downsample {
            downsample.run(x, into: y, outputRowStride: ldy)
        } else {
            // Identity shortcut: same shape in and out.
            let (pixels, channels) = (input[0] * input[1] * input[2], input[3])
            for p in 0..<pixels { (y + p * ldy).update(from: x + p * channels, count: channels) }
        }
        conv3.run(buffer2.pointer, into: y, outputRowStride: ldy, accumulate: true)
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        try Sequential([conv1, conv2, conv3]).summarize(inputShape: inputShape, into: &rows)
        try downsample?.summarize(inputShape: inputShape, into: &rows)
    }

    public var sublayers: [Layer] { [conv1, conv2, conv3] + (downsample.map { [$0] } ?? []) }

    public func addMemoryUse(to use: inout MemoryUse) {
        use.addActivations(buffer1)
        use.addActivations(buffer2)
        for layer in sublayers { layer.addMemoryUse(to: &use) }
    }
}
