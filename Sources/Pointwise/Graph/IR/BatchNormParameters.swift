/// Inference-time BatchNorm parameters for C channels (PyTorch's `BatchNorm2d` in eval mode):
/// y = (x − running_mean) / √(running_var + eps) · weight + bias.
public struct BatchNormParameters: Sendable {
    public var weight: [Float]
    public var bias: [Float]
    public var runningMean: [Float]
    public var runningVar: [Float]
    public var eps: Float

    public init(weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float], eps: Float = 1e-5) throws {
        let channels = weight.count
        for (name, values) in [("bias", bias), ("running_mean", runningMean), ("running_var", runningVar)]
        where values.count != channels {
            throw PointwiseError.shapeMismatch(what: "BatchNorm \(name) shape", expected: describe([channels]),
                                               actual: describe([values.count]))
        }
        if let bad = runningVar.firstIndex(where: { !($0 + eps > 0) }) {
            throw PointwiseError.invalidArgument(name: "BatchNorm running_var[\(bad)] + eps", value: "\(runningVar[bad] + eps)",
                                                 requirement: "> 0")
        }
        self.weight = weight
        self.bias = bias
        self.runningMean = runningMean
        self.runningVar = runningVar
        self.eps = eps
    }

    public var channels: Int { weight.count }

    /// Per channel, y = scale·x + shift with scale = weight/√(var + eps), shift = bias − mean·scale
    /// (computed in Double, so folding adds no rounding beyond the final Float conversion).
    var scaleAndShift: (scale: [Double], shift: [Double]) {
        var scale = [Double](repeating: 0, count: channels)
        var shift = [Double](repeating: 0, count: channels)
        for c in 0..<channels {
            scale[c] = Double(weight[c]) / (Double(runningVar[c]) + Double(eps)).squareRoot()
            shift[c] = Double(bias[c]) - Double(runningMean[c]) * scale[c]
        }
        return (scale, shift)
    }

    /// Folds this BatchNorm into the convolution before it: weight `[Cout, ...]` rows are
    /// scaled by scale[o]; the bias becomes (bias − mean)·scale + beta.
    func fold(weight: Tensor, bias: Tensor?) throws -> (weight: Tensor, bias: Tensor) {
        let outChannels = weight.shape[0]
        guard outChannels == channels else {
            throw PointwiseError.shapeMismatch(what: "BatchNorm channels after a convolution with \(outChannels) outputs",
                                               expected: "\(outChannels)", actual: "\(channels)")
        }
        let (scale, shift) = scaleAndShift
        let perChannel = outChannels == 0 ? 0 : weight.count / outChannels  // (a convolution may have no outputs)
        var folded = weight
        for o in 0..<outChannels {
            for i in 0..<perChannel { folded.scalars[o * perChannel + i] = Float(Double(weight.scalars[o * perChannel + i]) * scale[o]) }
        }
        let foldedBias = (0..<outChannels).map { o in Float(Double(bias?.scalars[o] ?? 0) * scale[o] + shift[o]) }
        return (folded, try Tensor(shape: [outChannels], scalars: foldedBias))
    }
}
