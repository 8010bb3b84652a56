/// What a node computes, with its attributes, in ONNX semantics on NCHW tensors (the engine
/// runs NHWC inside; see `LayoutAssignment`). Inputs and outputs are listed per case as
/// ggml does: `X [N, C, H, W]` names the input, its logical shape follows.
///
/// The fused forms (a convolution's activation and residual, a binary op's activation) are
/// what the passes produce; a builder or importer creates the plain ones.
public enum Operator: Sendable, Equatable {
    // MARK: Convolution and matrix products

    /// inputs: X [N, C, H, W], W [M, C/group, kH, kW], B [M]?, then (fused) R [N, M, H', W'];
    /// output: Y [N, M, H', W'] = activation(conv(X, W) + B + R).
    case conv(ConvolutionAttributes)
    /// A depthwise convolution between 1x1 convolutions (MobileNetV2's inverted residual, or
    /// MobileNetV1's depthwise → pointwise pair without the expansion), computed a band of output
    /// rows at a time so the wide intermediate maps never leave the cache (fused by `DepthwiseChainFusion`).
    /// inputs: X [N, C, H, W], We [E, C, 1, 1]?, Be [E]?, Wd [E, 1, kH, kW], Bd [E]?, Wp [M, E, 1, 1], Bp [M]?, then R [N, M, H', W']?
    /// (We, Be absent without the expansion, E = C); output: Y [N, M, H', W'] =
    /// project(depthwise(expand(X))) + R, each stage with its own activation (the projection's after R).
    case depthwiseChain(DepthwiseChainAttributes)
    /// inputs: A [M, K] (or [K, M] with transA), B [K, N] (or [N, K] with transB), C broadcastable to [M, N]?;
    /// output: Y [M, N] = activation(alpha·A·B + beta·C).
    case gemm(GemmAttributes)
    /// inputs: A [..., M, K], B [..., K, N] (NumPy matmul: rank-1 operands promoted, batch dims broadcast);
    /// output: Y [..., M, N].
    case matMul

    // MARK: Normalisation

    /// inputs: X [N, C, ...], scale [C], B [C], mean [C], var [C]; output: Y = activation(scale·(X − mean)/√(var + ε) + B).
    case batchNormalization(epsilon: Float, activation: Activation)
    /// inputs: X [N, C, H, W]; output: Y, normalised across `size` neighbouring channels.
    case lrn(LRNAttributes)

    // MARK: Element-wise

    /// inputs: X; output: Y = activation(X), same shape.
    case activation(Activation)
    /// ONNX Clip from opset 11: inputs X, min (scalar)?, max (scalar)?. Constant folding turns it into
    /// `.activation(.clip)` once min and max are known.
    case clip
    /// inputs: A, B (NumPy broadcasting); output: Y = activation(A op B).
    case binary(BinaryOperator, activation: Activation)
    /// inputs: X₁ … Xₙ (broadcasting); output: Y = activation(X₁ + … + Xₙ).
    case sum(activation: Activation)

    // MARK: Pooling

    /// inputs: X [N, C, H, W]; output: Y [N, C, H', W'].
    case maxPool(PoolingAttributes)
    /// inputs: X [N, C, H, W]; output: Y [N, C, H', W'].
    case averagePool(PoolingAttributes)
    /// inputs: X [N, C, H, W]; output: Y [N, C, 1, 1].
    case globalAveragePool
    /// inputs: X [N, C, H, W]; output: Y [N, C, 1, 1].
    case globalMaxPool

    // MARK: Shapes and data movement

    /// inputs: X₁ … Xₙ, equal but along `axis`; output: their concatenation.
    case concat(axis: Int)
    /// inputs: X [d₀, …]; output: [d₀·…·d_(axis−1), d_axis·…] in X's (NCHW) element order.
    case flatten(axis: Int)
    /// inputs: data, shape (int64 [rank]); output: data in the new shape (0 copies the input's
    /// dimension unless `allowZero`, −1 is inferred).
    case reshape(allowZero: Bool)
    /// inputs: X; output: X with its axes permuted (`nil`: reversed).
    case transpose(permutation: [Int]?)
    /// inputs: X, axes (int64)? ; output: X without the listed size-1 axes (`axes` attribute, else the
    /// input, else every size-1 axis).
    case squeeze(axes: [Int]?)
    /// inputs: X, axes (int64)?; output: X with size-1 axes inserted at `axes` (attribute, else the input).
    case unsqueeze(axes: [Int]?)
    /// inputs: X; output: X (also Dropout at inference).
    case identity
    /// inputs: X, pads (int64 [2·rank])?, value (scalar)?; output: X padded.
    case pad(PadAttributes)
    /// inputs: X; output: softmax along `axis` (opset < 13: of X flattened to 2-D at `axis`).
    case softmax(axis: Int, flattensTo2D: Bool)

