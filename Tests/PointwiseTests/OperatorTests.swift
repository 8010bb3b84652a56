import Testing
@testable import Pointwise

/// One case per operator against the naive reference, by normalised error (ggml style).
@Suite("Operators against the naive reference")
struct OperatorTests {
    let parameters = RandomParameters(seed: 23)

    @Test("BatchNorm folded into the convolution equals conv then BatchNorm, for each activation",
          arguments: testActivations)
    func foldedBatchNorm(activation: Activation) throws {
        let x = try Tensor(randomUniform: [2, 6, 7, 5], seed: 1)
        let weight = try Tensor(randomUniform: [8, 5, 3, 3], seed: 2)
        let bias = try Tensor(randomUniform: [8], seed: 3)
        let bn = try parameters.batchNorm("bn", channels: 8, eps: 1e-3)
        let folded = try Conv2D(inChannels: 5, outChannels: 8, kernel: 3, stride: 2, padding: 1,
                                weight: weight, bias: bias, batchNorm: bn, activation: activation)
        let unfolded = try ChannelAffine(batchNorm: bn)(Conv2D(inChannels: 5, outChannels: 8, kernel: 3, stride: 2, padding: 1,
                                                  weight: weight, bias: bias)(x))
        let expected = ReferenceComposer(parameters: parameters).apply(activation, Reference.batchNorm(
            try Reference.conv2D(x, weight: weight, bias: bias, stride: 2, padding: 1), bn))
        #expect(try Reference.normalizedError(folded(x), expected) <= float32Tolerance)
        #expect(try Reference.normalizedError(ReferenceComposer(parameters: parameters).apply(activation, unfolded), expected)
                <= float32Tolerance)
        // PyTorch counts conv weight + bias + BN weight and bias.
        #expect(folded.parameterCount == 8 * 5 * 9 + 8 + 16)
    }

    @Test("BatchNorm parameters with mismatched lengths are rejected")
    func batchNormShapes() {
        expectError("BatchNorm running_var shape", "expected [3], got [2]") {
            _ = try BatchNormParameters(weight: [1, 1, 1], bias: [0, 0, 0], runningMean: [0, 0, 0], runningVar: [1, 1])
        }
        expectError("BatchNorm channels", "expected 4, got 3") {
            _ = try Conv2D(inChannels: 2, outChannels: 4, kernel: 1, weight: Tensor(zeros: [4, 2, 1, 1]),
                           batchNorm: BatchNormParameters(weight: [1, 1, 1], bias: [0, 0, 0], runningMean: [0, 0, 0], runningVar: [1, 1, 1]))
        }
    }

    @Test("depthwise kernel (vector body and scalar tail) equals the naive grouped convolution",
          arguments: [(channels: 3, stride: 1), (channels: 8, stride: 2), (channels: 21, stride: 1), (channels: 32, stride: 2)])
    func depthwise(channels: Int, stride: Int) throws {
        let x = try Tensor(randomUniform: [2, 9, 8, channels], seed: 4)
        let weight = try Tensor(randomUniform: [channels, 1, 3, 3], seed: 5)
        let bias = try Tensor(randomUniform: [channels], seed: 6)
        let conv = try Conv2D(inChannels: channels, outChannels: channels, kernel: 3, stride: Size2D(stride), padding: 1,
                              groups: channels, weight: weight, bias: bias, activation: .relu6)
        #expect(conv.lowering == .depthwise)
        let (y, calls) = try GEMMTrace.record { try conv(x) }
        #expect(calls.isEmpty, "depthwise runs no GEMM")
        let expected = Reference.relu6(try Reference.conv2D(x, weight: weight, bias: bias, stride: Size2D(stride),
                                                            padding: 1, groups: channels))
        #expect(try Reference.normalizedError(y, expected) <= float32Tolerance)
    }

    @Test("max pool: kernel, stride, padding, ceil_mode (GoogLeNet's pools)",
          arguments: [(3, 2, 0, true), (3, 2, 1, false), (3, 1, 1, true), (2, 2, 0, true), (3, 2, 0, false)])
    func maxPool(kernel: Int, stride: Int, padding: Int, ceilMode: Bool) throws {
        for size in [(7, 8), (13, 14)] {
            let x = try Tensor(randomUniform: [2, size.0, size.1, 5], seed: 7)
            let pool = try Pool2D(.max, kernel: Size2D(kernel), stride: Size2D(stride), padding: Size2D(padding), ceilMode: ceilMode)
            let expected = try Reference.maxPool(x, kernel: Size2D(kernel), stride: Size2D(stride), padding: Size2D(padding),
                                                 ceilMode: ceilMode)
            let y = try pool(x)
            #expect(y.shape == expected.shape)
            #expect(y == expected, "max pooling is exact")
        }
    }

    @Test("max pool and depthwise split across two threads give the single-thread result exactly")
    func threadedPoolAndDepthwise() throws {
        let x = try Tensor(randomUniform: [2, 57, 56, 64], seed: 12)
        let pool = try Pool2D(.max, kernel: 3, stride: 2, padding: 1)
        let depthwise = try Conv2D(inChannels: 64, outChannels: 64, kernel: 3, stride: 1, padding: 1, groups: 64, seed: 3)
        for layer in [pool, depthwise] as [Layer] {
            let one = try BLASRuntime.shared.withThreadLimit(1) { try layer(x) }
            let two = try BLASRuntime.shared.withThreadLimit(2) { try layer(x) }
            #expect(one == two)
        }
        #expect(try pool(x) == Reference.maxPool(x, kernel: 3, stride: 2, padding: Size2D(1)))
    }

    @Test("ceil_mode output sizes match PyTorch's (GoogLeNet: 112 → 56 → 28 → 14 → 7)")
    func ceilModeSizes() throws {
        let pool = try Pool2D(.max, kernel: 3, stride: 2, ceilMode: true)
        #expect(try pool.outputShape(forInput: [1, 112, 112, 1]) == [1, 56, 56, 1])
        #expect(try pool.outputShape(forInput: [1, 56, 56, 1]) == [1, 28, 28, 1])
        #expect(try pool.outputShape(forInput: [1, 28, 28, 1]) == [1, 14, 14, 1])
        #expect(try Pool2D(.max, kernel: 2, stride: 2, ceilMode: true).outputShape(forInput: [1, 14, 14, 1]) == [1, 7, 7, 1])
        #expect(try Pool2D(.max, kernel: 3, stride: 2, ceilMode: false).outputShape(forInput: [1, 112, 112, 1]) == [1, 55, 55, 1])
        // PyTorch drops a last window that would start in the right padding: 5 + 2·1 − 2 over 2 → ceil 2.5 + 1 = 4 → 3.
        #expect(try Pool2D(.max, kernel: 2, stride: 2, padding: 1, ceilMode: true).outputShape(forInput: [1, 5, 5, 1]) == [1, 3, 3, 1])
    }

    @Test("average pool with and without count_include_pad, ceil_mode",
          arguments: [(3, 2, 1, false, true), (3, 2, 1, false, false), (3, 2, 1, true, true), (3, 2, 1, true, false), (2, 2, 0, true, true)])
    func averagePool(kernel: Int, stride: Int, padding: Int, ceilMode: Bool, countIncludePad: Bool) throws {
        let x = try Tensor(randomUniform: [2, 8, 9, 6], seed: 8)
        let pool = try Pool2D(.average(countIncludePad: countIncludePad), kernel: Size2D(kernel), stride: Size2D(stride),
                              padding: Size2D(padding), ceilMode: ceilMode)
        let expected = try Reference.averagePool(x, kernel: Size2D(kernel), stride: Size2D(stride), padding: Size2D(padding),
                                                 ceilMode: ceilMode, countIncludePad: countIncludePad)
        #expect(try Reference.normalizedError(pool(x), expected) <= 1e-6)
    }

    @Test("pool options are validated")
    func poolOptions() {
        expectError("pool padding must be at most half the kernel 3x3, got 2x2") { _ = try Pool2D(.max, kernel: 3, padding: Size2D(2)) }
        expectError("pool stride height must be ≥ 1, got 0") { _ = try Pool2D(.max, kernel: 3, stride: Size2D(0, 1)) }
    }

    @Test("global average pool, linear (one SGEMM, weight read transposed), softmax, flatten")
    func head() throws {
        let x = try Tensor(randomUniform: [3, 5, 4, 10], seed: 9)
        let pooled = try GlobalAveragePool()(x)
        #expect(try Reference.normalizedError(pooled, Reference.globalAveragePool(x)) <= 1e-6)

        let weight = try Tensor(randomUniform: [7, 10], seed: 10)
        let bias = try Tensor(randomUniform: [7], seed: 11)
        let linear = try Linear(inFeatures: 10, outFeatures: 7, weight: weight, bias: bias)
        let (logits, calls) = try GEMMTrace.record { try linear(pooled) }
        // OpenBLAS reads the [out, in] weight transposed (ldb = in); the packed GEMM (with AVX2 or
        // AVX-512) packed it, transposed, once when the plan was made (ldb = the matrix width N).
        let call = try #require(calls.count == 1 ? calls.first : nil, "\(calls)")
        if call.kernel == .packed {
            #expect([call.m, call.k, call.n, call.lda, call.ldb, call.ldc] == [3, 10, 7, 10, 7, 7])
        } else {
            #expect([call.m, call.k, call.n, call.lda, call.ldb, call.ldc] == [3, 10, 7, 10, 10, 7] && call.transposeB)
        }
        #expect(try Reference.normalizedError(logits, Reference.linear(pooled, weight: weight, bias: bias)) <= float32Tolerance)

        let probabilities = try Softmax()(logits)
        #expect(try Reference.normalizedError(probabilities, Reference.softmax(logits)) <= 1e-6)
        for row in 0..<3 { #expect(abs(probabilities.scalars[row * 7..<(row + 1) * 7].reduce(0, +) - 1) < 1e-6) }
        // Large logits do not overflow.
        let huge = try Softmax()(Tensor(shape: [1, 3], scalars: [1000, 999, -1000]))
        #expect(huge.scalars.allSatisfy { $0.isFinite } && huge.scalars[0] > huge.scalars[1])

        // Flatten follows PyTorch's NCHW order: flatten(nhwc) == nchw(nhwc) as a flat array.
        let flat = try Flatten()(x)
        #expect(flat.shape == [3, 200])
        let nchw = try x.nchw()
        #expect(flat.scalars == nchw.scalars)
    }

    @Test("linear and residual add reject mismatched shapes")
    func headErrors() throws {
        let linear = try Linear(inFeatures: 10, outFeatures: 7, weight: Tensor(zeros: [7, 10]))
        expectError("Linear input shape", "expected [N, 10] or [N, 1, 1, 10], got [2, 3, 3, 10]") { _ = try linear(Tensor(zeros: [2, 3, 3, 10])) }
        expectError("weight shape ([out, in])", "expected [7, 10], got [10, 7]") {
            _ = try Linear(inFeatures: 10, outFeatures: 7, weight: Tensor(zeros: [10, 7]))
        }
        let a = try Tensor(randomUniform: [1, 2, 2, 3], seed: 1)
        expectError("residual add operand shapes", "expected [1, 2, 2, 3], got [1, 2, 2, 4]") { _ = try a.adding(Tensor(zeros: [1, 2, 2, 4])) }
        let b = try Tensor(randomUniform: [1, 2, 2, 3], seed: 2)
        #expect(try a.adding(b, activation: .relu).scalars == zip(a.scalars, b.scalars).map { max($0 + $1, 0) })
    }
}
