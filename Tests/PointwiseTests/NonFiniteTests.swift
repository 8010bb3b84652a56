import Testing
@testable import Pointwise

/// NaN and infinity as PyTorch treats them, operator by operator: every activation propagates NaN
/// (relu(NaN) = NaN, where the old epilogue gave 0), max pooling returns NaN when its window holds
/// one, sums and products follow IEEE. Each case runs the engine and the reference interpreter on
/// an input sprinkled with NaN, +inf and −inf and requires the same non-finite values in the same
/// places, the finite ones within the Float32 tolerance.
@Suite("NaN and infinity")
struct NonFiniteTests {
    /// A random tensor with NaN, +inf and −inf at a few seeded positions.
    static func poisoned(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var t = try Tensor(randomUniform: shape, in: -2...2, seed: seed)
        var generator = SeededGenerator(seed: seed &+ 99)
        for (k, value) in [Float.nan, .infinity, -.infinity, .nan].enumerated() where t.count > 0 {
            t.scalars[Int(generator.next() % UInt64(t.count))] = value
            if k == 0 && t.count > 7 { t.scalars[7] = .nan }
        }
        return t
    }

    /// Non-finite values equal (NaN where NaN, the same infinity), finite ones within `tolerance` of max|finite|.
    static func agree(_ a: Tensor, _ b: Tensor, tolerance: Double = 1e-4) -> String? {
        guard a.shape == b.shape else { return "shapes \(a.shape) and \(b.shape)" }
        let scale = b.scalars.filter(\.isFinite).map { Double(abs($0)) }.max() ?? 1
        for (i, (x, y)) in zip(a.scalars, b.scalars).enumerated() {
            if y.isNaN { if !x.isNaN { return "element \(i): \(x), expected NaN" }; continue }
            if y.isInfinite { if x != y { return "element \(i): \(x), expected \(y)" }; continue }
            if !x.isFinite || abs(Double(x) - Double(y)) > tolerance * max(scale, 1e-30) { return "element \(i): \(x), expected \(y)" }
        }
        return nil
    }

    static func check(_ build: (GraphBuilder, ValueID) throws -> ValueID, input shape: [Int], seed: UInt64 = 1,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let b = GraphBuilder(name: "nonfinite")
        let x = b.input("x", shape: shape.map { .fixed($0) })
        b.output(try build(b, x))
        let graph = try b.build()
        let input = try poisoned(shape, seed: seed)
        let engine = try InferenceSession(graph).run(["x": .float32(input)]).values.first!.floatTensor!
        let reference = try ReferenceInterpreter.run(graph, inputs: ["x": .float32(input)]).values.first!.floatTensor!
        #expect(reference.scalars.contains { !$0.isFinite }, "the case exercises non-finite values", sourceLocation: sourceLocation)
        if let problem = agree(engine, reference) { Issue.record("\(graph.nodeList): \(problem)", sourceLocation: sourceLocation) }
    }

    @Test("activations on every ISA: NaN stays NaN, infinities go where the definition sends them", arguments: testActivations)
    func activations(activation: Activation) throws {
        for isa in KernelISATests.supported {
            try KernelISA.with(isa) {
                try Self.check({ b, x in b.node(.activation(activation), [x], name: "act")[0] }, input: [2, 3, 5, 7])
            }
        }
    }

    @Test("convolutions (1x1, im2col, depthwise, grouped) with fused BatchNorm and ReLU")
    func convolutions() throws {
        for (kernel, groups, padding) in [(1, 1, 0), (3, 1, 1), (3, 6, 1), (3, 2, 0)] {
            try Self.check({ b, x in
                let c = try b.conv(x, weight: weights([6, 6 / groups, kernel, kernel], seed: 3), bias: weights([6], seed: 4),
                                   padding: Padding2D(padding), groups: groups, name: "conv")
                let n = try b.batchNorm(c, RandomParameters(seed: 5).batchNorm("bn", channels: 6, eps: 1e-5), name: "bn")
                return b.relu(n, name: "relu")
            }, input: [2, 6, 5, 6])
        }
    }

    @Test("pools: max (NaN wins), average, global average and max")
    func pools() throws {
        for isa in KernelISATests.supported {
            try KernelISA.with(isa) {
                try Self.check({ b, x in b.pool(.max, x, kernel: 3, stride: 2, padding: 1, name: "max") }, input: [2, 5, 9, 9])
                try Self.check({ b, x in b.pool(.average(countIncludePad: true), x, kernel: 3, stride: 1, padding: 1, name: "avg") }, input: [2, 5, 7, 7])
                try Self.check({ b, x in b.globalAveragePool(x, name: "gap") }, input: [2, 17, 4, 3])
                try Self.check({ b, x in b.node(.globalMaxPool, [x], name: "gmp")[0] }, input: [2, 17, 4, 3])
            }
        }
    }

    @Test("element-wise: Add, Sub, Mul, Div with broadcasting, Sum, and an unfolded BatchNorm")
    func elementwise() throws {
        for op in BinaryOperator.allCases {
            try Self.check({ b, x in
                b.binary(op, x, b.constant("c", try Tensor(shape: [1, 4, 1, 1], scalars: [0, 1, -2, .infinity])), name: "op")
            }, input: [2, 4, 3, 5])
        }
        try Self.check({ b, x in b.node(.sum(activation: .relu), [x, x, x], name: "sum")[0] }, input: [3, 4, 5])
        try Self.check({ b, x in try b.batchNorm(x, RandomParameters(seed: 2).batchNorm("bn", channels: 4, eps: 1e-5), name: "bn") },
                       input: [2, 4, 3, 3])
    }

    @Test("Gemm, MatMul, Softmax, LRN, Concat, Pad, Transpose")
    func others() throws {
        try Self.check({ b, x in b.linear(x, weight: try weights([5, 7], seed: 1), bias: try weights([5], seed: 2), name: "fc") }, input: [3, 7])
        try Self.check({ b, x in b.node(.matMul, [x, b.constant("w", try weights([7, 4], seed: 3))], name: "mm")[0] }, input: [2, 3, 7])
        try Self.check({ b, x in b.softmax(x, axis: -1, name: "softmax") }, input: [4, 9])
        try Self.check({ b, x in b.node(.lrn(LRNAttributes(size: 3)), [x], name: "lrn")[0] }, input: [1, 6, 3, 3])
        try Self.check({ b, x in b.concat([b.relu(x, name: "r"), b.node(.activation(.sigmoid), [x], name: "s")[0]], name: "cat") }, input: [2, 3, 4, 4])
        try Self.check({ b, x in b.node(.pad(PadAttributes(mode: .reflect, pads: [0, 0, 1, 2, 0, 0, 2, 1])), [x], name: "pad")[0] }, input: [1, 2, 5, 5])
        try Self.check({ b, x in b.node(.transpose(permutation: [0, 2, 3, 1]), [x], name: "t")[0] }, input: [2, 3, 4, 5])
    }

    @Test("a whole network on an all-NaN image gives NaN logits, not a confident top-5")
    func networkPropagatesNaN() throws {
        let network = try Network.build(.mobilenetV2, parameters: RandomParameters(seed: 1))
        let y = try network(Tensor(shape: [1, 64, 64, 3], scalars: Array(repeating: .nan, count: 64 * 64 * 3)))
        let allNaN = y.scalars.allSatisfy { $0.isNaN }
        #expect(allNaN)
        // And the agreement measure refuses non-finite outputs.
        let zero = try Tensor(zeros: y.shape)
        let error = try Reference.normalizedError(y, zero)
        #expect(error == .infinity)
    }
}
