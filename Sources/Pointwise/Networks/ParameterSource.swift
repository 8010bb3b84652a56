/// What a parameter is, so a source that invents values can pick a sensible distribution.
public enum ParameterRole: Sendable, Equatable {
    /// Convolution or linear weight; `fanIn` = inputs per output (Cin/groups·KH·KW, or in).
    case weight(fanIn: Int)
    case bias(fanIn: Int)
    case batchNormWeight
    case batchNormBias
    case runningMean
    case runningVar
}

/// Where a network's parameters come from, by PyTorch state_dict name (`layer1.0.conv1.weight`)
/// in PyTorch layout. Builders ask for each tensor with the shape they need.
public protocol ParameterSource: AnyObject {
    func tensor(_ name: String, shape: [Int], role: ParameterRole) throws -> Tensor
}

/// Seeded random parameters, the same for a given (seed, name) on every platform.
///
/// Weights are He-uniform (±√(6 / fan-in)), biases ±1/√fan-in; BatchNorm statistics are
/// randomised (mean ±0.1, var 0.5…1.5, weight 0.5…1.5, bias ±0.1) so that folding is
/// really exercised. Also records every name and shape asked for, in order.
public final class RandomParameters: ParameterSource {
    public let seed: UInt64
    /// (name, shape) of every tensor handed out, in the order the builder asked.
    public private(set) var requested: [(name: String, shape: [Int])] = []

    public init(seed: UInt64) { self.seed = seed }

    public func tensor(_ name: String, shape: [Int], role: ParameterRole) throws -> Tensor {
        requested.append((name, shape))
        let seed = self.seed ^ Self.fnv1a(name)
        switch role {
        case .weight(let fanIn):
            let bound = (6 / Float(fanIn)).squareRoot()
            return try Tensor(randomUniform: shape, in: -bound...bound, seed: seed)
        case .bias(let fanIn):
            let bound = 1 / Float(fanIn).squareRoot()
            return try Tensor(randomUniform: shape, in: -bound...bound, seed: seed)
        case .batchNormWeight: return try Tensor(randomUniform: shape, in: 0.5...1.5, seed: seed)
        case .batchNormBias: return try Tensor(randomUniform: shape, in: -0.1...0.1, seed: seed)
        case .runningMean: return try Tensor(randomUniform: shape, in: -0.1...0.1, seed: seed)
        case .runningVar: return try Tensor(randomUniform: shape, in: 0.5...1.5, seed: seed)
        }
    }

    /// FNV-1a, a stable hash of the name (Swift's `hashValue` changes between runs).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}

extension ParameterSource {
    /// The four tensors of `BatchNorm2d` at `prefix` (weight, bias, running_mean, running_var).
    public func batchNorm(_ prefix: String, channels: Int, eps: Float) throws -> BatchNormParameters {
        try BatchNormParameters(
            weight: tensor("\(prefix).weight", shape: [channels], role: .batchNormWeight).scalars,
            bias: tensor("\(prefix).bias", shape: [channels], role: .batchNormBias).scalars,
            runningMean: tensor("\(prefix).running_mean", shape: [channels], role: .runningMean).scalars,
            runningVar: tensor("\(prefix).running_var", shape: [channels], role: .runningVar).scalars,
            eps: eps)
    }

    /// Convolution (no bias) + BatchNorm + activation: the unit every network here is built of (the
    /// passes fold the BatchNorm and fuse the activation).
    /// `conv` and `bn` are the PyTorch module paths of the two layers.
    public func convBatchNorm(conv: String, bn: String, _ inChannels: Int, _ outChannels: Int, kernel: Size2D,
                       stride: Size2D = 1, padding: Padding2D = 0, groups: Int = 1,
                       activation: Activation, eps: Float = 1e-5) throws -> Conv2D {
        let weightShape = [outChannels, inChannels / groups, kernel.height, kernel.width]
        let weight = try tensor("\(conv).weight", shape: weightShape,
                                role: .weight(fanIn: inChannels / groups * kernel.height * kernel.width))
        return try Conv2D(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                          padding: padding, groups: groups, weight: weight,
                          batchNorm: batchNorm(bn, channels: outChannels, eps: eps), activation: activation, name: conv,
                          batchNormName: bn)
    }

    /// `Linear(in, out)` with bias at `prefix`.
    public func linear(_ prefix: String, _ inFeatures: Int, _ outFeatures: Int) throws -> Linear {
        try Linear(inFeatures: inFeatures, outFeatures: outFeatures,
                   weight: tensor("\(prefix).weight", shape: [outFeatures, inFeatures], role: .weight(fanIn: inFeatures)),
                   bias: tensor("\(prefix).bias", shape: [outFeatures], role: .bias(fanIn: inFeatures)), name: prefix)
    }
}
