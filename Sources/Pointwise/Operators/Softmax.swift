/// Softmax over the last dimension: x: [..., K] -> [..., K], each row summing to 1.
/// Computed as exp(x − max) / Σ exp(x − max), so large logits do not overflow.
public final class Softmax: Layer {
    public var name: String
    private var prepared: (input: [Int], rows: Int)?

    public init(name: String = "") { self.name = name }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        try Tensor.validate(shape)
        return shape
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if prepared?.input != shape { prepared = (try outputShape(forInput: shape), shape.dropLast().reduce(1, *)) }
        return shape
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int) {
        let (shape, rows) = prepared!
        let k = shape.last!
        for r in 0..<rows {
            let input = x + r * k, out = y + r * ldy
            var largest = -Float.infinity
            for i in 0..<k { largest = max(largest, input[i]) }
            var sum: Float = 0
            for i in 0..<k { out[i] = (input[i] - largest).exp(); sum += out[i] }
            let scale = 1 / sum
            for i in 0..<k { out[i] *= scale }
        }
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        rows.append(LayerSummary(name: name, kind: .other("Softmax"), outputShape: try outputShape(forInput: inputShape),
                                 parameters: 0, weights: 0, macs: 0, gemm: ""))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Float {
    @inline(__always) func exp() -> Float { expf(self) }
}
