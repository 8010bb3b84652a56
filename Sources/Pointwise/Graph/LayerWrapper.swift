/// A block that is, as far as running goes, one inner layer (a `Sequential` or a
/// `ChannelConcat`) built with names and structure of its own: everything is forwarded to `body`.
public protocol LayerWrapper: Layer {
    var body: Layer { get }
}

extension LayerWrapper {
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
