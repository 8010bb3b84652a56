/// Layers run one after another, each intermediate result in a buffer of its own that
/// `prepare` sizes once and every later run reuses. x: input of the first layer -> output of the last.
public final class Sequential: Layer {
    public let layers: [Layer]
    private var buffers: [FeatureBuffer]
    private var prepared: (input: [Int], output: [Int])?
    /// Channels of each intermediate result: its pixel row stride.
    private var intermediateChannels: [Int] = []

    public init(_ layers: [Layer]) {
        precondition(!layers.isEmpty, "Sequential needs at least one layer")
        self.layers = layers
        self.buffers = (0..<(layers.count - 1)).map { _ in FeatureBuffer() }
    }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        return try layers.reduce(shape) { try $1.outputShape(forInput: $0) }
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        var current = shape
        var channels: [Int] = []
        for (index, layer) in layers.enumerated() {
            current = try layer.prepare(forInput: current)
            if index < buffers.count {
                buffers[index].reserve(current.reduce(1, *))
                channels.append(current.last!)
            }
        }
        prepared = (shape, current)
        intermediateChannels = channels
        return current
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride: Int) {
        var input = x
        for index in 0..<(layers.count - 1) {
            layers[index].run(input, into: buffers[index].pointer, outputRowStride: intermediateChannels[index])
            input = UnsafePointer(buffers[index].pointer)
        }
        layers[layers.count - 1].run(input, into: y, outputRowStride: outputRowStride)
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        var current = inputShape
        for layer in layers {
            try layer.summarize(inputShape: current, into: &rows)
            current = try layer.outputShape(forInput: current)
        }
    }

    public var sublayers: [Layer] { layers }

    public func addMemoryUse(to use: inout MemoryUse) {
        for buffer in buffers { use.addActivations(buffer) }
        for layer in layers { layer.addMemoryUse(to: &use) }
    }
}
