import CKernels
import Testing
@testable import Pointwise

/// Every compiled variant of the C kernels (portable C, AVX2+FMA, AVX-512), as far as this CPU
/// runs them, against the naive reference. The ISA is a task-scoped choice: other tests are unaffected.
@Suite("C kernels on every ISA")
struct KernelISATests {
    static var supported: [KernelISA] { KernelISA.allCases.filter { $0.rawValue <= KernelISA.best.rawValue } }

    @Test("the widest supported ISA is the default")
    func defaultISA() {
        #expect(KernelISA.current == KernelISA.best)
        if CPUFeatures.current.hasAVX512 { #expect(KernelISA.best == .avx512) }
    }

    @Test("depthwise (border pixels, interior runs of 4 and their remainder, masked channel tail, stride, dilation, padding, 5x5, accumulate; its 3x3 stride-1 cases take the blocks on AVX2 and AVX-512)", arguments: supported)
    func depthwise(isa: KernelISA) throws {
        try KernelISA.with(isa) { try depthwiseCases(isa) }
    }

    func depthwiseCases(_ isa: KernelISA) throws {
        // Widths 8…19 give interior runs of 4 plus 0…3 remaining pixels; channels cover 2 vectors, 1, and masked tails on both ISAs.
        for (channels, stride, dilation, padding, width, k) in [(3, 1, 1, 1, 8, 3), (16, 2, 1, 1, 8, 3), (21, 1, 2, 2, 8, 3), (40, 2, 1, 0, 8, 3),
                                                               (32, 1, 1, 1, 17, 3), (48, 2, 1, 2, 19, 5), (7, 1, 1, 0, 13, 3), (24, 1, 3, 1, 14, 3)] {
            let x = try Tensor(randomUniform: [2, 9, width, channels], seed: UInt64(channels))
            let weight = try Tensor(randomUniform: [channels, 1, k, k], seed: 2)
            let bias = try Tensor(randomUniform: [channels], seed: 3)
            let linear = try Reference.conv2D(x, weight: weight, bias: bias, stride: Size2D(stride), padding: Padding2D(padding),
                                              dilation: Size2D(dilation), groups: channels)
            for activation in testActivations {
                let conv = try Conv2D(inChannels: channels, outChannels: channels, kernel: Size2D(k), stride: Size2D(stride),
                                      padding: Padding2D(padding), dilation: Size2D(dilation), groups: channels,
                                      weight: weight, bias: bias, activation: activation)
                let expected = ReferenceComposer(parameters: RandomParameters(seed: 0)).apply(activation, linear)
                #expect(try Reference.normalizedError(conv(x), expected) <= float32Tolerance, "\(isa) C=\(channels) W=\(width) k=\(k) \(activation)")
                // Residual: y = act(previous + conv), the kernel accumulating onto the output in place.
                let previous = try Tensor(randomUniform: expected.shape, seed: 9)
                var y = previous
                let (n, oh, ow) = (expected.shape[0], expected.shape[1], expected.shape[2])
                let input = Operand(slot: 0, shape: [2, channels, 9, width], strides: Operand.strides([2, channels, 9, width], .nhwc), layout: .nhwc)
                let output = Operand(slot: 1, shape: [n, channels, oh, ow], strides: Operand.strides([n, channels, oh, ow], .nhwc), layout: .nhwc)
                let kernel = ConvolutionKernel(geometry: conv.geometry, weight: weight, bias: bias, activation: activation,
                                               input: input, output: output, residual: output)
                try x.scalars.withUnsafeBufferPointer { xp in
                    try y.scalars.withUnsafeMutableBufferPointer { yp in
                        try runKernel(kernel, [UnsafeMutableRawPointer(mutating: xp.baseAddress!), UnsafeMutableRawPointer(yp.baseAddress!)], isa: isa)
                    }
                }
                let accumulated = ReferenceComposer(parameters: RandomParameters(seed: 0)).apply(activation, try previous.adding(linear))
                #expect(try Reference.normalizedError(y, accumulated) <= float32Tolerance, "\(isa) accumulate \(activation)")
            }
        }
    }

    @Test("depthwise 3x3 stride 1 (blocks of ≤ 4 × 5 on AVX-512, ≤ 2 × 3 on AVX2, runs of 4 when AVX2 pixels are 2 KiB apart): widths 1–12, heights 1–5, 7, 9, pads 0–2 per side, row ranges across images, strided operands, accumulate, NaN and inf", arguments: supported)
    func depthwise3x3(isa: KernelISA) throws {
        // 509 channels with ldx = 512: pixels 2 KiB apart, where AVX2 keeps the runs of 4.
        for channels in [5, 16, 37, 509] {
            let (ldx, ldw, ldy) = (channels + 3, channels + 2, channels + 1)
            let weight = try Tensor(randomUniform: [9 * ldw], seed: 1).scalars
            let bias = try Tensor(randomUniform: [channels], seed: 2).scalars
            for height in [1, 2, 3, 4, 5, 7, 9] {
                for width in 1...12 {
                    for (top, left, bottom, right) in [(1, 1, 1, 1), (0, 0, 0, 0), (2, 1, 0, 2), (1, 2, 2, 0)] {
                        let (outH, outW) = (height + top + bottom - 2, width + left + right - 2)
                        guard outH > 0, outW > 0 else { continue }
                        try checkDepthwise3x3(isa: isa, channels: channels, ldx: ldx, ldw: ldw, ldy: ldy, weight: weight,
                                              bias: width % 4 == 3 ? nil : bias, height: height, width: width, top: top, left: left,
                                              outH: outH, outW: outW, accumulate: (height + width) % 2 == 0,
                                              clipped: width % 3 == 0, nonFinite: width == 6 || width == 7)
                    }
                }
            }
        }
    }

    /// One call split into three row ranges (crossing the batch's two images), against a Double
    /// reference. Bound per output: the Float32 sum of bias, previous output and 9 products rounds
    /// at most 10 times, |error| ≤ γ₁₀·Σ|terms| < 11·2⁻²⁴·Σ|terms|; the clip (some cases) only shrinks
    /// errors. AVX-512's blocks must also equal AVX2's to the bit: both sum in the same order with FMA,
    /// which is what keeps a plan's results the same across machines.
    func checkDepthwise3x3(isa: KernelISA, channels: Int, ldx: Int, ldw: Int, ldy: Int, weight: [Float], bias: [Float]?,
                           height: Int, width: Int, top: Int, left: Int, outH: Int, outW: Int, accumulate: Bool,
                           clipped: Bool, nonFinite: Bool) throws {
        let batch = 2
        var x = try Tensor(randomUniform: [batch * height * width * ldx], in: -2...2, seed: UInt64(height * 100 + width)).scalars
        if nonFinite {
            x[0] = .nan
            x[(batch * height * width - 1) * ldx + channels - 1] = .infinity
        }
        let previous = try Tensor(randomUniform: [batch * outH * outW * ldy], seed: 7).scalars
        let activation = clipped ? Activation.clip(min: -0.5, max: 2) : .identity
        let rows = batch * outH
        let splits = [0, rows / 3, (2 * rows) / 3, rows]
        func run(_ isa: KernelISA) -> [Float] {
            var y = previous
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { wp in
                    (bias ?? []).withUnsafeBufferPointer { bp in
                        y.withUnsafeMutableBufferPointer { yp in
                            for part in 0..<3 where splits[part] < splits[part + 1] {
                                pw_depthwise(isa.kernelValue, xp.baseAddress!, ldx, batch, height, width, channels, wp.baseAddress!,
                                             ldw, 3, 3, 1, 1, top, left, 1, 1, bias == nil ? nil : bp.baseAddress!,
                                             activation.kernelValue, yp.baseAddress!, outH, outW, ldy, accumulate ? 1 : 0,
                                             splits[part], splits[part + 1])
                            }
                        }
                    }
                }
            }
            return y
        }
        let y = run(isa)
        if isa == .avx512 {
            let avx2 = run(.avx2)
            let differing = zip(y, avx2).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "C=\(channels) H=\(height) W=\(width) pads \(top),\(left): \(differing) outputs of AVX-512 differ from AVX2's bits")
        }
        for n in 0..<batch {
            for oh in 0..<outH {
                for ow in 0..<outW {
                    let pixel = ((n * outH + oh) * outW + ow) * ldy
                    for c in 0..<ldy {
                        guard c < channels else {
                            #expect(y[pixel + c] == previous[pixel + c], "\(isa): the gap after the channels is written")
                            continue
                        }
                        var sum = Double(bias?[c] ?? 0) + (accumulate ? Double(previous[pixel + c]) : 0)
                        var magnitude = abs(sum)
                        for kh in 0..<3 {
                            for kw in 0..<3 {
                                let (ih, iw) = (oh + kh - top, ow + kw - left)
                                guard ih >= 0, ih < height, iw >= 0, iw < width else { continue }
                                let term = Double(x[((n * height + ih) * width + iw) * ldx + c]) * Double(weight[(kh * 3 + kw) * ldw + c])
                                sum += term
                                magnitude += abs(term)
                            }
                        }
                        let expected = clipped ? min(max(sum, -0.5), 2) : sum
                        let actual = Double(y[pixel + c])
                        // Built only for a failure's message.
                        func place() -> String { "\(isa) C=\(channels) H=\(height) W=\(width) pads \(top),\(left) accumulate \(accumulate) bias \(bias != nil) clipped \(clipped): y[\(n), \(oh), \(ow), \(c)]" }
                        if sum.isNaN {
                            #expect(actual.isNaN, "\(place()) = \(actual), expected NaN")
                        } else if magnitude.isInfinite {
                            #expect(actual == expected, "\(place()) = \(actual), expected \(expected)")
                        } else {
                            #expect(abs(actual - expected) <= 11 * 0x1p-24 * magnitude, "\(place()) = \(actual), expected \(expected)")
                        }
                    }
                }
            }
        }
    }

    @Test("bias + activation epilogue on a strided slice, odd widths", arguments: supported)
    func epilogue(isa: KernelISA) throws {
        for columns in [1, 7, 16, 33] {
            let rows = 5, stride = columns + 3
            let bias = try Tensor(randomUniform: [columns], seed: 1).scalars
            for activation in testActivations {
                var y = try Tensor(randomUniform: [rows * stride], in: -8...8, seed: 2).scalars
                let original = y
                y.withUnsafeMutableBufferPointer { yp in
                    bias.withUnsafeBufferPointer { bp in
                        Epilogue.apply(bias: bp.baseAddress, activation: activation, isa: isa, to: yp.baseAddress!, rows: rows,
                                       columns: columns, rowStride: stride)
                    }
                }
                for m in 0..<rows {
                    for c in 0..<stride {
                        let before = original[m * stride + c]
                        let expected = c < columns ? activation.apply(before + bias[c]) : before
                        // Exact but for sigmoid's vector exp and hard swish's x/6 (a few ulp).
                        #expect(abs(y[m * stride + c] - expected) <= 1e-6 * max(1, abs(expected)), "\(isa) \(activation) columns \(columns)")
                    }
                }
            }
        }
    }

    @Test("max pool (masked channel tail, padding, ceil mode): exact", arguments: supported)
    func maxPool(isa: KernelISA) throws {
        for (channels, kernel, stride, padding, ceilMode) in [(5, 3, 2, 1, false), (19, 3, 1, 1, true), (32, 2, 2, 0, true), (40, 3, 2, 0, true)] {
            let x = try Tensor(randomUniform: [2, 9, 8, channels], seed: UInt64(channels))
            let pool = try Pool2D(.max, kernel: Size2D(kernel), stride: Size2D(stride), padding: Size2D(padding), ceilMode: ceilMode)
            let expected = try Reference.maxPool(x, kernel: Size2D(kernel), stride: Size2D(stride), padding: Size2D(padding),
                                                 ceilMode: ceilMode)
            #expect(try KernelISA.with(isa) { try pool(x) } == expected, "\(isa) C=\(channels)")
        }
    }

    @Test("asking for an ISA the CPU lacks is refused; an override is scoped to its task")
    func unsupported() throws {
        if KernelISA.best != .avx512 {
            expectError("kernel ISA must be one this CPU supports") { try KernelISA.with(.avx512) {} }
        }
        #expect(try KernelISA.with(.portable) { KernelISA.current } == .portable)
        #expect(KernelISA.current == KernelISA.best)
    }

    @Test("transpose (NCHW ↔ NHWC per image): 1–6 rows (the few-rows interleave and the tiled path), dense and strided destinations")
    func transpose() {
        for rows in 1...6 {
            for columns in [1, 7, 33, 70] {
                for extra in [0, 3] {
                    let (ldx, ldy) = (columns + 2, rows + extra)
                    let x = (0..<(rows * ldx)).map { Float($0) * 0.5 - 7 }
                    var y = [Float](repeating: -1, count: columns * ldy)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { pw_transpose(1, rows, columns, xp.baseAddress!, ldx, 0, $0.baseAddress!, ldy, 0) }
                    }
                    for c in 0..<columns {
                        for r in 0..<ldy {
                            let expected: Float = r < rows ? x[r * ldx + c] : -1
                            #expect(y[c * ldy + r] == expected, "rows \(rows) columns \(columns) ldy \(ldy): y[\(c), \(r)]")
                        }
                    }
                }
            }
        }
    }

    @Test("the FMA peak kernel does 2·12·lanes FLOPs per iteration, the same chains on every ISA, and reports a rate")
    func fmaPeak() throws {
        var reference: Float = 0
        #expect(pw_fma_peak_run(KernelISA.portable.kernelValue, 1000, &reference) == 2 * 12 * 1000)
        // Lane by lane the same chains: the vector sums are 8 or 16 times the scalar one (up to the
        // order of the final additions, 12 + 15 Float32 roundings of values ≤ 12).
        for (isa, lanes) in [(KernelISA.avx2, 8), (.avx512, 16)] where isa.rawValue <= KernelISA.best.rawValue {
            var sink: Float = 0
            #expect(pw_fma_peak_run(isa.kernelValue, 1000, &sink) == Double(2 * 12 * lanes * 1000))
            #expect(abs(Double(sink) - Double(lanes) * Double(reference)) <= 32 * 0x1p-24 * Double(lanes) * 12 * 12, "\(isa)")
        }
        let peak = try FMAPeak.gigaflopsPerCore(rounds: 1, seconds: 0.001)
        #expect(peak.isFinite && peak > 0)
        if KernelISA.best != .avx512 {
            #expect(throws: PointwiseError.self) { try FMAPeak.gigaflopsPerCore(isa: .avx512) }
        }
    }
}
