import CKernels

/// Direct depthwise convolution on NHWC (groups = Cin = Cout), vectorised across channels.
///
/// In NHWC the C channels of a pixel are contiguous, and so are the C weights of a tap in
/// the packed [KH·KW][C] layout: each output pixel is a sum over taps of (C-vector of input)
/// × (C-vector of weights), 16 channels at a time with AVX-512 (8 with AVX2), with bias, an
/// optional residual accumulate and the activation fused (C kernel `pw_depthwise`). im2col
/// would instead make C GEMMs with N = 1, which BLAS runs at a fraction of its speed.
enum DepthwiseKernel {
    /// `padTop` (default: the geometry's) lets a band of rows run as an image of its own.
    /// `channels` (default: all of the geometry's) computes a slice: x, weights, bias and y then
    /// point at its first channel; `inputPixelStride` and `weightTapStride` (default: the
    /// geometry's channels) are the strides of the maps they point into.
    static func run(input x: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                    geometry g: ConvolutionGeometry, outputHeight: Int, outputWidth: Int,
                    weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: Activation,
                    output y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int, accumulate: Bool,
                    rows: Range<Int>, isa: KernelISA, padTop: Int? = nil, channels: Int? = nil,
                    inputPixelStride: Int? = nil, weightTapStride: Int? = nil) {
        let count = channels ?? g.outChannels
        pw_depthwise(isa.kernelValue, x, inputPixelStride ?? g.outChannels, batch, height, width, count,
                     weights, weightTapStride ?? g.outChannels, g.kernel.height, g.kernel.width,
                     g.stride.height, g.stride.width, padTop ?? g.padding.top, g.padding.left,
                     g.dilation.height, g.dilation.width, bias, activation.kernelValue,
                     y, outputHeight, outputWidth, ldy, accumulate ? 1 : 0, rows.lowerBound, rows.upperBound)
    }
}
