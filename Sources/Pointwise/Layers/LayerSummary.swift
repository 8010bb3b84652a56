/// One step of a plan as `pointwise summary` prints it.
public struct LayerSummary: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case convolution(kernel: Size2D, groups: Int, depthwise: Bool)
        case pool(String)
        case linear
        case other(String)
    }

    /// The node's name: for built-in networks the PyTorch module path (`layer1.0.conv1`).
    public var name: String
    public var kind: Kind
    /// The output's shape as laid out in memory (NHWC [N, H, W, C] for feature maps).
    public var outputShape: [Int]
    public var layout: Layout
    /// Parameters as PyTorch counts them: weights and biases of convolutions and linear layers,
    /// BatchNorm weight and bias (not its running statistics), over the nodes fused into this one.
    public var parameters: Int
    /// Convolution and linear weights only (no biases, no BatchNorm): MobileNet's Table 2 count.
    public var weights: Int
    /// Multiply-accumulates for the whole input batch.
    public var macs: Int
    /// The GEMM a convolution or linear layer lowers to, "M×K×N" (× groups), or "depthwise", or "".
    public var gemm: String
    /// How the step runs: the lowering, or the kernel.
    public var lowering: String
    /// The nodes fused into this one (BatchNorm, activation, residual Add).
    public var fused: [String]

    /// A 1x1, non-depthwise convolution.
    public var isPointwise: Bool {
        if case let .convolution(kernel, _, depthwise) = kind { return kernel == 1 && !depthwise }
        return false
    }

    public var kindDescription: String {
        switch kind {
        case let .convolution(kernel, groups, depthwise):
            return depthwise ? "DWConv \(kernel)" : "Conv \(kernel)" + (groups > 1 ? " g\(groups)" : "")
        case let .pool(name): return name
        case .linear: return "Linear"
        case let .other(name): return name
        }
    }
}
