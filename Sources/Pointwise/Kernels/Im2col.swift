/// Input-to-matrix lowering for convolutions in NHWC.
///
/// Each output pixel m = (n, oh, ow) becomes one row of the workspace. Columns
/// are ordered group-major, then (kh, kw), then the group's input channels:
/// column `g·K_g + (kh·KW + kw)·Cin_g + ci`, with K_g = KH·KW·Cin/groups. So
/// group g's GEMM reads its A operand in place at column offset g·K_g with
/// leading dimension KH·KW·Cin. Padding positions are written as zeros.
enum Im2col {
    /// Fills rows `rows` of the lowered matrix (row `m` goes to `workspace + (m − rows.lowerBound)·KH·KW·Cin`).
    static func lower(
        input x: UnsafePointer<Float>, height: Int, width: Int,
        geometry g: ConvolutionGeometry, outputHeight: Int, outputWidth: Int,
        rows: Range<Int>, into workspace: UnsafeMutablePointer<Float>
    ) {
        let channels = g.inChannels
        let groupChannels = g.inChannelsPerGroup
        let groupColumns = g.reductionPerGroup
        let rowLength = groupColumns * g.groups
        let pixelsPerImage = outputHeight * outputWidth
        for m in rows {
            let n = m / pixelsPerImage
            let oh = (m % pixelsPerImage) / outputWidth
            let ow = m % outputWidth
            let row = workspace + (m - rows.lowerBound) * rowLength
            // Undilated and ungrouped, a kernel row inside the input is KW·Cin contiguous floats in
            // NHWC, and contiguous in the lowered row too: one copy instead of KW (stems, Cin = 3).
            let iw0 = ow * g.stride.width - g.padding.left
            let wholeRows = g.groups == 1 && g.dilation.width == 1 && iw0 >= 0 && iw0 + g.kernel.width <= width
            for kh in 0..<g.kernel.height {
                let ih = oh * g.stride.height - g.padding.top + kh * g.dilation.height
                if wholeRows {
                    let tap = kh * g.kernel.width * channels
                    if ih >= 0 && ih < height {
                        (row + tap).update(from: x + ((n * height + ih) * width + iw0) * channels, count: g.kernel.width * channels)
                    } else {
                        (row + tap).update(repeating: 0, count: g.kernel.width * channels)
                    }
                    continue
                }
                for kw in 0..<g.kernel.width {
                    let iw = ow * g.stride.width - g.padding.left + kw * g.dilation.width
                    let tap = (kh * g.kernel.width + kw) * groupChannels
                    let inside = ih >= 0 && ih < height && iw >= 0 && iw < width
                    if g.groups == 1 {
                        if inside {
                            (row + tap).update(from: x + ((n * height + ih) * width + iw) * channels, count: channels)
                        } else {
                            (row + tap).update(repeating: 0, count: channels)
                        }
                        continue
                    }
                    for group in 0..<g.groups {
                        let destination = row + group * groupColumns + tap
                        if inside {
                            destination.update(from: x + ((n * height + ih) * width + iw) * channels + group * groupChannels,
                                               count: groupChannels)
                        } else {
                            destination.update(repeating: 0, count: groupChannels)
                        }
                    }
                }
            }
        }
    }

    /// Gathers the input pixels a strided 1x1 convolution reads (no padding):
    /// row m = (n, oh, ow) is input pixel (n, oh·sh, ow·sw), Cin floats.
    static func gatherStrided(
        input x: UnsafePointer<Float>, height: Int, width: Int, channels: Int, stride: Size2D,
        outputHeight: Int, outputWidth: Int, rows: Range<Int>, into workspace: UnsafeMutablePointer<Float>
    ) {
        let pixelsPerImage = outputHeight * outputWidth
        for m in rows {
            let n = m / pixelsPerImage
            let oh = (m % pixelsPerImage) / outputWidth
            let ow = m % outputWidth
            let source = x + ((n * height + oh * stride.height) * width + ow * stride.width) * channels
            (workspace + (m - rows.lowerBound) * channels).update(from: source, count: channels)
        }
    }
}
