/// Direct depthwise convolution on NHWC (groups = Cin = Cout), vectorised across channels.
///
/// In NHWC the C channels of a pixel are contiguous, and so are the C weights of a tap
/// in the packed [KH·KW][C] layout: each output pixel is a sum over taps of
/// (C-vector of input) × (C-vector of weights), done 8 channels at a time with
/// `SIMD8<Float>`, with bias, an optional residual accumulate and the activation fused.
/// im2col would instead make C GEMMs with N = 1, which BLAS runs at a fraction of its speed.
enum DepthwiseKernel {
    typealias Vector = SIMD8<Float>

    static func run(input x: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                    geometry g: ConvolutionGeometry, outputHeight: Int, outputWidth: Int,
                    weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: Activation,
                    output y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int, accumulate: Bool) {
        let channels = g.outChannels
        let vectorEnd = channels - channels % Vector.scalarCount
        let (kh, kw) = (g.kernel.height, g.kernel.width)
        for n in 0..<batch {
            for oh in 0..<outputHeight {
                let ih0 = oh * g.stride.height - g.padding.top
                for ow in 0..<outputWidth {
                    let iw0 = ow * g.stride.width - g.padding.left
                    let out = y + ((n * outputHeight + oh) * outputWidth + ow) * ldy
                    var c = 0
                    while c < vectorEnd {
                        var sum = bias.map { load($0 + c) } ?? Vector()
                        if accumulate { sum += load(out + c) }
                        for p in 0..<kh {
                            let ih = ih0 + p * g.dilation.height
                            if ih < 0 || ih >= height { continue }
                            let row = x + (n * height + ih) * width * channels + c
                            for q in 0..<kw {
                                let iw = iw0 + q * g.dilation.width
                                if iw < 0 || iw >= width { continue }
                                // Separate multiply and add: `addingProduct` would call fmaf per lane
                                // on the baseline x86-64 target, which has no FMA instruction.
                                sum += load(row + iw * channels) * load(weights + (p * kw + q) * channels + c)
                            }
                        }
                        store(sum, out + c)
                        c += Vector.scalarCount
                    }
                    while c < channels {
                        var sum = bias?[c] ?? 0
                        if accumulate { sum += out[c] }
                        for p in 0..<kh {
                            let ih = ih0 + p * g.dilation.height
                            if ih < 0 || ih >= height { continue }
                            for q in 0..<kw {
                                let iw = iw0 + q * g.dilation.width
                                if iw < 0 || iw >= width { continue }
                                sum += x[((n * height + ih) * width + iw) * channels + c] * weights[(p * kw + q) * channels + c]
                            }
                        }
                        out[c] = sum
                        c += 1
                    }
                    Epilogue.apply(bias: nil, activation: activation, to: out, rows: 1, columns: channels, rowStride: channels)
                }
            }
        }
    }

    @inline(__always) private static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always) private static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }
}
