/// A whole network: NHWC image batch in, logits out.
/// x: [N, 224, 224, 3] (other sizes work where every layer fits) -> [N, classes]
///
/// Built once from a `ParameterSource` (seeded random, or trained weights by their
/// torchvision names), with every BatchNorm folded into the convolution before it.
/// The first `prepare` for an input shape allocates every intermediate buffer and
/// workspace; later runs with that shape allocate nothing.
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
    public let body: Sequential
    /// [1, 224, 224, 3]: the input size the network was designed for.
    public let nominalInputShape: [Int]
    private var prepared: (input: [Int], output: [Int])?

    init(name: String, layers: [Layer], nominalInputShape: [Int] = [1, 224, 224, 3]) {
        self.name = name
        self.body = Sequential(layers)
        self.nominalInputShape = nominalInputShape
        // Layers run one at a time, so one im2col workspace, sized for the largest, serves them all.
        let workspace = FeatureBuffer()
        for case let conv as Conv2D in body.allLayers { conv.workspace = workspace }
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

    /// Checks rank and channels first, then reports a layer that does not fit with the network's context.
    private func checked<T>(_ shape: [Int], _ body: () throws -> T) throws -> T {
        _ = try nhwc(shape, channels: nominalInputShape[3], for: name)
        do {
            return try body()
        } catch let error as PointwiseError {
            throw PointwiseError.shapeMismatch(
                what: "\(name) input size (input \(describe(shape)), NHWC; a layer does not fit: \(error))",
                expected: "[N, \(nominalInputShape[1]), \(nominalInputShape[2]), \(nominalInputShape[3])] or another size every layer fits",
                actual: describe(shape))
        }
    }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        return try checked(shape) { try body.outputShape(forInput: shape) }
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        let output = try checked(shape) { try body.prepare(forInput: shape) }
        prepared = (shape, output)
        return output
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride: Int) {
        body.run(x, into: y, outputRowStride: outputRowStride)
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        try checked(inputShape) { try body.summarize(inputShape: inputShape, into: &rows) }
    }

    public func addMemoryUse(to use: inout MemoryUse) { body.addMemoryUse(to: &use) }
    public var sublayers: [Layer] { [body] }

    /// The per-layer summary for an input shape (default: the nominal one).
    public func summary(inputShape: [Int]? = nil) throws -> ModelSummary {
        var rows: [LayerSummary] = []
        let shape = inputShape ?? nominalInputShape
        try summarize(inputShape: shape, into: &rows)
        return ModelSummary(network: name, inputShape: shape, rows: rows)
    }
}
