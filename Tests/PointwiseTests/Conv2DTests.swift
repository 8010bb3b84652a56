import Testing
@testable import Pointwise

/// One convolution configuration checked against `Reference.conv2D`.
struct ConvCase: CustomTestStringConvertible, Sendable {
    var name: String
    var input: [Int]            // NHWC
    var outChannels: Int
    var kernel: Size2D = 1
    var stride: Size2D = 1
    var padding: Padding2D = 0
    var dilation: Size2D = 1
    var groups = 1
    var bias = true
    var testDescription: String { name }

    func make(seed: UInt64) throws -> (Conv2D, Tensor, Tensor, Tensor?) {
        let inChannels = input[3]
        let weight = try Tensor(randomUniform: [outChannels, inChannels / groups, kernel.height, kernel.width], seed: seed)
        let biasTensor = bias ? try Tensor(randomUniform: [outChannels], seed: seed + 1) : nil
        let conv = try Conv2D(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                              padding: padding, dilation: dilation, groups: groups, weight: weight, bias: biasTensor)
        return (conv, try Tensor(randomUniform: input, seed: seed + 2), weight, biasTensor)
    }

    func reference(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?) throws -> Tensor {
        try Reference.conv2D(x, weight: weight, bias: bias, stride: stride, padding: padding,
                             dilation: dilation, groups: groups)
    }
}

let convolutionCases: [ConvCase] = [
    ConvCase(name: "seed layer 1×28×28×256 → 16, 1x1", input: [1, 28, 28, 256], outChannels: 16, bias: false),
    ConvCase(name: "1x1 odd sizes, batch 3", input: [3, 5, 7, 13], outChannels: 11),
    ConvCase(name: "1x1 grouped (3 groups), no copy", input: [2, 6, 5, 12], outChannels: 9, groups: 3),
    ConvCase(name: "1x1 stride 2 (projection shortcut), odd input", input: [2, 9, 7, 10], outChannels: 6, stride: 2),
    ConvCase(name: "1x1 stride 2x3, grouped", input: [2, 7, 11, 8], outChannels: 6, stride: Size2D(2, 3), groups: 2),
    ConvCase(name: "1x1 with padding 1 (im2col)", input: [1, 4, 5, 6], outChannels: 3, padding: 1),
    ConvCase(name: "3x3 pad 1, batch 2", input: [2, 7, 9, 5], outChannels: 4, kernel: 3, padding: 1),
    ConvCase(name: "3x3 stride 2 pad 1, even input", input: [2, 8, 8, 6], outChannels: 10, kernel: 3, stride: 2, padding: 1),
    ConvCase(name: "3x3 no padding, batch 4", input: [4, 6, 6, 16], outChannels: 16, kernel: 3),
    ConvCase(name: "5x5 pad 2", input: [1, 9, 9, 3], outChannels: 7, kernel: 5, padding: 2),
    ConvCase(name: "7x7 stem stride 2 pad 3", input: [2, 17, 19, 3], outChannels: 8, kernel: 7, stride: 2, padding: 3),
    ConvCase(name: "1x7 pad (0, 3)", input: [2, 9, 10, 6], outChannels: 5, kernel: Size2D(1, 7), padding: Padding2D(height: 0, width: 3)),
    ConvCase(name: "7x1 pad (3, 0)", input: [2, 10, 9, 6], outChannels: 5, kernel: Size2D(7, 1), padding: Padding2D(height: 3, width: 0)),
    ConvCase(name: "3x3 asymmetric padding", input: [1, 6, 7, 4], outChannels: 3, kernel: 3,
             padding: Padding2D(top: 0, bottom: 1, left: 2, right: 0)),
    ConvCase(name: "2x2 stride 2 'same' padding (bottom/right only)", input: [3, 5, 5, 4], outChannels: 6, kernel: 2, stride: 2,
             padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1)),
    ConvCase(name: "3x3 dilation 2 pad 2", input: [2, 9, 8, 5], outChannels: 4, kernel: 3, padding: 2, dilation: 2),
    ConvCase(name: "3x3 dilation 2x3 stride 2", input: [1, 11, 13, 4], outChannels: 6, kernel: 3, stride: 2,
             padding: Padding2D(height: 1, width: 2), dilation: Size2D(2, 3)),
    ConvCase(name: "3x3 groups 2", input: [2, 7, 6, 8], outChannels: 6, kernel: 3, padding: 1, groups: 2),
    ConvCase(name: "3x3 depthwise stride 2 (groups = channels)", input: [2, 9, 9, 12], outChannels: 12, kernel: 3,
             stride: 2, padding: 1, groups: 12),
    ConvCase(name: "depthwise multiplier 2 (groups = Cin, Cout = 2·Cin)", input: [1, 5, 6, 4], outChannels: 8, kernel: 3,
             padding: 1, groups: 4),
    ConvCase(name: "kernel exactly fills the padded input (1x1 output)", input: [2, 3, 4, 5], outChannels: 3,
             kernel: Size2D(5, 4), padding: Padding2D(height: 1, width: 0)),
    ConvCase(name: "1x1 input, 3x3 pad 1", input: [3, 1, 1, 7], outChannels: 2, kernel: 3, padding: 1),
]

