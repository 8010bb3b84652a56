/// Max or average pooling over KH×KW windows on NHWC, PyTorch's `MaxPool2d` / `AvgPool2d`.
/// x: [N, H, W, C] -> [N, H', W', C]
public final class Pool2D: Layer {
    public enum Mode: Sendable, Equatable {
        case max
        /// `countIncludePad`: divide by the window size including padding (PyTorch's default), or by
        /// the number of input pixels it covers.
        case average(countIncludePad: Bool)
    }

    public let mode: Mode
    public let kernel: Size2D
    public let stride: Size2D
    /// Symmetric padding (PyTorch's pools pad both sides equally; at most half the kernel).
    public let padding: Size2D
    public let ceilMode: Bool
    public let name: String
    public let execution = LayerExecution()

    /// `stride` defaults to the kernel size, as in PyTorch.
    public init(_ mode: Mode, kernel: Size2D, stride: Size2D? = nil, padding: Size2D = Size2D(0),
                ceilMode: Bool = false, name: String = "") throws {
        let stride = stride ?? kernel
        for (label, value, minimum) in [("kernel height", kernel.height, 1), ("kernel width", kernel.width, 1),
                                        ("stride height", stride.height, 1), ("stride width", stride.width, 1),
                                        ("padding height", padding.height, 0), ("padding width", padding.width, 0)]
        where value < minimum {
            throw PointwiseError.invalidArgument(name: "pool \(label)", value: "\(value)", requirement: "≥ \(minimum)")
        }
        guard 2 * padding.height <= kernel.height, 2 * padding.width <= kernel.width else {
            throw PointwiseError.invalidArgument(name: "pool padding", value: "\(padding)",
                                                 requirement: "at most half the kernel \(kernel)")
        }
        self.mode = mode
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.ceilMode = ceilMode
        self.name = name
    }

    public var layerName: String { name.isEmpty ? "Pool2D" : name }

    public func checkInput(_ shape: [Int]) throws { _ = try nhwc(shape, for: "pool") }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        builder.pool(mode, input, kernel: kernel, stride: stride, padding: Padding2D(height: padding.height, width: padding.width),
                     ceilMode: ceilMode, name: name.isEmpty ? "pool" : name)
    }
}

/// Global average pooling (`AdaptiveAvgPool2d(1)`): x: [N, H, W, C] -> [N, 1, 1, C].
public final class GlobalAveragePool: Layer {
    public let name: String
    public let execution = LayerExecution()

    public init(name: String = "") { self.name = name }

    public func checkInput(_ shape: [Int]) throws { _ = try nhwc(shape, for: "global average pool") }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        builder.globalAveragePool(input, name: name.isEmpty ? "global_average_pool" : name)
    }
}

/// PyTorch's `flatten(1)` of an NCHW tensor, on NHWC data: x: [N, H, W, C] -> [N, C·H·W], element
/// (c, h, w) at c·H·W + h·W + w, the order PyTorch's `Linear` after `flatten` expects (a copy when
/// H·W > 1, free when H = W = 1).
public final class Flatten: Layer {
    public let name: String
    public let execution = LayerExecution()

    public init(name: String = "") { self.name = name }

    public func checkInput(_ shape: [Int]) throws { _ = try nhwc(shape, for: "flatten") }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        builder.flatten(input, name: name.isEmpty ? "flatten" : name)
    }
}

/// Softmax over the last dimension: x: [..., K] -> [..., K], each row summing to 1, computed as
/// exp(x − max) / Σ exp(x − max) so that large logits do not overflow.
public final class Softmax: Layer {
    public let name: String
    public let execution = LayerExecution()

    public init(name: String = "") { self.name = name }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        // On NHWC data the logical last axis is W: softmax over the channels is axis 1 (C) for rank 4.
        builder.softmax(input, axis: -1, name: name.isEmpty ? "softmax" : name)
    }
}

/// Fully connected layer, PyTorch's `Linear(in, out)` with weight `[out, in]`:
/// x: [N, in] (or [N, 1, 1, in] straight from a global pool) -> [N, out],
/// one SGEMM: M = N, K = in, N = out, B = weightᵀ (read transposed in place).
public final class Linear: Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let activation: Activation
    public let name: String
    public let weight: Tensor
    public let bias: Tensor?
    public let execution = LayerExecution()

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
        self.weight = weight
        self.bias = bias
    }

    public var layerName: String { name.isEmpty ? "Linear" : name }

    public func checkInput(_ shape: [Int]) throws {
        let flat = shape.count == 2 || (shape.count == 4 && shape[1] == 1 && shape[2] == 1)
        guard flat, shape.last == inFeatures, shape.allSatisfy({ $0 >= 1 }) else {
            throw PointwiseError.shapeMismatch(what: "Linear input shape" + (name.isEmpty ? "" : " of \(name)"),
                                               expected: "[N, \(inFeatures)] or [N, 1, 1, \(inFeatures)]",
                                               actual: describe(shape))
        }
    }

    public func emit(_ input: ValueID, into builder: GraphBuilder) throws -> ValueID {
        let nodeName = name.isEmpty ? "linear" : name
        // A 4-D input comes from a global pool: [N, C, 1, 1] flattens to [N, C] without a copy.
        let x = builder.rank(of: input) == 4 ? builder.flatten(input, name: nodeName + ".flatten") : input
        let y = builder.linear(x, weight: weight, bias: bias, name: nodeName)
        return builder.activation(y, activation, name: nodeName + ".act")
    }
}