    // MARK: Plan-time data (folded into constants when the model is planned)

    /// outputs: the constant.
    case constant(TensorValue)
    /// inputs: X; output: int64 [rank] shape of X (dimensions start..<end).
    case shape(start: Int, end: Int?)
    /// inputs: data, indices (int64); output: data gathered along `axis`.
    case gather(axis: Int)
    /// inputs: X; output: X converted to `to`.
    case cast(to: DataType)
    /// inputs: data, starts, ends, axes?, steps? (int64; or attributes before opset 10); output: the slice.
    case slice(SliceAttributes)
    /// inputs: shape (int64 [rank]); output: a tensor of that shape filled with `value` (float32 0 if nil).
    case constantOfShape(TensorValue?)
}

/// A binary element-wise operation.
public enum BinaryOperator: String, Sendable, Hashable, CaseIterable {
    case add = "Add"
    case sub = "Sub"
    case mul = "Mul"
    case div = "Div"

    public func apply(_ a: Double, _ b: Double) -> Double {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        }
    }

    /// Integer arithmetic as ONNX defines it for int64 (division truncates toward zero).
    func apply(_ a: Int64, _ b: Int64) -> Int64? {
        switch self {
        case .add: return a.addingReportingOverflow(b).overflow ? nil : a + b
        case .sub: return a.subtractingReportingOverflow(b).overflow ? nil : a - b
        case .mul: return a.multipliedReportingOverflow(by: b).overflow ? nil : a * b
        case .div: return b == 0 || (a == .min && b == -1) ? nil : a / b
        }
    }
}

/// ONNX `auto_pad`: explicit pads (`notSet`), or pads computed from the input size.
public enum AutoPad: String, Sendable, Hashable {
    case notSet = "NOTSET"
    /// Output size ⌈in / stride⌉, the extra pixel of an odd total pad at the end.
    case sameUpper = "SAME_UPPER"
    /// Output size ⌈in / stride⌉, the extra pixel of an odd total pad at the beginning.
    case sameLower = "SAME_LOWER"
    /// No padding.
    case valid = "VALID"
}

/// Conv's attributes (2-D: two spatial axes), plus what fusion adds.
public struct ConvolutionAttributes: Sendable, Equatable {
    /// [kH, kW], or nil: taken from the weight's shape.
    public var kernelShape: [Int]?
    public var strides: [Int]
    public var dilations: [Int]
    /// ONNX order: [top, left, bottom, right].
    public var pads: [Int]
    public var autoPad: AutoPad
    public var group: Int
    /// Applied last, after bias and residual (fused by `ActivationFusion`).
    public var activation: Activation
    /// The last input is added to the convolution before the activation (fused by `ResidualAddFusion`):
    /// the GEMM accumulates onto it, beta = 1.
    public var hasResidual: Bool

    public init(kernelShape: [Int]? = nil, strides: [Int] = [1, 1], dilations: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0],
                autoPad: AutoPad = .notSet, group: Int = 1, activation: Activation = .identity, hasResidual: Bool = false) {
        self.kernelShape = kernelShape
        self.strides = strides
        self.dilations = dilations
        self.pads = pads
        self.autoPad = autoPad
        self.group = group
        self.activation = activation
        self.hasResidual = hasResidual
    }
}

/// The stages of a fused depthwise chain, each a Conv's attributes (see `Operator.depthwiseChain`).
public struct DepthwiseChainAttributes: Sendable, Equatable {
    /// The 1x1 expansion (stride 1, no padding, group 1), or nil.
    public var expand: ConvolutionAttributes?
    /// The depthwise convolution (group = its channels).
    public var depthwise: ConvolutionAttributes
    /// The 1x1 projection (stride 1, no padding, group 1); `hasResidual`: R is input 7.
    public var project: ConvolutionAttributes
    /// Parameters of each stage as PyTorch counts them (expansion if any, depthwise, projection),
    /// so summaries can report the stages one by one.
    public var parameterCounts: [Int]

    public init(expand: ConvolutionAttributes?, depthwise: ConvolutionAttributes, project: ConvolutionAttributes,
                parameterCounts: [Int] = []) {
        self.expand = expand
        self.depthwise = depthwise
        self.project = project
        self.parameterCounts = parameterCounts
    }

    /// Input slots: X 0, expansion 1–2, depthwise 3–4, projection 5–6, residual 7.
    public static let (expandWeight, expandBias, depthwiseWeight, depthwiseBias, projectWeight, projectBias, residual) = (1, 2, 3, 4, 5, 6, 7)
}