@Suite("Conv2D against the naive reference")
struct Conv2DTests {
    @Test("GEMM path matches the Double-accumulating reference", arguments: convolutionCases)
    func matchesReference(_ c: ConvCase) throws {
        let (conv, x, weight, bias) = try c.make(seed: 11)
        let y = try conv(x)
        let expected = try c.reference(x, weight, bias)
        #expect(y.shape == expected.shape)
        #expect(try Reference.normalizedError(y, expected) <= float32Tolerance)
    }

    @Test("the naive kernel path (benchmark baseline) unpacks the folded weights exactly", arguments: convolutionCases)
    func naivePath(_ c: ConvCase) throws {
        let (conv, x, weight, bias) = try c.make(seed: 12)
        let naive = try InferenceSession(conv.graph(inputRank: 4), options: CompileOptions(kernelPath: .naive))
        let (y, calls) = try recordGEMMs { try naive(x) }
        #expect(calls.isEmpty)
        #expect(try Reference.normalizedError(y, c.reference(x, weight, bias)) <= 1e-6)
    }

    @Test("1x1 stride 1: exactly one SGEMM on the input and output buffers themselves, zero scratch")
    func pointwiseIsOneGEMMWithoutCopy() throws {
        let (conv, x, _, _) = try ConvCase(name: "seed", input: [1, 28, 28, 256], outChannels: 16, bias: false).make(seed: 3)
        var y = try Tensor(zeros: [1, 28, 28, 16])
        let inputAddress = x.scalars.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let (_, calls) = try recordGEMMs { try conv.forward(x, into: &y) }
        let outputAddress = y.scalars.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(calls.count == 1)
        let call = try #require(calls.first)
        #expect([call.m, call.k, call.n] == [784, 256, 16])
        #expect([call.lda, call.ldb, call.ldc] == [256, 16, 16])
        #expect(!call.transposeA && !call.transposeB && call.alpha == 1 && call.beta == 0)
        #expect(call.a == inputAddress, "A must be the input tensor itself (no im2col, no copy)")
        #expect(call.c == outputAddress, "C must be the output tensor itself")
        #expect(try conv.memoryUse(inputShape: x.shape).arenaBytes == 0, "no workspace, no intermediate")
    }

    @Test("1x1 on two threads: one SGEMM per thread on its block of rows of the input and output, still no copy")
    func pointwiseOnTwoThreads() throws {
        ensureTwoThreads()
        let (conv, x, _, _) = try ConvCase(name: "seed", input: [1, 28, 28, 256], outChannels: 16, bias: false).make(seed: 3)
        var y = try Tensor(zeros: [1, 28, 28, 16])
        let (_, calls) = try recordGEMMs(threads: 2) { try conv.forward(x, into: &y) }
        let inputAddress = x.scalars.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let outputAddress = y.scalars.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let sorted = calls.sorted { $0.a < $1.a }
        #expect(sorted.map { [$0.m, $0.k, $0.n, $0.lda, $0.ldc] } == [[392, 256, 16, 256, 16], [392, 256, 16, 256, 16]])
        #expect(sorted.map(\.a) == [inputAddress, inputAddress + UInt(392 * 256 * 4)])
        #expect(sorted.map(\.c) == [outputAddress, outputAddress + UInt(392 * 16 * 4)])
        #expect(try conv.memoryUse(inputShape: x.shape).arenaBytes == 0)
    }

