/// PyTorch's `flatten(1)` of an NCHW tensor, on Pointwise's NHWC data:
/// x: [N, H, W, C] -> [N, C·H·W], element (c, h, w) at c·H·W + h·W + w, the order PyTorch's
/// `Linear` after `flatten` expects. (With H = W = 1 this is a plain copy.)
public final class Flatten: Layer {
    public var name: String
    private var shapes = ShapeCache()

    public init(name: String = "") { self.name = name }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        let (n, h, w, c) = try nhwc(shape, for: "flatten")
        return [n, c * h * w]
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let output = shapes.cached(shape) { return output }
        return shapes.remember(shape, try outputShape(forInput: shape))
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int) {
        let input = shapes.input!
        let (h, w, c) = (input[1], input[2], input[3])
        for n in 0..<input[0] {
            for p in 0..<(h * w) {
                for ch in 0..<c { y[n * ldy + ch * h * w + p] = x[(n * h * w + p) * c + ch] }
            }
        }
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        rows.append(LayerSummary(name: name, kind: .other("Flatten"), outputShape: try outputShape(forInput: inputShape),
                                 parameters: 0, weights: 0, macs: 0, gemm: ""))
    }
}
