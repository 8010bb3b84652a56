/// Fully connected layer, PyTorch's `Linear(in, out)` with weight `[out, in]`:
/// x: [N, in] (or [N, 1, 1, in] straight from a global pool) -> [N, out],
/// one SGEMM: M = N, K = in, N = out, B = weightᵀ (read transposed in place).
public final class Linear: Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let activation: Activation
    public var name: String
    /// `.naive`: a direct loop in Double instead of the SGEMM (benchmark baseline).
    public var kernelPath: KernelPath = .lowered
    let weight: [Float]
    let bias: [Float]?
    private var shapes = ShapeCache()

    public init(inFeatures: Int, outFeatures: Int, weight: Tensor, bias: Tensor? = nil,
                activation: Activation = .identity, name: String = "") throws {
        for (label, value) in [("inFeatures", inFeatures), ("outFeatures", outFeatures)] where value < 1 {
            throw PointwiseError.invalidArgument(name: label, value: "\(value)", requirement: "≥ 1")
        }
        guard weight.shape == [outFeatures, inFeatures] else {
            throw PointwiseError.shapeMismatch(what: "weight shape ([out, in])" + (name.isEmpty ? "" : " of \(name)"),
                                               expected: describe([outFeatures, inFeatures]), actual: describe(weight.shape))
        }
        if let bias, bias.shape != [outFeatures] {
            throw PointwiseError.shapeMismatch(what: "bias shape" + (name.isEmpty ? "" : " of \(name)"),
                                               expected: describe([outFeatures]), actual: describe(bias.shape))
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.activation = activation
        self.name = name
        self.weight = weight.scalars
        self.bias = bias?.scalars
    }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        if let output = shapes.cached(shape) { return output }
        let flat = shape.count == 2 || (shape.count == 4 && shape[1] == 1 && shape[2] == 1)
        guard flat, shape.last == inFeatures, shape.allSatisfy({ $0 >= 1 }) else {
            throw PointwiseError.shapeMismatch(what: "Linear input shape" + (name.isEmpty ? "" : " of \(name)"),
                                               expected: "[N, \(inFeatures)] or [N, 1, 1, \(inFeatures)]",
                                               actual: describe(shape))
        }
        return [shape[0], outFeatures]
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let output = shapes.cached(shape) { return output }
        return shapes.remember(shape, try outputShape(forInput: shape))
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int) {
        let batch = shapes.input![0]
        if kernelPath == .naive {
            for b in 0..<batch {
                for o in 0..<outFeatures {
                    var sum = Double(bias?[o] ?? 0)
                    for i in 0..<inFeatures { sum += Double(x[b * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                    y[b * ldy + o] = activation.apply(Float(sum))
                }
            }
            return
        }
        weight.withUnsafeBufferPointer { w in
            GEMM.sgemm(m: batch, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
                       b: w.baseAddress!, ldb: inFeatures, transposeB: true, c: y, ldc: ldy)
        }
        bias.withOptionalPointer { bias in
            Epilogue.apply(bias: bias, activation: activation, to: y, rows: batch, columns: outFeatures, rowStride: ldy)
        }
    }

    public func addMemoryUse(to use: inout MemoryUse) {
        use.addWeights(weight)
        use.addWeights(bias)
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        let output = try outputShape(forInput: inputShape)
        rows.append(LayerSummary(name: name, kind: .linear, outputShape: output,
                                 parameters: weight.count + (bias?.count ?? 0), weights: weight.count,
                                 macs: output[0] * inFeatures * outFeatures,
                                 gemm: "\(output[0])×\(inFeatures)×\(outFeatures)"))
    }
}