    @Test("1x1 with few rows (4x4 map) on two threads splits the output channels instead")
    func pointwiseColumnSplit() throws {
        ensureTwoThreads()
        let c = ConvCase(name: "narrow", input: [1, 4, 4, 512], outChannels: 1024)
        let (conv, x, weight, bias) = try c.make(seed: 4)
        let (y, calls) = try recordGEMMs(threads: 2) { try conv(x) }
        #expect(calls.sorted { $0.n > $1.n || ($0.n == $1.n && $0.c < $1.c) }.map { [$0.m, $0.k, $0.n, $0.ldb, $0.ldc] }
                == [[16, 512, 512, 1024, 1024], [16, 512, 512, 1024, 1024]])
        #expect(try Reference.normalizedError(y, c.reference(x, weight, bias)) <= float32Tolerance)
    }

    @Test("grouped 1x1: one SGEMM per group, each reading its channel slice of the input in place")
    func groupedPointwiseReadsSlices() throws {
        let (conv, x, _, _) = try ConvCase(name: "g", input: [2, 3, 5, 12], outChannels: 6, groups: 3).make(seed: 4)
        let inputAddress = x.scalars.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let (_, calls) = try recordGEMMs { _ = try conv(x) }
        #expect(calls.count == 3)
        for (g, call) in calls.enumerated() {
            #expect([call.m, call.k, call.n, call.lda, call.ldc] == [30, 4, 2, 12, 6])
            #expect(call.a == inputAddress + UInt(g * 4 * MemoryLayout<Float>.stride))
        }
        #expect(try conv.memoryUse(inputShape: x.shape).arenaBytes == 0)
    }

    @Test("1x1 stride 2: one gather of N·H'·W'×Cin floats, then one SGEMM")
    func stridedPointwise() throws {
        let (conv, x, _, _) = try ConvCase(name: "s2", input: [2, 56, 56, 64], outChannels: 32, stride: 2).make(seed: 5)
        let (_, calls) = try recordGEMMs { _ = try conv(x) }
        #expect(calls.map { [$0.m, $0.k, $0.n, $0.lda, $0.ldc] } == [[2 * 28 * 28, 64, 32, 64, 32]])
        #expect(try conv.memoryUse(inputShape: x.shape).arenaBytes == 2 * 28 * 28 * 64 * MemoryLayout<Float>.stride,
                "the arena holds only the gathered rows")
    }

    @Test("3x3: im2col GEMM shape M = N·H'·W', K = 9·Cin, N = Cout")
    func im2colShape() throws {
        let (conv, x, _, _) = try ConvCase(name: "3x3", input: [2, 14, 14, 32], outChannels: 48, kernel: 3, padding: 1).make(seed: 6)
        let session = try InferenceSession(conv.graph(inputRank: 4), options: CompileOptions(convolutionAlgorithm: .im2col))
        let (_, calls) = try recordGEMMs { _ = try session(x) }
        #expect(calls.map { [$0.m, $0.k, $0.n, $0.lda, $0.ldb, $0.ldc] } == [[392, 288, 48, 288, 48, 48]])
        #expect(try conv.loweredGEMM(forInput: x.shape) == Conv2D.LoweredGEMM(lowering: .im2col, m: 392, n: 48, k: 288, count: 1))
    }

    @Test("workspace tiles: results are unchanged for tile sizes around the row count",
          arguments: [1, 2, 7, 34, 35, 36, 69, 70, 71, 1000])
    func tiling(tileRows: Int) throws {
        // M = 2·5·7 = 70 output pixels; K = 3·3·6 = 54 per row.
        let c = ConvCase(name: "tiles", input: [2, 5, 7, 6], outChannels: 6, kernel: 3, padding: 1, groups: 2)
        let (conv, x, weight, bias) = try c.make(seed: 7)
        let session = try InferenceSession(conv.graph(inputRank: 4), options: CompileOptions(workspaceLimit: tileRows * 54 * 4))
        let (y, calls) = try recordGEMMs { try session(x) }
        let tiles = (70 + min(tileRows, 70) - 1) / min(tileRows, 70)
        #expect(calls.count == 2 * tiles)
        #expect(calls.allSatisfy { $0.m <= tileRows && $0.lda == 54 && $0.ldc == 6 })
        #expect(try Reference.normalizedError(y, c.reference(x, weight, bias)) <= float32Tolerance)
    }

    @Test("a second call with the same shape reuses the plan and its context")
    func workspaceReuse() throws {
        let (conv, x, _, _) = try ConvCase(name: "reuse", input: [1, 8, 8, 4], outChannels: 4, kernel: 3, padding: 1).make(seed: 8)
        var y = try Tensor(zeros: conv.outputShape(forInput: x.shape))
        try conv.forward(x, into: &y)
        let plan = try conv.plan(forInput: x.shape)
        let first = y
        try conv.forward(x, into: &y)
        #expect(try conv.plan(forInput: x.shape) === plan)
        #expect(plan.contextCount == 1, "one context, reused")
        if KernelISA.best == .portable {
            #expect(plan.memory.arenaBytes == 64 * 36 * 4, "the arena is the im2col workspace: 64 rows of 36")
        } else {
            #expect(plan.memory.arenaBytes == 10 * 10 * 4 * 4, "the arena is the implicit GEMM's padded input: 10×10 pixels of 4")
        }
        #expect(y == first)
    }

    @Test("the kernel writes a channel slice of a wider tensor (a concat member), leaving the other channels alone")
    func writesChannelSlice() throws {
        let (conv, x, weight, bias) = try ConvCase(name: "slice", input: [2, 3, 4, 5], outChannels: 3).make(seed: 9)
        let wide = 8, offset = 4
        var out = [Float](repeating: -1, count: 2 * 3 * 4 * wide)
        let input = Operand(slot: 0, shape: [2, 5, 3, 4], strides: Operand.strides([2, 5, 3, 4], .nhwc), layout: .nhwc)
        let output = Operand(slot: 1, shape: [2, 3, 3, 4], strides: [3 * 4 * wide, 1, 4 * wide, wide], layout: .nhwc)
        let kernel = ConvolutionKernel(geometry: conv.geometry, weight: weight, bias: bias, activation: .identity,
                                       input: input, output: output, residual: nil)
        try x.scalars.withUnsafeBufferPointer { xp in
            try out.withUnsafeMutableBufferPointer { op in
                try runKernel(kernel, [UnsafeMutableRawPointer(mutating: xp.baseAddress!), UnsafeMutableRawPointer(op.baseAddress! + offset)])
            }
        }
        let expected = try Reference.conv2D(x, weight: weight, bias: bias)
        for pixel in 0..<24 {
            for channel in 0..<wide {
                let value = out[pixel * wide + channel]
                if channel >= offset && channel < offset + 3 {
                    #expect(abs(value - expected.scalars[pixel * 3 + channel - offset]) <= 1e-5)
                } else {
                    #expect(value == -1, "channels outside the slice are untouched")
                }
            }
        }
    }
}