/// MaxPool's and AveragePool's attributes (2-D).
public struct PoolingAttributes: Sendable, Equatable {
    public var kernelShape: [Int]
    public var strides: [Int]
    public var dilations: [Int]
    /// ONNX order: [top, left, bottom, right].
    public var pads: [Int]
    public var autoPad: AutoPad
    public var ceilMode: Bool
    /// AveragePool: divide by the window including padding.
    public var countIncludePad: Bool

    public init(kernelShape: [Int], strides: [Int]? = nil, dilations: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0],
                autoPad: AutoPad = .notSet, ceilMode: Bool = false, countIncludePad: Bool = false) {
        self.kernelShape = kernelShape
        self.strides = strides ?? [1, 1]
        self.dilations = dilations
        self.pads = pads
        self.autoPad = autoPad
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
    }
}

/// Gemm's attributes.
public struct GemmAttributes: Sendable, Equatable {
    public var alpha: Float
    public var beta: Float
    public var transposeA: Bool
    public var transposeB: Bool
    public var activation: Activation

    public init(alpha: Float = 1, beta: Float = 1, transposeA: Bool = false, transposeB: Bool = false,
                activation: Activation = .identity) {
        self.alpha = alpha
        self.beta = beta
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.activation = activation
    }
}

/// LRN's attributes: y = x / (bias + alpha/size · Σ x²)^beta over `size` channels.
public struct LRNAttributes: Sendable, Equatable {
    public var size: Int
    public var alpha: Float
    public var beta: Float
    public var bias: Float

    public init(size: Int, alpha: Float = 0.0001, beta: Float = 0.75, bias: Float = 1) {
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.bias = bias
    }
}

/// Pad's attributes.
public struct PadAttributes: Sendable, Equatable {
    public enum Mode: String, Sendable, Hashable {
        case constant, reflect, edge
    }

    public var mode: Mode
    /// [x1_begin, x2_begin, …, x1_end, x2_end, …] (opset < 11), or nil: the `pads` input.
    public var pads: [Int]?
    /// The constant (opset < 11), or nil: the `constant_value` input, default 0.
    public var value: Float?

    public init(mode: Mode = .constant, pads: [Int]? = nil, value: Float? = nil) {
        self.mode = mode
        self.pads = pads
        self.value = value
    }
}

/// Slice's attributes before opset 10 (after: inputs).
public struct SliceAttributes: Sendable, Equatable {
    public var starts: [Int]?
    public var ends: [Int]?
    public var axes: [Int]?

    public init(starts: [Int]? = nil, ends: [Int]? = nil, axes: [Int]? = nil) {
        self.starts = starts
        self.ends = ends
        self.axes = axes
    }
}

extension Operator {
    /// The ONNX op type this operator comes from (fused forms name their main op).
    public var typeName: String {
        switch self {
        case .conv, .depthwiseChain: return "Conv"
        case .gemm: return "Gemm"
        case .matMul: return "MatMul"
        case .batchNormalization: return "BatchNormalization"
        case .lrn: return "LRN"
        case .activation(let activation): return activation.description
        case .clip: return "Clip"
        case .binary(let op, _): return op.rawValue
        case .sum: return "Sum"
        case .maxPool: return "MaxPool"
        case .averagePool: return "AveragePool"
        case .globalAveragePool: return "GlobalAveragePool"
        case .globalMaxPool: return "GlobalMaxPool"
        case .concat: return "Concat"
        case .flatten: return "Flatten"
        case .reshape: return "Reshape"
        case .transpose: return "Transpose"
        case .squeeze: return "Squeeze"
        case .unsqueeze: return "Unsqueeze"
        case .identity: return "Identity"
        case .pad: return "Pad"
        case .softmax: return "Softmax"
        case .constant: return "Constant"
        case .shape: return "Shape"
        case .gather: return "Gather"
        case .cast: return "Cast"
        case .slice: return "Slice"
        case .constantOfShape: return "ConstantOfShape"
        }
    }

    /// The activation fused into this operator, if it can hold one.
    var fusedActivation: Activation? {
        switch self {
        case .conv(let a): return a.activation
        case .gemm(let a): return a.activation
        case .batchNormalization(_, let activation): return activation
        case .binary(_, let activation): return activation
        case .sum(let activation): return activation
        default: return nil
        }
    }

    /// This operator with `activation` fused in (nil if it cannot hold one).
    func fusing(_ activation: Activation) -> Operator? {
        switch self {
        case .conv(var a): a.activation = activation; return .conv(a)
        case .gemm(var a): a.activation = activation; return .gemm(a)
        case .batchNormalization(let epsilon, _): return .batchNormalization(epsilon: epsilon, activation: activation)
        case .binary(let op, _): return .binary(op, activation: activation)
        case .sum: return .sum(activation: activation)
        default: return nil
        }
    }
}
