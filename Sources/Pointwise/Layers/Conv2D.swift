/// A 2-D convolution on NHWC tensors, lowered to SGEMM when it runs.
///
/// `x: [N, H, W, Cin] -> y: [N, H', W', Cout]`, with PyTorch's semantics for
/// `Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)`
/// and PyTorch-layout weights `[Cout, Cin/groups, KH, KW]`, optionally followed by a BatchNorm
/// (folded into the weights by the `BatchNormFolding` pass) and an activation (fused into the
/// GEMM's epilogue by `ActivationFusion`).
///
/// It runs as a one-node graph (`ConvolutionKernel` does the work): weights are packed once per
/// plan, and a call lowers to
/// - **1x1, stride 1, no padding**: one `cblas_sgemm` per group over the input itself,
///   M = N·H·W, K = Cin/groups, N = Cout/groups (lda = Cin, ldc = Cout): no copy, no workspace;
/// - **1x1 with stride, no padding**: a strided gather, then that GEMM;
/// - **depthwise** (groups = Cin = Cout): a direct NHWC kernel vectorised across channels;
/// - **any other kernel**: im2col into a bounded workspace, then one SGEMM per group.
public final class Conv2D: Layer {
    public var inChannels: Int { geometry.inChannels }
    public var outChannels: Int { geometry.outChannels }
    public var kernel: Size2D { geometry.kernel }
    public var stride: Size2D { geometry.stride }
    public var padding: Padding2D { geometry.padding }
    public var dilation: Size2D { geometry.dilation }
    public var groups: Int { geometry.groups }
    public let activation: Activation
    /// PyTorch module path, for summaries (e.g. `layer1.0.conv1`).
    public let name: String
    public let weight: Tensor
    public let bias: Tensor?
    public let batchNorm: BatchNormParameters?
    /// The BatchNorm's module path (`layer1.0.bn1`), naming its node.
    public let batchNormName: String
    let geometry: ConvolutionGeometry
    public let execution = LayerExecution()

    /// How a convolution maps onto GEMM.
    public typealias Lowering = ConvolutionLowering

    /// The GEMM(s) one call lowers to: `count` calls of M×K times K×N.
    public struct LoweredGEMM: Sendable, Equatable, CustomStringConvertible {
        public let lowering: Lowering
        public let m: Int
        public let n: Int
        public let k: Int
        public let count: Int
        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(count) }
        public var description: String {
            lowering == .depthwise ? "depthwise"
                : "M=\(m) K=\(k) N=\(n)" + (count > 1 ? " ×\(count) groups" : "") + " (\(lowering.rawValue))"
        }
    }

    /// A convolution with the given weights (`[Cout, Cin/groups, KH, KW]`, PyTorch's layout),
    /// optional bias (`[Cout]`), optional BatchNorm after it, and an activation.
    public init(inChannels: Int, outChannels: Int, kernel: Size2D, stride: Size2D = 1,
                padding: Padding2D = 0, dilation: Size2D = 1, groups: Int = 1,
                weight: Tensor, bias: Tensor? = nil, batchNorm: BatchNormParameters? = nil,
                activation: Activation = .identity, name: String = "", batchNormName: String? = nil) throws {
        let geometry = try ConvolutionGeometry(inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                                               stride: stride, padding: padding, dilation: dilation, groups: groups)
        guard weight.shape == geometry.weightShape else {
            throw PointwiseError.shapeMismatch(what: "weight shape ([Cout, Cin/groups, KH, KW])" + (name.isEmpty ? "" : " of \(name)"),
                                               expected: describe(geometry.weightShape), actual: describe(weight.shape))
        }
        if let bias, bias.shape != [outChannels] {
            throw PointwiseError.shapeMismatch(what: "bias shape" + (name.isEmpty ? "" : " of \(name)"),
                                               expected: describe([outChannels]), actual: describe(bias.shape))
        }
        if let batchNorm, batchNorm.channels != outChannels {
            throw PointwiseError.shapeMismatch(what: "BatchNorm channels" + (name.isEmpty ? "" : " of \(name)"),
                                               expected: "\(outChannels)", actual: "\(batchNorm.channels)")
        }
        self.geometry = geometry
        self.activation = activation
        self.name = name
        self.weight = weight
        self.bias = bias
        self.batchNorm = batchNorm
        self.batchNormName = batchNormName ?? ((name.isEmpty ? "conv" : name) + ".bn")
    }

    /// A convolution with PyTorch's default initialisation, reproducible from `seed`:
    /// weight and bias uniform in ±1/√(Cin/groups·KH·KW) (`kaiming_uniform_(a=√5)`).
    public convenience init(inChannels: Int, outChannels: Int, kernel: Size2D, stride: Size2D = 1,
                            padding: Padding2D = 0, dilation: Size2D = 1, groups: Int = 1,
                            bias: Bool = true, activation: Activation = .identity, seed: UInt64) throws {
        let geometry = try ConvolutionGeometry(inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                                               stride: stride, padding: padding, dilation: dilation, groups: groups)
        let bound = 1 / Float(geometry.reductionPerGroup).squareRoot()
        let weight = try Tensor(randomUniform: geometry.weightShape, in: -bound...bound, seed: seed)
        let biasTensor = bias ? try Tensor(randomUniform: [outChannels], in: -bound...bound, seed: seed &+ 1) : nil
        try self.init(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                      padding: padding, dilation: dilation, groups: groups, weight: weight, bias: biasTensor,
                      activation: activation)
    }

    public var layerName: String { name.isEmpty ? "Conv2D" : name }

    /// Parameters as PyTorch counts them (conv weight and bias, BatchNorm weight and bias).
    public var parameterCount: Int { weight.count + (bias?.count ?? 0) + (batchNorm.map { 2 * $0.channels } ?? 0) }

    /// How this convolution lowers.
    public var lowering: Lowering { geometry.lowering }

    /// The GEMMs a call on this NHWC input shape makes.
    public func loweredGEMM(forInput shape: [Int]) throws -> LoweredGEMM {
        let out = try geometry.outputShape(forInput: shape)
        return LoweredGEMM(lowering: lowering, m: out[0] * out[1] * out[2], n: geometry.outChannelsPerGroup,
                           k: geometry.reductionPerGroup, count: groups)
    }

    public func checkInput(_ shape: [Int]) throws { _ = try geometry.outputShape(forInput: shape) }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        let nodeName = name.isEmpty ? "conv" : name
        var y = try builder.conv(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                                 groups: groups, name: nodeName)
        if let batchNorm { y = try builder.batchNorm(y, batchNorm, name: batchNormName) }
        return builder.activation(y, activation, name: nodeName + ".act")
    }
}
