/// Direct-loop reference operators, written independently of the GEMM paths.
///
/// They read PyTorch-layout weights as given (no packing), loop over every
/// output element and every tap, and accumulate in `Double`, so their rounding
/// error (~1e-16 relative) is negligible next to the Float32 paths they check.
/// Slow by design: for tests and benchmarks, not for inference.
public enum Reference {
    /// Naive 2-D convolution.
    /// x: [N, H, W, Cin] (NHWC), weight: [Cout, Cin/groups, KH, KW] (OIHW), bias: [Cout]
    /// -> [N, H', W', Cout] (NHWC).
    public static func conv2D(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                              stride: Size2D = 1, padding: Padding2D = 0, dilation: Size2D = 1,
                              groups: Int = 1) throws -> Tensor {
        let (n, h, w, cin) = try x.nhwcDimensions("input")
        guard weight.rank == 4 else {
            throw PointwiseError.shapeMismatch(what: "weight rank", expected: "4", actual: "\(weight.rank)")
        }
        let (cout, cinPerGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        guard groups >= 1, cin % groups == 0, cout % groups == 0, cinPerGroup * groups == cin else {
            throw PointwiseError.shapeMismatch(what: "weight shape for \(cin) input channels in \(groups) groups",
                                               expected: "[Cout, \(groups >= 1 ? cin / groups : cin), KH, KW]",
                                               actual: describe(weight.shape))
        }
        if let bias, bias.shape != [cout] {
            throw PointwiseError.shapeMismatch(what: "bias shape", expected: describe([cout]), actual: describe(bias.shape))
        }
        let oh = (h + padding.top + padding.bottom - dilation.height * (kh - 1) - 1) / stride.height + 1
        let ow = (w + padding.left + padding.right - dilation.width * (kw - 1) - 1) / stride.width + 1
        guard oh >= 1, ow >= 1 else {
            throw PointwiseError.shapeMismatch(what: "output size", expected: "≥ 1x1", actual: "\(oh)x\(ow)")
        }
        var y = try Tensor(zeros: [n, oh, ow, cout])
        x.scalars.withUnsafeBufferPointer { xp in
            weight.scalars.withUnsafeBufferPointer { wp in
                y.scalars.withUnsafeMutableBufferPointer { yp in
                    bias.map(\.scalars).withOptionalPointer { bp in
                        conv2DKernel(input: xp.baseAddress!, batch: n, height: h, width: w, inChannels: cin,
                                     weight: wp.baseAddress!, outChannels: cout, kernel: Size2D(kh, kw), bias: bp,
                                     stride: stride, padding: padding, dilation: dilation, groups: groups,
                                     output: yp.baseAddress!, outputHeight: oh, outputWidth: ow, outputRowStride: cout)
                    }
                }
            }
        }
        return y
    }

    /// The naive loop on raw NHWC buffers: for every output element, the sum over every tap
    /// of input × weight (OIHW, read as given), in Double. With `accumulate`, adds to what
    /// `output` holds; the activation applies last. Output pixel rows are `outputRowStride` apart.
    /// (Also what `Conv2D` runs in its `.naive` kernel path, for benchmarks.)
    static func conv2DKernel(input x: UnsafePointer<Float>, batch n: Int, height h: Int, width w: Int, inChannels cin: Int,
                             weight: UnsafePointer<Float>, outChannels cout: Int, kernel: Size2D, bias: UnsafePointer<Float>?,
                             stride: Size2D, padding: Padding2D, dilation: Size2D, groups: Int,
                             output y: UnsafeMutablePointer<Float>, outputHeight oh: Int, outputWidth ow: Int,
                             outputRowStride ldy: Int, accumulate: Bool = false, activation: Activation = .identity) {
        let (kh, kw) = (kernel.height, kernel.width)
        let cinPerGroup = cin / groups
        let coutPerGroup = cout / groups
        for b in 0..<n {
            for i in 0..<oh {
                for j in 0..<ow {
                    let out = y + ((b * oh + i) * ow + j) * ldy
                    for o in 0..<cout {
                        let group = o / coutPerGroup
                        var sum = Double(bias?[o] ?? 0) + (accumulate ? Double(out[o]) : 0)
                        for p in 0..<kh {
                            let row = i * stride.height - padding.top + p * dilation.height
                            if row < 0 || row >= h { continue }
                            for q in 0..<kw {
                                let column = j * stride.width - padding.left + q * dilation.width
                                if column < 0 || column >= w { continue }
                                for c in 0..<cinPerGroup {
                                    let input = x[((b * h + row) * w + column) * cin + group * cinPerGroup + c]
                                    let filter = weight[((o * cinPerGroup + c) * kh + p) * kw + q]
                                    sum += Double(input) * Double(filter)
                                }
                            }
                        }
                        out[o] = Float(activation.apply(sum))
                    }
                }
            }
        }
    }

    /// Normalised error max|a − b| / max|b|, the measure every test uses against a reference `b`.
    /// Infinite when either side holds a NaN or an infinity: a non-finite output never passes an
    /// agreement test by accident (tests of NaN propagation compare those positions themselves).
    public static func normalizedError(_ a: Tensor, _ b: Tensor) throws -> Double {
        guard a.shape == b.shape else {
            throw PointwiseError.shapeMismatch(what: "compared shapes", expected: describe(b.shape), actual: describe(a.shape))
        }
        var maxDifference = 0.0
        var maxMagnitude = 0.0
        for (u, v) in zip(a.scalars, b.scalars) {
            guard u.isFinite && v.isFinite else { return .infinity }
            maxDifference = max(maxDifference, abs(Double(u) - Double(v)))
            maxMagnitude = max(maxMagnitude, abs(Double(v)))
        }
        return maxMagnitude == 0 ? maxDifference : maxDifference / maxMagnitude
    }
}
