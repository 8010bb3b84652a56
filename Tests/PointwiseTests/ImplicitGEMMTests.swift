import Testing
@testable import Pointwise

/// The implicit-GEMM lowering (`pw_conv_implicit_packed`: the packed GEMM's tiles reading each
/// output pixel's row of A as segments of the padded input, no im2col) on every ISA, against the
/// Double-accumulating `Reference.conv2D`: kernels of 1…7 taps with and without dilation (segments
/// per kernel row, or per tap when dilated in width), strides, asymmetric and no padding (the input
/// read in place), output widths around the tiles (AVX-512 up to 8 pixels, AVX2 6, heights balanced), Cout around the
/// vectors and panel pairs (8, 16, 32), batch > 1, residuals dense and in place, an output that is
/// a channel slice of a wider tensor, one and two threads, NaN and infinity.
@Suite("Implicit GEMM convolution")
struct ImplicitGEMMTests {
    static var supported: [KernelISA] { KernelISA.allCases.filter { $0.rawValue <= KernelISA.best.rawValue } }

    struct Case: CustomStringConvertible {
        var input: [Int]  // NHWC
        var outChannels: Int
        var kernel: Size2D
        var stride: Size2D = 1
        var padding: Padding2D = 0
        var dilation: Size2D = 1
        var description: String {
            "\(input) → \(outChannels) kernel \(kernel) stride \(stride) pads \(padding) dilation \(dilation)"
        }
    }

    static let cases: [Case] = [
        Case(input: [1, 15, 23, 3], outChannels: 32, kernel: 3, stride: 2, padding: 1),           // MobileNet stem, W' = 12
        Case(input: [2, 17, 25, 3], outChannels: 64, kernel: 7, stride: 2, padding: 3),           // ResNet stem, W' = 13
        Case(input: [3, 6, 11, 1], outChannels: 17, kernel: 3, padding: 1),                        // W' = 11, Cout past a panel
        Case(input: [1, 9, 26, 4], outChannels: 33, kernel: Size2D(5, 3), stride: Size2D(1, 2),
             padding: Padding2D(top: 2, bottom: 1, left: 0, right: 1)),                            // asymmetric, W' = 13
        Case(input: [2, 8, 7, 5], outChannels: 8, kernel: 2),                                      // no padding: the input in place
        Case(input: [1, 9, 14, 2], outChannels: 16, kernel: 3, padding: 2, dilation: Size2D(2, 1)), // dilated rows: segments per row
        Case(input: [2, 10, 15, 3], outChannels: 31, kernel: 3, stride: 2, padding: Padding2D(height: 1, width: 2),
             dilation: Size2D(1, 2)),                                                              // dilated columns: a segment per tap
        Case(input: [1, 5, 1, 16], outChannels: 1, kernel: 3, padding: 1),                         // W' = 1, Cout = 1, K = 144
        Case(input: [2, 5, 8, 6], outChannels: 40, kernel: 3, padding: 1),                         // W' = 8: one whole AVX-512 tile
        Case(input: [1, 6, 17, 3], outChannels: 48, kernel: 3, padding: 1),                        // W' = 17: tiles of 6, 6, 5
        Case(input: [2, 7, 30, 28], outChannels: 24, kernel: 3, stride: 1, padding: Padding2D(height: 0, width: 1)), // K = 252, W' = 30
    ]

