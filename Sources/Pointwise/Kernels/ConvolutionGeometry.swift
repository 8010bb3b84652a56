/// A height×width pair: kernel size, stride or dilation. `3` means 3×3.
public struct Size2D: Sendable, Equatable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(_ height: Int, _ width: Int) { self.height = height; self.width = width }
    public init(_ both: Int) { self.init(both, both) }
    public init(integerLiteral value: Int) { self.init(value) }

    public var description: String { "\(height)x\(width)" }
}

/// Zero padding on each side of the height and width axes.
///
/// `1` pads one pixel on every side (PyTorch's `padding=1`); `Padding2D(height: 0, width: 3)`
/// pads a 1x7 kernel; `Padding2D(top:bottom:left:right:)` gives asymmetric padding
/// (ONNX `pads` = [top, left, bottom, right], TensorFlow's 'SAME' with even kernels).
public struct Padding2D: Sendable, Equatable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var top: Int
    public var bottom: Int
    public var left: Int
    public var right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }
    public init(height: Int, width: Int) { self.init(top: height, bottom: height, left: width, right: width) }
    public init(_ all: Int) { self.init(height: all, width: all) }
    public init(integerLiteral value: Int) { self.init(value) }

    public var isZero: Bool { top == 0 && bottom == 0 && left == 0 && right == 0 }

    public var description: String {
        top == bottom && left == right ? "\(top)x\(left)" : "(top \(top), bottom \(bottom), left \(left), right \(right))"
    }
}

/// The validated hyper-parameters of a 2-D convolution and the sizes they imply.
struct ConvolutionGeometry: Sendable, Equatable {
    let inChannels: Int
    let outChannels: Int
    let kernel: Size2D
    let stride: Size2D
    let padding: Padding2D
    let dilation: Size2D
    let groups: Int

    var inChannelsPerGroup: Int { inChannels / groups }
    var outChannelsPerGroup: Int { outChannels / groups }
    /// Rows of one group's packed weight matrix: KH·KW·Cin/groups.
    var reductionPerGroup: Int { kernel.height * kernel.width * inChannelsPerGroup }
    /// PyTorch weight shape: [Cout, Cin/groups, KH, KW].
    var weightShape: [Int] { [outChannels, inChannelsPerGroup, kernel.height, kernel.width] }

    /// How the convolution maps onto GEMM (see `ConvolutionKernel`).
    var lowering: ConvolutionLowering {
        if groups > 1 && groups == inChannels && groups == outChannels { return .depthwise }
        if kernel == 1 && padding.isZero { return stride == 1 ? .pointwise : .stridedPointwise }
        return .im2col
    }

    init(inChannels: Int, outChannels: Int, kernel: Size2D, stride: Size2D,
         padding: Padding2D, dilation: Size2D, groups: Int) throws {
        func require(_ name: String, _ value: Int, atLeast minimum: Int) throws {
            if value < minimum {
                throw PointwiseError.invalidArgument(name: name, value: "\(value)", requirement: "≥ \(minimum)")
            }
        }
        try require("inChannels", inChannels, atLeast: 1)
        try require("outChannels", outChannels, atLeast: 1)
        try require("kernel height", kernel.height, atLeast: 1)
        try require("kernel width", kernel.width, atLeast: 1)
        try require("stride height", stride.height, atLeast: 1)
        try require("stride width", stride.width, atLeast: 1)
        try require("dilation height", dilation.height, atLeast: 1)
        try require("dilation width", dilation.width, atLeast: 1)
        try require("padding top", padding.top, atLeast: 0)
        try require("padding bottom", padding.bottom, atLeast: 0)
        try require("padding left", padding.left, atLeast: 0)
        try require("padding right", padding.right, atLeast: 0)
        try require("groups", groups, atLeast: 1)
        for (name, channels) in [("inChannels", inChannels), ("outChannels", outChannels)] where channels % groups != 0 {
            throw PointwiseError.invalidArgument(name: name, value: "\(channels)",
                                                 requirement: "a multiple of groups (\(groups))")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// Output [N, H', W', Cout] for an NHWC input, with
    /// H' = ⌊(H + pad_top + pad_bottom − dilation·(KH − 1) − 1) / stride⌋ + 1 (PyTorch's formula).
    func outputShape(forInput shape: [Int]) throws -> [Int] {
        guard shape.count == 4 else {
            throw PointwiseError.shapeMismatch(what: "input rank", expected: "4 ([N, H, W, C])",
                                               actual: "\(shape.count) (\(describe(shape)))")
        }
        if let bad = shape.firstIndex(where: { $0 < 1 }) {
            throw PointwiseError.invalidArgument(name: "dimension \(bad) of input shape \(describe(shape))",
                                                 value: "\(shape[bad])", requirement: "≥ 1")
        }
        guard shape[3] == inChannels else {
            throw PointwiseError.shapeMismatch(what: "input channels (input shape \(describe(shape)), NHWC)",
                                               expected: "\(inChannels)", actual: "\(shape[3])")
        }
        let paddedHeight = shape[1] + padding.top + padding.bottom
        let paddedWidth = shape[2] + padding.left + padding.right
        let extentHeight = dilation.height * (kernel.height - 1) + 1
        let extentWidth = dilation.width * (kernel.width - 1) + 1
        guard extentHeight <= paddedHeight, extentWidth <= paddedWidth else {
            throw PointwiseError.shapeMismatch(
                what: "padded input size for kernel \(kernel) (dilation \(dilation), extent \(extentHeight)x\(extentWidth))",
                expected: "at least \(extentHeight)x\(extentWidth)",
                actual: "\(paddedHeight)x\(paddedWidth) (input \(shape[1])x\(shape[2]), padding \(padding))")
        }
        return [shape[0],
                (paddedHeight - extentHeight) / stride.height + 1,
                (paddedWidth - extentWidth) / stride.width + 1,
                outChannels]
    }
}