@Suite("Conv2D bad input")
struct Conv2DBadInputTests {
    @Test func wrongInputChannels() throws {
        let conv = try Conv2D(inChannels: 256, outChannels: 16, kernel: 1, seed: 1)
        expectError("input channels", "[1, 28, 28, 255]", "expected 256, got 255") {
            _ = try conv(Tensor(zeros: [1, 28, 28, 255]))
        }
    }

    @Test func wrongInputRank() throws {
        let conv = try Conv2D(inChannels: 3, outChannels: 4, kernel: 3, seed: 1)
        expectError("input rank", "expected 4 ([N, H, W, C]), got 3 ([8, 8, 3])") { _ = try conv(Tensor(zeros: [8, 8, 3])) }
    }

    @Test func kernelLargerThanPaddedInput() throws {
        let conv = try Conv2D(inChannels: 2, outChannels: 2, kernel: 5, padding: 0, seed: 1)
        expectError("kernel 5x5", "expected at least 5x5, got 3x4 (input 3x4, padding 0x0)") {
            _ = try conv(Tensor(zeros: [1, 3, 4, 2]))
        }
        let dilated = try Conv2D(inChannels: 2, outChannels: 2, kernel: 3, padding: 1, dilation: 3, seed: 1)
        expectError("dilation 3x3, extent 7x7", "expected at least 7x7, got 6x6") {
            _ = try dilated(Tensor(zeros: [1, 4, 4, 2]))
        }
    }

