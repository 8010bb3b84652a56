import Testing
@testable import Pointwise

/// Each block against the composition of naive reference operators (`ReferenceComposer`),
/// by normalised error ≤ `float32Tolerance` (basis in TestSupport.swift).
@Suite("Blocks against reference compositions")
struct BlockTests {
    let parameters = RandomParameters(seed: 17)
    var reference: ReferenceComposer { ReferenceComposer(parameters: parameters) }

    func check(_ block: Layer, _ x: Tensor, _ expected: Tensor, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let y = try block(x)
        #expect(y.shape == expected.shape, sourceLocation: sourceLocation)
        #expect(try Reference.normalizedError(y, expected) <= float32Tolerance, sourceLocation: sourceLocation)
        // A second run on the same buffers gives the same answer (no state leaks between runs).
        var again = try Tensor(zeros: y.shape)
        try block.forward(x, into: &again)
        #expect(again == y, sourceLocation: sourceLocation)
    }

    @Test("ResNet bottleneck, identity shortcut, batch 2, odd size",
          arguments: [(inChannels: 32, width: 8, stride: 1)])
    func bottleneckIdentity(inChannels: Int, width: Int, stride: Int) throws {
        let block = try Bottleneck(parameters, prefix: "b", inChannels: inChannels, width: width, stride: stride)
        #expect(block.downsample == nil)
        let x = try Tensor(randomUniform: [2, 7, 9, inChannels], seed: 1)
        try check(block, x, reference.bottleneck(x, prefix: "b", inChannels: inChannels, width: width, stride: stride))
    }

    @Test("ResNet bottleneck with projection shortcut (1x1 stride 2), stride on the 3x3",
          arguments: [(16, 8, 2), (16, 8, 1), (24, 16, 2)])
    func bottleneckProjection(inChannels: Int, width: Int, stride: Int) throws {
        let block = try Bottleneck(parameters, prefix: "p\(inChannels)", inChannels: inChannels, width: width, stride: stride)
        #expect(block.downsample != nil)
        #expect(block.conv2.stride == Size2D(stride) && block.conv1.stride == 1)
        let x = try Tensor(randomUniform: [2, 9, 8, inChannels], seed: 2)
        try check(block, x, reference.bottleneck(x, prefix: "p\(inChannels)", inChannels: inChannels, width: width, stride: stride))
    }

    @Test("Inception module, torchvision's 3x3 branch 3 (default) and the paper's 5x5", arguments: [3, 5])
    func inception(branch3Kernel: Int) throws {
        let c = (24, 8, 6, 10, 4, 6, 5)
        let block = try InceptionModule(parameters, prefix: "inc", inChannels: c.0, ch1x1: c.1, ch3x3Reduce: c.2, ch3x3: c.3,
                                        ch5x5Reduce: c.4, ch5x5: c.5, poolProjection: c.6,
                                        branch3Kernel: branch3Kernel == 3 ? .torchvision3x3 : .paper5x5)
        let x = try Tensor(randomUniform: [2, 7, 6, 24], seed: 3)
        try check(block, x, reference.inception(x, prefix: "inc", c, branch3Kernel: branch3Kernel))
    }

    @Test("Inception concat is zero-copy: each branch's last GEMM writes its channel slice of the output")
    func inceptionConcatWritesInPlace() throws {
        let block = try InceptionModule(parameters, prefix: "zc", inChannels: 16, ch1x1: 8, ch3x3Reduce: 4, ch3x3: 12,
                                        ch5x5Reduce: 4, ch5x5: 6, poolProjection: 10)
        let x = try Tensor(randomUniform: [1, 5, 5, 16], seed: 4)
        var y = try Tensor(zeros: [1, 5, 5, 36])
        let (_, calls) = try recordGEMMs { try block.forward(x, into: &y) }
        let base = y.scalars.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let writesToOutput = calls.filter { $0.c >= base && $0.c < base + UInt(y.count * 4) }
        // branch1 1x1, branch2's 3x3, branch3's 3x3, branch4's 1x1: offsets 0, 8, 20, 26 with ldc 36.
        #expect(writesToOutput.map { Int($0.c - base) / 4 } == [0, 8, 20, 26])
        #expect(writesToOutput.allSatisfy { $0.ldc == 36 })
        #expect(writesToOutput.map(\.n) == [8, 12, 6, 10])
        // Nothing but those GEMMs (and the epilogue in place) touches the output: no concat buffer.
        #expect(calls.count == 6)
    }

    @Test("MobileNetV1 depthwise-separable block", arguments: [1, 2])
    func depthwiseSeparable(stride: Int) throws {
        let block = try DepthwiseSeparable(parameters, prefix: "f\(stride)", inChannels: 20, outChannels: 12, stride: stride)
        #expect(block.depthwise.lowering == .depthwise && block.pointwise.lowering == .pointwise)
        let x = try Tensor(randomUniform: [2, 9, 7, 20], seed: 5)
        try check(block, x, reference.depthwiseSeparable(x, prefix: "f\(stride)", inChannels: 20, outChannels: 12, stride: stride))
    }

    @Test("MobileNetV2 inverted residual: t = 1, residual with t = 6, stride 2",
          arguments: [(16, 16, 1, 1), (12, 12, 1, 6), (12, 20, 2, 6), (8, 12, 1, 6)])
    func invertedResidual(inChannels: Int, outChannels: Int, stride: Int, t: Int) throws {
        let prefix = "ir\(inChannels)_\(outChannels)_\(stride)_\(t)"
        let block = try InvertedResidual(parameters, prefix: prefix, inChannels: inChannels, outChannels: outChannels,
                                         stride: stride, expandRatio: t)
        #expect(block.usesResidual == (stride == 1 && inChannels == outChannels))
        let x = try Tensor(randomUniform: [2, 7, 8, inChannels], seed: 6)
        try check(block, x, reference.invertedResidual(x, prefix: prefix, inChannels: inChannels, outChannels: outChannels,
                                                       stride: stride, expandRatio: t))
    }

    @Test("blocks reject a wrong channel count naming the shapes")
    func badInput() throws {
        let block = try Bottleneck(parameters, prefix: "bad", inChannels: 32, width: 8)
        expectError("input channels", "[1, 8, 8, 16]", "expected 32, got 16") { _ = try block(Tensor(zeros: [1, 8, 8, 16])) }
        let inception = try InceptionModule(parameters, prefix: "bad", inChannels: 16, ch1x1: 8, ch3x3Reduce: 4, ch3x3: 12,
                                            ch5x5Reduce: 4, ch5x5: 6, poolProjection: 10)
        expectError("expected 16, got 3") { _ = try inception(Tensor(zeros: [1, 8, 8, 3])) }
    }

    @Test("concat branches that disagree on H and W are an error naming both shapes")
    func mismatchedBranches() throws {
        let concat = try ChannelConcat([
            try Conv2D(inChannels: 4, outChannels: 3, kernel: 1, seed: 1),
            try Conv2D(inChannels: 4, outChannels: 5, kernel: 3, seed: 2),
        ])
        // NCHW in the graph: branch 1 gives [1, 3, 6, 6], branch 2 [1, 5, 4, 4].
        expectError("Concat input 1 shape", "[1, 3, 6, 6]", "got [1, 5, 4, 4]") { _ = try concat(Tensor(zeros: [1, 6, 6, 4])) }
    }
}
