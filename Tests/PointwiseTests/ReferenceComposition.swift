@testable import Pointwise

/// Builds reference results from the same named parameters a block reads, using only
/// the naive `Reference` operators (unfolded BatchNorm, separate activation, explicit add
/// and concat): an independent composition to check the blocks against.
struct ReferenceComposer {
    let parameters: RandomParameters

    func convBN(_ x: Tensor, conv: String, bn: String, _ cin: Int, _ cout: Int, kernel: Size2D, stride: Size2D = 1,
                padding: Padding2D = 0, groups: Int = 1, eps: Float = 1e-5, activation: Activation) throws -> Tensor {
        let weight = try parameters.tensor("\(conv).weight", shape: [cout, cin / groups, kernel.height, kernel.width],
                                           role: .weight(fanIn: cin / groups * kernel.height * kernel.width))
        let y = try Reference.conv2D(x, weight: weight, stride: stride, padding: padding, groups: groups)
        return apply(activation, Reference.batchNorm(y, try parameters.batchNorm(bn, channels: cout, eps: eps)))
    }

    func apply(_ activation: Activation, _ x: Tensor) -> Tensor {
        var y = x
        for i in 0..<y.count { y.scalars[i] = Float(activation.apply(Double(x.scalars[i]))) }
        return y
    }

    func sum(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        precondition(a.shape == b.shape)
        return try Tensor(shape: a.shape, scalars: zip(a.scalars, b.scalars).map { Float(Double($0) + Double($1)) })
    }

    func bottleneck(_ x: Tensor, prefix: String, inChannels: Int, width: Int, stride: Int) throws -> Tensor {
        let out = 4 * width
        var y = try convBN(x, conv: "\(prefix).conv1", bn: "\(prefix).bn1", inChannels, width, kernel: 1, activation: .relu)
        y = try convBN(y, conv: "\(prefix).conv2", bn: "\(prefix).bn2", width, width, kernel: 3, stride: Size2D(stride),
                       padding: 1, activation: .relu)
        y = try convBN(y, conv: "\(prefix).conv3", bn: "\(prefix).bn3", width, out, kernel: 1, activation: .identity)
        let shortcut = stride != 1 || inChannels != out
            ? try convBN(x, conv: "\(prefix).downsample.0", bn: "\(prefix).downsample.1", inChannels, out, kernel: 1,
                         stride: Size2D(stride), activation: .identity)
            : x
        return Reference.relu(try sum(y, shortcut))
    }

    func inception(_ x: Tensor, prefix: String, _ c: (Int, Int, Int, Int, Int, Int, Int), branch3Kernel: Int) throws -> Tensor {
        func basic(_ input: Tensor, _ path: String, _ cin: Int, _ cout: Int, _ k: Int) throws -> Tensor {
            try convBN(input, conv: "\(prefix).\(path).conv", bn: "\(prefix).\(path).bn", cin, cout, kernel: Size2D(k),
                       padding: Padding2D(k / 2), eps: 0.001, activation: .relu)
        }
        let b1 = try basic(x, "branch1", c.0, c.1, 1)
        let b2 = try basic(basic(x, "branch2.0", c.0, c.2, 1), "branch2.1", c.2, c.3, 3)
        let b3 = try basic(basic(x, "branch3.0", c.0, c.4, 1), "branch3.1", c.4, c.5, branch3Kernel)
        let pooled = try Reference.maxPool(x, kernel: 3, stride: 1, padding: Size2D(1), ceilMode: true)
        let b4 = try basic(pooled, "branch4.1", c.0, c.6, 1)
        return try Reference.concatChannels([b1, b2, b3, b4])
    }

    func depthwiseSeparable(_ x: Tensor, prefix: String, inChannels: Int, outChannels: Int, stride: Int) throws -> Tensor {
        let d = try convBN(x, conv: "\(prefix).depthwise.0", bn: "\(prefix).depthwise.1", inChannels, inChannels,
                           kernel: 3, stride: Size2D(stride), padding: 1, groups: inChannels, activation: .relu)
        return try convBN(d, conv: "\(prefix).pointwise.0", bn: "\(prefix).pointwise.1", inChannels, outChannels,
                          kernel: 1, activation: .relu)
    }

    func invertedResidual(_ x: Tensor, prefix: String, inChannels: Int, outChannels: Int, stride: Int, expandRatio t: Int) throws -> Tensor {
        let hidden = inChannels * t
        var y = x
        var index = 0
        if t != 1 {
            y = try convBN(y, conv: "\(prefix).conv.0.0", bn: "\(prefix).conv.0.1", inChannels, hidden, kernel: 1, activation: .relu6)
            index = 1
        }
        y = try convBN(y, conv: "\(prefix).conv.\(index).0", bn: "\(prefix).conv.\(index).1", hidden, hidden, kernel: 3,
                       stride: Size2D(stride), padding: 1, groups: hidden, activation: .relu6)
        y = try convBN(y, conv: "\(prefix).conv.\(index + 1)", bn: "\(prefix).conv.\(index + 2)", hidden, outChannels,
                       kernel: 1, activation: .identity)
        return stride == 1 && inChannels == outChannels ? try sum(y, x) : y
    }
}