    @Test func zeroOrNegativeSizes() {
        expectError("inChannels must be ≥ 1, got 0") { _ = try Conv2D(inChannels: 0, outChannels: 4, kernel: 1, seed: 1) }
        expectError("outChannels must be ≥ 1, got -3") { _ = try Conv2D(inChannels: 4, outChannels: -3, kernel: 1, seed: 1) }
        expectError("kernel width must be ≥ 1, got 0") { _ = try Conv2D(inChannels: 4, outChannels: 4, kernel: Size2D(3, 0), seed: 1) }
        expectError("stride height must be ≥ 1, got 0") { _ = try Conv2D(inChannels: 4, outChannels: 4, kernel: 1, stride: Size2D(0, 1), seed: 1) }
        expectError("dilation width must be ≥ 1, got 0") { _ = try Conv2D(inChannels: 4, outChannels: 4, kernel: 3, dilation: Size2D(1, 0), seed: 1) }
        expectError("padding left must be ≥ 0, got -1") {
            _ = try Conv2D(inChannels: 4, outChannels: 4, kernel: 3, padding: Padding2D(top: 0, bottom: 0, left: -1, right: 0), seed: 1)
        }
        expectError("groups must be ≥ 1, got 0") { _ = try Conv2D(inChannels: 4, outChannels: 4, kernel: 1, groups: 0, seed: 1) }
        expectError("inChannels must be a multiple of groups (3), got 4") {
            _ = try Conv2D(inChannels: 4, outChannels: 6, kernel: 1, groups: 3, seed: 1)
        }
    }

    @Test func zeroSizedInput() throws {
        let conv = try Conv2D(inChannels: 3, outChannels: 4, kernel: 1, seed: 1)
        expectError("dimension 0 of input shape [0, 4, 4, 3]", "got 0") {
            _ = try conv.outputShape(forInput: [0, 4, 4, 3])
        }
    }

    @Test func mismatchedWeightAndBias() throws {
        expectError("weight shape", "expected [16, 256, 1, 1], got [16, 255, 1, 1]") {
            _ = try Conv2D(inChannels: 256, outChannels: 16, kernel: 1, weight: Tensor(zeros: [16, 255, 1, 1]))
        }
        expectError("weight shape", "expected [8, 2, 3, 3], got [8, 4, 3, 3]") {
            _ = try Conv2D(inChannels: 4, outChannels: 8, kernel: 3, groups: 2, weight: Tensor(zeros: [8, 4, 3, 3]))
        }
        expectError("bias shape", "expected [16], got [15]") {
            _ = try Conv2D(inChannels: 8, outChannels: 16, kernel: 1, weight: Tensor(zeros: [16, 8, 1, 1]),
                           bias: Tensor(zeros: [15]))
        }
    }

    @Test func wrongOutputShape() throws {
        let conv = try Conv2D(inChannels: 3, outChannels: 4, kernel: 3, padding: 1, seed: 1)
        var y = try Tensor(zeros: [1, 5, 5, 3])
        expectError("output tensor shape", "expected [1, 5, 5, 4], got [1, 5, 5, 3]") {
            try conv.forward(Tensor(zeros: [1, 5, 5, 3]), into: &y)
        }
    }
}
