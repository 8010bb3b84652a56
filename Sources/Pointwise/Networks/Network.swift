/// A whole network: NHWC image batch in, logits out.
/// x: [N, 224, 224, 3] (other sizes work where every layer fits) -> [N, classes]
///
/// Built once from a `ParameterSource` (seeded random, or trained weights by their torchvision
/// names). Running it builds its graph (PyTorch's nodes: Conv, BatchNormalization, Relu, Add,
/// Concat, pools, Flatten, Gemm), which the passes optimise and the planner compiles per input
/// shape; every later run on that shape allocates nothing.
public final class Network: Layer {
    /// The four networks Pointwise builds.
    public enum Architecture: String, CaseIterable, Sendable {
        case resnet50
        case googlenet
        case mobilenetV1 = "mobilenet_v1"
        case mobilenetV2 = "mobilenet_v2"

        public var displayName: String {
            switch self {
            case .resnet50: return "ResNet-50"
            case .googlenet: return "GoogLeNet"
            case .mobilenetV1: return "MobileNetV1"
            case .mobilenetV2: return "MobileNetV2"
            }
        }
    }

    public let name: String
    public let layers: [Layer]
    /// [1, 224, 224, 3]: the input size the network was designed for.
    public let nominalInputShape: [Int]
    public let execution = LayerExecution()

    init(name: String, layers: [Layer], nominalInputShape: [Int] = [1, 224, 224, 3]) {
        self.name = name
        self.layers = layers
        self.nominalInputShape = nominalInputShape
    }

    /// Builds `architecture` with parameters from `parameters` (1000 classes, width 1.0).
    /// `transformInput` is GoogLeNet's `transform_input` (see `load`); other networks reject it.
    public static func build(_ architecture: Architecture, parameters: ParameterSource,
                             transformInput: Bool = false) throws -> Network {
        guard !transformInput || architecture == .googlenet else {
            throw PointwiseError.invalidArgument(name: "transformInput for \(architecture.displayName)", value: "true",
                                                 requirement: "false (only GoogLeNet has transform_input)")
        }
        switch architecture {
        case .resnet50: return try resNet50(parameters)
        case .googlenet: return try googLeNet(parameters, transformInput: transformInput)
        case .mobilenetV1: return try mobileNetV1(parameters)
        case .mobilenetV2: return try mobileNetV2(parameters)
        }
    }

    public var layerName: String { name }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        try layers.reduce(input) { try $1.emit($0, into: builder) }
    }

    /// Rank and channels are checked before anything is planned.
    public func checkInput(_ shape: [Int]) throws { _ = try nhwc(shape, channels: nominalInputShape[3], for: name) }

    /// A layer that does not fit the input size is reported with the network's context.
    public func explain(_ error: PointwiseError, inputShape shape: [Int]) -> PointwiseError {
        if case .shapeMismatch(let what, _, _) = error, what.hasPrefix(name) { return error }
        if case .invalidArgument(let what, _, _) = error, what.contains("\(name) input") { return error }
        return PointwiseError.shapeMismatch(
            what: "\(name) input size (input \(describe(shape)), NHWC; a layer does not fit: \(error))",
            expected: "[N, \(nominalInputShape[1]), \(nominalInputShape[2]), \(nominalInputShape[3])] or another size every layer fits",
            actual: describe(shape))
    }

    /// The per-step summary for an input shape (default: the nominal one).
    public func summary(inputShape: [Int]? = nil) throws -> ModelSummary {
        try summary(inputShape: inputShape ?? nominalInputShape)
    }
}
