/// An operator, block or network on NHWC activations, run in the XNNPACK style:
/// built once (weights packed), then `prepare`d for an input shape (which sizes
/// every buffer and workspace it owns), then `run` any number of times without
/// allocating. Preparing again with the same shape is free.
///
/// A layer instance owns its buffers: it is not safe to run it from two threads at once.
public protocol Layer: AnyObject {
    /// The output shape for an input shape, checking the input; allocates nothing.
    func outputShape(forInput shape: [Int]) throws -> [Int]

    /// Sizes buffers and workspaces for `shape` (allocating only when it grows) and
    /// returns the output shape. `run` then expects this input shape.
    @discardableResult
    func prepare(forInput shape: [Int]) throws -> [Int]

    /// Runs on the prepared input shape. `x` is dense (pixel rows `C` floats apart); output
    /// pixel rows are `outputRowStride` floats apart, so the output can be a channel slice
    /// of a wider tensor (zero-copy concat).
    func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride: Int)

    /// Appends one row per primitive layer (convolution, pool, linear, ...) for
    /// `pointwise summary`, each named by its PyTorch module path.
    func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws

    /// Adds the memory this layer holds (weights, intermediate buffers, workspaces) to `use`.
    func addMemoryUse(to use: inout MemoryUse)

    /// The layers this one is composed of (empty for primitive operators).
    var sublayers: [Layer] { get }
}

extension Layer {
    /// Layers that hold no weights or buffers add nothing.
    public func addMemoryUse(to use: inout MemoryUse) {}

    /// Primitive operators have no sublayers.
    public var sublayers: [Layer] { [] }

    /// This layer and every layer inside it, depth first.
    public var allLayers: [Layer] { [self] + sublayers.flatMap(\.allLayers) }

    /// The memory this layer holds now (after `prepare`, its buffers are sized).
    public var memoryUse: MemoryUse {
        var use = MemoryUse()
        addMemoryUse(to: &use)
        return use
    }

    /// `layer(x)`, allocating the output tensor.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        var output = try Tensor(zeros: outputShape(forInput: input.shape))
        try forward(input, into: &output)
        return output
    }

    /// Writes `layer(input)` into `output`, which must have the output shape. Allocates
    /// nothing once the layer has been prepared for this input shape.
    public func forward(_ input: Tensor, into output: inout Tensor) throws {
        let outShape = try prepare(forInput: input.shape)
        guard output.shape == outShape else {
            throw PointwiseError.shapeMismatch(what: "output shape", expected: describe(outShape),
                                               actual: describe(output.shape))
        }
        let rowStride = outShape.last!
        input.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                run(x.baseAddress!, into: y.baseAddress!, outputRowStride: rowStride)
            }
        }
    }
}

/// The NHWC dimensions of an input shape, or an error naming the layer and the shape.
func nhwc(_ shape: [Int], channels: Int? = nil, for layer: String) throws -> (n: Int, h: Int, w: Int, c: Int) {
    guard shape.count == 4 else {
        throw PointwiseError.shapeMismatch(what: "\(layer) input rank", expected: "4 ([N, H, W, C])",
                                           actual: "\(shape.count) (\(describe(shape)))")
    }
    if let bad = shape.firstIndex(where: { $0 < 1 }) {
        throw PointwiseError.invalidArgument(name: "dimension \(bad) of \(layer) input shape \(describe(shape))",
                                             value: "\(shape[bad])", requirement: "≥ 1")
    }
    if let channels, shape[3] != channels {
        throw PointwiseError.shapeMismatch(what: "\(layer) input channels (input shape \(describe(shape)), NHWC)",
                                           expected: "\(channels)", actual: "\(shape[3])")
    }
    return (shape[0], shape[1], shape[2], shape[3])
}