    /// Runs the kernel on `x` into an output whose pixels are `ldy` ≥ Cout floats apart, starting
    /// from `initial` (the in-place residual, or sentinels), with a dense residual if given.
    func run(_ kernel: ConvolutionKernel, x: Tensor, outputShape: [Int], ldy: Int, initial: [Float], residual: Tensor?,
             isa: KernelISA) throws -> [Float] {
        var y = initial
        var r = residual?.scalars ?? []
        try x.scalars.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                try r.withUnsafeMutableBufferPointer { rp in
                    try runKernel(kernel, [UnsafeMutableRawPointer(mutating: xp.baseAddress!), UnsafeMutableRawPointer(yp.baseAddress!),
                                           residual == nil ? nil : UnsafeMutableRawPointer(rp.baseAddress!)], isa: isa)
                }
            }
        }
        return y
    }

    func makeKernel(_ c: Case, weight: Tensor, bias: Tensor, activation: Activation, ldy: Int, residual: Residual) throws
        -> (ConvolutionKernel, [Int]) {
        let geometry = try ConvolutionGeometry(inChannels: c.input[3], outChannels: c.outChannels, kernel: c.kernel, stride: c.stride,
                                               padding: c.padding, dilation: c.dilation, groups: 1)
        let (n, h, w, cin) = (c.input[0], c.input[1], c.input[2], c.input[3])
        let outputShape = try geometry.outputShape(forInput: c.input)  // NHWC
        let (oh, ow) = (outputShape[1], outputShape[2])
        let input = Operand(slot: 0, shape: [n, cin, h, w], strides: Operand.strides([n, cin, h, w], .nhwc), layout: .nhwc)
        // A channel slice [0, Cout) of a [N, ldy, H', W'] tensor when ldy > Cout.
        let output = Operand(slot: 1, shape: [n, c.outChannels, oh, ow], strides: [oh * ow * ldy, 1, ow * ldy, ldy], layout: .nhwc)
        let dense = Operand(slot: 2, shape: [n, c.outChannels, oh, ow], strides: Operand.strides([n, c.outChannels, oh, ow], .nhwc), layout: .nhwc)
        let kernel = ConvolutionKernel(geometry: geometry, weight: weight, bias: bias, activation: activation, input: input, output: output,
                                       residual: residual == .none ? nil : residual == .dense ? dense : output, gemmKernel: .packed)
        return (kernel, [n, oh, ow, c.outChannels])
    }

    enum Residual { case none, dense, inPlace }

    @Test("shapes, strides, padding, dilation, residuals and slices against the Double reference", arguments: supported)
    func matchesReference(isa: KernelISA) throws {
        try KernelISA.with(isa) {
            for (index, c) in Self.cases.enumerated() {
                let seed = UInt64(index * 10)
                let x = try Tensor(randomUniform: c.input, seed: seed)
                let weight = try Tensor(randomUniform: [c.outChannels, c.input[3], c.kernel.height, c.kernel.width], seed: seed + 1)
                let bias = try Tensor(randomUniform: [c.outChannels], seed: seed + 2)
                let linear = try Reference.conv2D(x, weight: weight, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation)
                for (activation, residual, extra) in [(Activation.identity, Residual.none, 0), (.relu6, .inPlace, 0), (.hardSwish, .dense, 5),
                                                      (.relu, .none, 3)] {
                    let ldy = c.outChannels + extra
                    let (kernel, shape) = try makeKernel(c, weight: weight, bias: bias, activation: activation, ldy: ldy, residual: residual)
                    #expect(kernel.kernelLowering == .implicitGEMM, "\(c)")
                    #expect(kernel.lowering.contains("implicit GEMM"))
                    let pixels = shape[0] * shape[1] * shape[2]
                    let previous = try Tensor(randomUniform: shape, seed: seed + 3)
                    let sentinel: Float = 12345
                    var initial = [Float](repeating: sentinel, count: pixels * ldy)
                    if residual == .inPlace {
                        for p in 0..<pixels { for ch in 0..<c.outChannels { initial[p * ldy + ch] = previous.scalars[p * c.outChannels + ch] } }
                    }
                    let y = try run(kernel, x: x, outputShape: shape, ldy: ldy, initial: initial,
                                    residual: residual == .dense ? previous : nil, isa: isa)
                    let sum = residual == .none ? linear : try previous.adding(linear)
                    let expected = ReferenceComposer(parameters: RandomParameters(seed: 0)).apply(activation, sum)
                    var got = [Float](repeating: 0, count: pixels * c.outChannels)
                    for p in 0..<pixels {
                        for ch in 0..<ldy {
                            if ch < c.outChannels { got[p * c.outChannels + ch] = y[p * ldy + ch] }
                            else { #expect(y[p * ldy + ch] == sentinel, "\(isa) \(c): channel \(ch) beyond Cout written") }
                        }
                    }
                    #expect(try Reference.normalizedError(Tensor(shape: shape, scalars: got), expected) <= float32Tolerance,
                            "\(isa) \(c) \(activation) \(residual)")
                }
            }
        }
    }

    @Test("one and two threads give the same bits (parts split output rows, not sums)")
    func threads() throws {
        let c = Self.cases[1]
        let x = try Tensor(randomUniform: c.input, seed: 1)
        let weight = try Tensor(randomUniform: [c.outChannels, c.input[3], c.kernel.height, c.kernel.width], seed: 2)
        let bias = try Tensor(randomUniform: [c.outChannels], seed: 3)
        let (kernel, shape) = try makeKernel(c, weight: weight, bias: bias, activation: .relu, ldy: c.outChannels, residual: .none)
        let initial = [Float](repeating: 0, count: shape.reduce(1, *))
        ensureTwoThreads()
        let one = try ThreadPool.$limit.withValue(1) { try run(kernel, x: x, outputShape: shape, ldy: c.outChannels, initial: initial, residual: nil, isa: .current) }
        let two = try ThreadPool.$limit.withValue(2) { try run(kernel, x: x, outputShape: shape, ldy: c.outChannels, initial: initial, residual: nil, isa: .current) }
        #expect(one == two)
        let expected = ReferenceComposer(parameters: RandomParameters(seed: 0)).apply(.relu, try Reference.conv2D(
            x, weight: weight, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation))
        #expect(try Reference.normalizedError(Tensor(shape: shape, scalars: two), expected) <= float32Tolerance)
    }

    @Test("NaN and infinity in the input reach exactly the outputs whose window holds them", arguments: supported)
    func nonFinite(isa: KernelISA) throws {
        try KernelISA.with(isa) {
            for c in [Self.cases[0], Self.cases[6]] {
                let x = try NonFiniteTests.poisoned(c.input, seed: 4)
                let weight = try Tensor(randomUniform: [c.outChannels, c.input[3], c.kernel.height, c.kernel.width], seed: 5)
                let bias = try Tensor(randomUniform: [c.outChannels], seed: 6)
                let (kernel, shape) = try makeKernel(c, weight: weight, bias: bias, activation: .identity, ldy: c.outChannels, residual: .none)
                let y = try run(kernel, x: x, outputShape: shape, ldy: c.outChannels, initial: [Float](repeating: 0, count: shape.reduce(1, *)),
                                residual: nil, isa: isa)
                let expected = try Reference.conv2D(x, weight: weight, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation)
                let mismatch = NonFiniteTests.agree(try Tensor(shape: shape, scalars: y), expected)
                #expect(mismatch == nil, "\(isa) \(c): \(mismatch ?? "")")
                #expect(y.contains { $0.isNaN }, "the poisoned input reaches the output")
            }
        }
    }

    @Test("the im2col option, OpenBLAS, groups and K > 256 keep im2col; a session uses the implicit GEMM for a stem")
    func selection() throws {
        let c = Self.cases[0]
        let weight = try Tensor(randomUniform: [c.outChannels, c.input[3], 3, 3], seed: 1)
        let geometry = try ConvolutionGeometry(inChannels: 3, outChannels: 32, kernel: 3, stride: 2, padding: 1, dilation: 1, groups: 1)
        let input = Operand(slot: 0, shape: [1, 3, 15, 23], strides: Operand.strides([1, 3, 15, 23], .nhwc), layout: .nhwc)
        let output = Operand(slot: 1, shape: [1, 32, 8, 12], strides: Operand.strides([1, 32, 8, 12], .nhwc), layout: .nhwc)
        func lowering(gemm: GEMMKernel, implicit: Bool = true) -> ConvolutionLowering {
            ConvolutionKernel(geometry: geometry, weight: weight, bias: nil, activation: .identity, input: input, output: output,
                              residual: nil, gemmKernel: gemm, implicitGEMM: implicit).kernelLowering
        }
        #expect(lowering(gemm: .packed) == .implicitGEMM)
        #expect(lowering(gemm: .openBLAS) == .im2col)
        #expect(lowering(gemm: .packed, implicit: false) == .im2col)
        let wide = try ConvolutionGeometry(inChannels: 29, outChannels: 8, kernel: 3, stride: 1, padding: 1, dilation: 1, groups: 1)
        let wideInput = Operand(slot: 0, shape: [1, 29, 6, 6], strides: Operand.strides([1, 29, 6, 6], .nhwc), layout: .nhwc)
        let wideOutput = Operand(slot: 1, shape: [1, 8, 6, 6], strides: Operand.strides([1, 8, 6, 6], .nhwc), layout: .nhwc)
        let wideKernel = ConvolutionKernel(geometry: wide, weight: try Tensor(randomUniform: [8, 29, 3, 3], seed: 2), bias: nil,
                                           activation: .identity, input: wideInput, output: wideOutput, residual: nil, gemmKernel: .packed)
        #expect(wideKernel.kernelLowering == .im2col, "K = 261 is past one K block")

        guard KernelISA.best != .portable else { return }  // the packed GEMM is chosen on AVX2 and AVX-512 only
        let conv = try Conv2D(inChannels: 3, outChannels: 32, kernel: 3, stride: 2, padding: 1, weight: weight)
        let x = try Tensor(randomUniform: c.input, seed: 3)
        let implicit = try InferenceSession(conv.graph(inputRank: 4))
        let explicit = try InferenceSession(conv.graph(inputRank: 4), options: CompileOptions(convolutionAlgorithm: .im2col))
        #expect(try implicit.plan(inputShapes: [[1, 3, 15, 23]]).steps.contains { $0.kernel.lowering.contains("implicit GEMM") })
        #expect(try explicit.plan(inputShapes: [[1, 3, 15, 23]]).steps.contains { $0.kernel.lowering.contains("im2col + GEMM") })
        // One call: M = 8·12 output pixels, K = 27 as 3 segments (kernel rows) of 9, lda = stride·Cin
        // (the next pixel's window), on the packed weights, writing the output itself.
        let (_, calls) = try recordGEMMs { _ = try implicit(x) }
        #expect(calls.map { [$0.m, $0.n, $0.k, $0.lda, $0.ldc, $0.segments] } == [[96, 32, 27, 6, 32, 3]])
        #expect(calls.allSatisfy { $0.kernel == .packed && $0.beta == 0 })
        #expect(try Reference.normalizedError(implicit(x), explicit(x)) <= float32Tolerance)
    }
}
