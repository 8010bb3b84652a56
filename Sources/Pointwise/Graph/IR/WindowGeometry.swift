/// The output size and padding of a sliding window along one spatial axis (convolution or
/// pooling), from ONNX's attributes: explicit pads or `auto_pad`, stride, dilation, ceil mode.
///
/// Explicit pads: out = ⌊(in + begin + end − extent) / stride⌋ + 1 (the ceiling in ceil mode, less one
/// if the last window would start past the input and the begin padding, PyTorch's rule), with
/// extent = dilation·(kernel − 1) + 1. SAME_UPPER / SAME_LOWER: out = ⌈in / stride⌉ and the total
/// padding max(0, (out − 1)·stride + extent − in), its odd pixel at the end (upper) or the beginning
/// (lower). VALID: no padding.
public struct WindowAxis: Sendable, Equatable {
    public let outputSize: Int
    public let padBegin: Int
    public let padEnd: Int

    /// Throws, naming `what`, when the values cannot make a window (non-positive kernel, stride or
    /// dilation, negative pads, a window larger than the padded input) or the arithmetic would overflow.
    public init(inputSize: Int, kernel: Int, stride: Int, dilation: Int, padBegin: Int, padEnd: Int,
                autoPad: AutoPad, ceilMode: Bool = false, what: String) throws {
        func check(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws {
            guard range.contains(value) else {
                throw PointwiseError.invalidArgument(name: "\(what) \(name)", value: "\(value)",
                                                     requirement: "in \(range.lowerBound)...\(range.upperBound)")
            }
        }
        // Bounds that keep every product below in Int (2^62), far beyond any real model.
        let limit = 1 << 30
        try check("input size", inputSize, 0...limit)
        try check("kernel size", kernel, 1...limit)
        try check("stride", stride, 1...limit)
        try check("dilation", dilation, 1...limit)
        try check("begin padding", padBegin, 0...limit)
        try check("end padding", padEnd, 0...limit)
        let extent = dilation * (kernel - 1) + 1
        switch autoPad {
        case .sameUpper, .sameLower:
            let out = (inputSize + stride - 1) / stride
            let total = max(0, (out - 1) * stride + extent - inputSize)
            let small = total / 2
            outputSize = out
            (self.padBegin, self.padEnd) = autoPad == .sameUpper ? (small, total - small) : (total - small, small)
        case .valid, .notSet:
            let (begin, end) = autoPad == .valid ? (0, 0) : (padBegin, padEnd)
            let span = inputSize + begin + end - extent
            guard span >= 0 else {
                throw PointwiseError.shapeMismatch(what: "\(what): padded input size for a window of extent \(extent) (kernel \(kernel), dilation \(dilation))",
                                                   expected: "at least \(extent)",
                                                   actual: "\(inputSize + begin + end) (input \(inputSize), pads \(begin)+\(end))")
            }
            var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
            if ceilMode && (out - 1) * stride >= inputSize + begin { out -= 1 }
            outputSize = out
            (self.padBegin, self.padEnd) = (begin, end)
        }
    }
}

/// A 2-D window's geometry: both axes of an NCHW input [N, C, H, W].
public struct WindowGeometry: Sendable, Equatable {
    public let height: WindowAxis
    public let width: WindowAxis
    public let kernel: Size2D
    public let stride: Size2D
    public let dilation: Size2D

    /// ONNX attributes: `pads` [top, left, bottom, right], `kernel`, `strides`, `dilations` [h, w].
    public init(inputHeight: Int, inputWidth: Int, kernel: [Int], strides: [Int], dilations: [Int], pads: [Int],
                autoPad: AutoPad, ceilMode: Bool = false, what: String) throws {
        for (name, list, count) in [("kernel_shape", kernel, 2), ("strides", strides, 2), ("dilations", dilations, 2), ("pads", pads, 4)]
        where list.count != count {
            throw PointwiseError.invalidArgument(name: "\(what) \(name)", value: describe(list),
                                                 requirement: "\(count) values (2-D: two spatial axes)")
        }
        height = try WindowAxis(inputSize: inputHeight, kernel: kernel[0], stride: strides[0], dilation: dilations[0],
                                padBegin: pads[0], padEnd: pads[2], autoPad: autoPad, ceilMode: ceilMode, what: "\(what) height")
        width = try WindowAxis(inputSize: inputWidth, kernel: kernel[1], stride: strides[1], dilation: dilations[1],
                               padBegin: pads[1], padEnd: pads[3], autoPad: autoPad, ceilMode: ceilMode, what: "\(what) width")
        self.kernel = Size2D(kernel[0], kernel[1])
        self.stride = Size2D(strides[0], strides[1])
        self.dilation = Size2D(dilations[0], dilations[1])
    }

    /// The resolved padding.
    public var padding: Padding2D {
        Padding2D(top: height.padBegin, bottom: height.padEnd, left: width.padBegin, right: width.padEnd)
    }
}
