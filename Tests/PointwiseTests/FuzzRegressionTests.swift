import Foundation
import Testing
@testable import Pointwise

/// Inputs the fuzzers of Fuzz/ (Scripts/fuzz.sh) found crashing or mishandled, each reduced to the
/// graph or model that showed it and now required to give the right result or a thrown error naming
/// the value.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    typealias O = ONNXImportTests

    /// FuzzGraph: Gather with indices [5, 5] on an axis of size 1 read past the end of its input
    /// (ASan heap-buffer-overflow in StridedCopy): indices were only checked by the reference interpreter.
    @Test("Gather with an out-of-range index is an error naming it, not an out-of-bounds read")
    func gatherIndexOutOfRange() throws {
        for (indices, bad) in [([5, 5], 5), ([0, -2], -2)] as [([Int64], Int)] {
            let b = GraphBuilder(name: "gather")
            let x = b.input("x", shape: [2, 1])
            let i = b.constant("i", Int64Tensor(indices))
            b.output(b.node(.gather(axis: 1), [x, i], name: "g")[0])
            let graph = try b.build()
            let error = try #require(throws: PointwiseError.self) { try InferenceSession(graph).run(["x": .float32(Tensor(zeros: [2, 1]))]) }
            #expect("\(error)".contains("Gather index") && "\(error)".contains("\(bad)") && "\(error)".contains("-1..<1"), "\(error)")
        }
        // In range, negative included: runs and picks the right elements.
        let b = GraphBuilder(name: "gather")
        let x = b.input("x", shape: [2, 3])
        b.output(b.node(.gather(axis: 1), [x, b.constant("i", Int64Tensor([2, -3]))], name: "g")[0])
        let y = try InferenceSession(b.build()).run(["x": .float32(Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5]))]).values.first!.floatTensor!
        #expect(y.scalars == [2, 0, 5, 3])
    }

    /// FuzzONNX: ConstantOfShape of shape [17179869186, 3] made constant folding allocate 384 GiB
    /// (ASan out-of-memory): the fold evaluated the node before checking its output size.
    @Test("ConstantOfShape of absurd dimensions is an error naming the shape, with nothing allocated")
    func constantOfShapeHuge() throws {
        for (shape, expected) in [([17_179_869_186, 3], "17179869186, 3"), ([1 << 40, 1 << 40], "\(1 << 40)")] as [([Int64], String)] {
            let b = GraphBuilder(name: "huge")
            let x = b.input("x", shape: [1, 3])
            let k = b.node(.constantOfShape(.float32(try Tensor(shape: [1], scalars: [1.5]))), [b.constant("cs", Int64Tensor(shape))], name: "k")[0]
            b.output(b.add(x, k, name: "y"))
            let graph = try b.build()
            let error = try #require(throws: PointwiseError.self) { try InferenceSession(graph).plan(inputShapes: [[1, 3]]) }
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    /// FuzzONNX: a Constant holding both `value_int` and `value_floats` (ONNX allows exactly one)
    /// took the first it found; and `value_int` (an INT) was read as INTS, so it was always refused.
    @Test("a Constant with two values, or none, is an error listing them")
    func constantWithTwoValues() throws {
        var ints = O.attribute("value_int", int: 1 << 40)
        ints.name = "value_int"
        var floats = Onnx_AttributeProto()
        floats.name = "value_floats"
        floats.type = .floats
        floats.floats = [1, 2]
        for (attributes, expected) in [([ints, floats], "2 values (value_floats, value_int)"), ([], "no value")] {
            let model = O.model([O.node("Constant", [], ["c"], name: "k", attributes: attributes), O.node("Add", ["x", "c"], ["y"])],
                                inputs: [O.valueInfo("x", [2])], outputs: ["y"])
            let error = try #require(throws: PointwiseError.self) { try O.load(model) }
            #expect("\(error)".contains("'k'") && "\(error)".contains(expected), "\(error)")
        }
        // value_int beyond Int32 is a valid int64 constant.
        let model = O.model([O.node("Constant", [], ["c"], attributes: [ints]), O.node("Identity", ["c"], ["y"])],
                            inputs: [O.valueInfo("x", [2])], outputs: ["y"])
        let y = try InferenceSession(try O.load(model)).run(["x": .float32(Tensor(zeros: [2]))])["y"]
        #expect(y?.integers == [1 << 40])
    }

    /// FuzzONNX: an opset-6 Add with broadcast=1 and an axis past A's rank built a negative
    /// repeat count (trap in Array(repeating:count:)).
    @Test("a legacy broadcast axis that does not fit is an error naming it")
    func legacyBroadcastAxis() throws {
        for axis: Int64 in [3, -5] {
            let model = O.model([O.node("Add", ["x", "b"], ["y"], name: "add",
                                        attributes: [O.attribute("broadcast", int: 1), O.attribute("axis", int: axis)])],
                                inputs: [O.valueInfo("x", [1, 2, 3])], outputs: ["y"],
                                initializers: [O.tensor("b", [2], floats: [1, 2])], opset: 6)
            let error = try #require(throws: PointwiseError.self) { try O.load(model) }
            #expect("\(error)".contains("'add'") && "\(error)".contains("axis \(axis)"), "\(error)")
        }
    }

    /// FuzzGraph: a Conv with group 8791026468399546421 trapped on weight[1]·group (arithmetic overflow)
    /// in shape inference.
    @Test("a Conv group so large that weight[1]·group overflows is an error naming the group")
    func convGroupOverflow() throws {
        for group in [8_791_026_468_399_546_421, Int.max, 3] {
            let b = GraphBuilder(name: "group")
            let x = b.input("x", shape: [1, 2, 4, 4])
            let y = b.node(.conv(ConvolutionAttributes(kernelShape: nil, strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0],
                                                       autoPad: .notSet, group: group)),
                           [x, b.constant("w", try Tensor(zeros: [2, 2, 1, 1]))], name: "conv")[0]
            b.output(y)
            let error = try #require(throws: PointwiseError.self) { try InferenceSession(b.build()).plan(inputShapes: [[1, 2, 4, 4]]) }
            #expect("\(error)".contains("group \(group)"), "\(error)")
        }
    }

    /// FuzzGraph: an input of shape [4, 0, 0, 4539628437307916288] has no elements, so it passed the
    /// element-count check, and its strides overflowed (trap in Broadcasting.strides).
    @Test("an empty input whose other dimensions are absurd is an error naming the shape")
    func emptyShapeWithAbsurdExtent() throws {
        let b = GraphBuilder(name: "empty")
        let x = b.input("x", shape: [4, 0, 0, 4_539_628_437_307_916_288])
        b.output(b.relu(x, name: "r"))
        let error = try #require(throws: PointwiseError.self) { try InferenceSession(b.build()).plan(inputShapes: [[4, 0, 0, 4_539_628_437_307_916_288]]) }
        #expect("\(error)".contains("4539628437307916288") && "\(error)".contains("zero dimensions counted as 1"), "\(error)")
        // An empty tensor of sane extents is fine: an empty result.
        let c = GraphBuilder(name: "empty")
        c.output(c.relu(c.input("x", shape: [2, 0, 3]), name: "r"))
        let y = try InferenceSession(c.build()).run(["x": .float32(Tensor(zeros: [2, 0, 3]))]).values.first!.floatTensor!
        #expect(y.shape == [2, 0, 3])
    }

    /// FuzzONNX: Pad's pads holding Int64.min trapped in abs() while being range-checked.
    @Test("Pad with pads of Int64.min is an error naming them")
    func padMinimumInteger() throws {
        let b = GraphBuilder(name: "pad")
        let x = b.input("x", shape: [1, 2, 3])
        let pads = b.constant("pads", Int64Tensor([0, 0, .min, 0, 0, 1]))
        b.output(b.node(.pad(PadAttributes(mode: .reflect, pads: nil, value: nil)), [x, pads], name: "pad")[0])
        let error = try #require(throws: PointwiseError.self) { try InferenceSession(b.build()).plan(inputShapes: [[1, 2, 3]]) }
        #expect("\(error)".contains("\(Int64.min)") && "\(error)".contains("±2^30"), "\(error)")
    }

    /// FuzzONNX: a Clip with no inputs at all trapped in constant folding (which keeps input 0 of
    /// the Clip it rewrites).
    @Test("a node without its first input is an error naming it")
    func nodeWithoutInputs() throws {
        for (op, inputs) in [("Clip", [String]()), ("Relu", [""]), ("Squeeze", [])] {
            let model = O.model([O.node(op, inputs, ["y"], name: "n")], inputs: [O.valueInfo("x", [2])], outputs: ["y"])
            let error = try #require(throws: PointwiseError.self) { try InferenceSession(try O.load(model)) }
            #expect("\(error)".contains("'n'") && "\(error)".contains("no first input"), "\(error)")
        }
    }

    /// FuzzGraph: LRN with size 2147483647 looped over every shift of its window (2³¹ per vector),
    /// a hang; the window is now cut to the shifts that reach the row. Equal to the reference for
    /// windows wider than the row, on every ISA (channels around the vector widths).
    @Test("LRN with a window far wider than the channels: quick, and equal to the reference on every ISA")
    func lrnHugeWindow() throws {
        for isa in KernelISATests.supported {
            for (channels, size) in [(3, 2_147_483_647), (21, 2_147_483_646), (17, 40), (9, 7)] {
                let b = GraphBuilder(name: "lrn")
                let x = b.input("x", shape: [2, .fixed(channels), 3, 2])
                b.output(b.node(.lrn(LRNAttributes(size: size, alpha: 0.5, beta: 0.75, bias: 1)), [x], name: "lrn")[0])
                let graph = try b.build()
                let inputs = try randomInputs(graph, shapes: ["x": [2, channels, 3, 2]])
                let error = try KernelISA.with(isa) { try engineError(graph, inputs) }
                // Basis: the sum of ≤ C squares in Float32 and one pow: a few ulps.
                #expect(error <= 1e-5, "\(isa) C = \(channels), size \(size): \(error)")
            }
        }
    }

    /// FuzzGraph: MatMul of [1, 0, 4, 4] by itself (zero batches) wrote one 4×4 block into the
    /// empty output's 1-float buffer (heap corruption, found by ASan when it was freed).
    @Test("operators with empty outputs write nothing: zero batches, zero rows, zero channels")
    func emptyOutputs() throws {
        for shape in [[1, 0, 4, 4], [0, 3, 4, 4], [2, 3, 0, 0]] {
            let b = GraphBuilder(name: "empty")
            let x = b.input("x", shape: shape.map { .fixed($0) })
            let m = b.node(.matMul, [x, x], name: "mm")[0]
            let c = try b.conv(b.relu(x, name: "r"), weight: weights([5, 3, 1, 1], seed: 1), name: "conv")
            b.output(m)
            if shape[1] == 3 && shape[2] > 0 { b.output(c) }  // (a 0-high map is an error for Conv, as in PyTorch)
            let outputs = try InferenceSession(b.build()).run(["x": .float32(Tensor(zeros: shape))])
            for (name, value) in outputs { #expect(value.count == 0, "\(name): \(value.shape)") }
        }
    }

    /// From the reliability issue: `scalars` is settable, so a tensor can hold fewer elements than
    /// its shape; the engine handed its base address to the kernels unchecked (out-of-bounds reads).
    @Test("a tensor whose scalars no longer match its shape is an error, not an out-of-bounds read")
    func scalarsShorterThanShape() throws {
        let network = try Network.build(.mobilenetV2, parameters: RandomParameters(seed: 1))
        var x = try Tensor(zeros: [1, 32, 32, 3])
        x.scalars = [1]
        #expect(throws: PointwiseError.self) { try network(x) }
        var y = try Tensor(zeros: [1, 1000])
        y.scalars = []
        #expect(throws: PointwiseError.self) { try network.forward(Tensor(zeros: [1, 32, 32, 3]), into: &y) }
        let b = GraphBuilder(name: "g")
        b.output(b.relu(b.input("x", shape: [2, 3]), name: "r"))
        var z = try Tensor(zeros: [2, 3])
        z.scalars.removeLast()
        let error = try #require(throws: PointwiseError.self) { try InferenceSession(b.build()).run(["x": .float32(z)]) }
        #expect("\(error)".contains("expected 6") && "\(error)".contains("5"), "\(error)")
    }

    /// From the reliability issue: GEMM sizes went to OpenBLAS through Int32(...), a trap past 2³¹ − 1.
    @Test("a tensor of more than 2^31 − 1 elements is a planning error (OpenBLAS's 32-bit sizes), before anything is allocated")
    func beyondInt32() throws {
        let b = GraphBuilder(name: "big")
        let x = b.input("x", shape: [1, 1, 46_341, 46_341])
        b.output(try b.conv(x, weight: weights([2, 1, 1, 1], seed: 1), name: "conv"))
        let error = try #require(throws: PointwiseError.self) {
            try InferenceSession(b.build(), options: CompileOptions(memoryLimit: 1 << 50)).plan(inputShapes: [[1, 1, 46_341, 46_341]])
        }
        #expect("\(error)".contains("2^31 − 1"), "\(error)")
    }

    /// FuzzGraph: BatchNormalization on a [1, 1, 2, 4] input, which stays in NCHW (one channel: the
    /// same bytes as NHWC), took the batch stride (8) as the distance between rows of one channel and
    /// read 7 rows past the end. Against the reference for C = 1 and for [N, C, 1, 1], constant and
    /// run-time parameters, batch 2.
    @Test("BatchNormalization on single-channel and 1x1 maps, batch 2, constant and run-time statistics")
    func batchNormSingleChannel() throws {
        for shape in [[1, 1, 2, 4], [2, 1, 3, 5], [2, 6, 1, 1]] {
            for runtime in [false, true] {
                let b = GraphBuilder(name: "bn")
                let x = b.input("x", shape: shape.map { .fixed($0) })
                let c = shape[1]
                let stats = try [("g", 0.5...1.5), ("b", -0.1...0.1), ("m", -0.1...0.1), ("v", 0.5...1.5)].enumerated().map { k, p in
                    try Tensor(randomUniform: [c], in: Float(p.1.lowerBound)...Float(p.1.upperBound), seed: UInt64(k + 1))
                }
                let inputs: [ValueID] = runtime ? ["g", "b", "m", "v"].map { b.input($0, shape: [.fixed(c)]) }
                                                : zip(["g", "b", "m", "v"], stats).map { b.constant($0, $1) }
                b.output(b.node(.batchNormalization(epsilon: 1e-5, activation: .identity), [x] + inputs, name: "bn")[0])
                let graph = try b.build()
                var shapes = ["x": shape]
                if runtime { for name in ["g", "b", "m", "v"] { shapes[name] = [c] } }
                var values = try randomInputs(graph, shapes: shapes)
                if runtime { for (name, t) in zip(["g", "b", "m", "v"], stats) { values[name] = .float32(t) } }
                let error = try engineError(graph, values)
                #expect(error <= 1e-5, "\(shape) run-time \(runtime): \(error)")
            }
        }
    }

    /// FuzzGraph: a MatMul of an empty constant [506820952064, 0, 0] by itself was folded by the
    /// reference interpreter, which looped over its 5·10¹¹ (empty) batches: a hang.
    @Test("an empty constant with a huge batch is not folded, and its empty product runs nothing")
    func emptyHugeBatchNotFolded() throws {
        let b = GraphBuilder(name: "empty")
        let x = b.input("x", shape: [2, 3])
        let n1 = b.constant("n1", try Tensor(shape: [506_820_952_064, 0, 0], scalars: []))
        let n2 = b.node(.matMul, [n1, n1], name: "mm")[0]
        b.output(n2)
        b.output(b.relu(x, name: "r"))
        let outputs = try InferenceSession(b.build()).run(["x": .float32(Tensor(zeros: [2, 3]))])
        #expect(outputs.values.map(\.count).sorted() == [0, 6])
    }

    /// FuzzGraph: BatchNorm folded into a convolution with no output channels divided by zero.
    @Test("a convolution with zero output channels followed by BatchNorm gives an empty output")
    func zeroChannelConvolutionWithBatchNorm() throws {
        let b = GraphBuilder(name: "zero")
        let x = b.input("x", shape: [2, 4, 3, 3])
        let c = b.node(.conv(ConvolutionAttributes(kernelShape: [1, 1])), [x, b.constant("w", try Tensor(zeros: [0, 4, 1, 1]))], name: "conv")[0]
        let empty = try Tensor(zeros: [0])
        let n = b.node(.batchNormalization(epsilon: 1e-5, activation: .relu),
                       [c] + ["g", "b", "m", "v"].map { b.constant($0, empty) }, name: "bn")[0]
        b.output(n)
        let y = try InferenceSession(b.build()).run(["x": .float32(Tensor(zeros: [2, 4, 3, 3]))]).values.first!
        #expect(y.shape == [2, 0, 3, 3])
    }

    @Test("Slice with a step near ±2⁶³ counts its elements without overflow (was a trap, found by FuzzONNX in CI)")
    func sliceHugeStep() throws {
        let ranges = { (start: Int, end: Int, step: Int) throws -> ShapeInference.SliceRange in
            try ShapeInference.sliceRanges(SliceAttributes(starts: [start], ends: [end], axes: [0]),
                                           data: [nil, nil, nil, nil, .int64(Int64Tensor([Int64(step)]))],
                                           present: { $0 == 4 }, shape: [10])[0]
        }
        #expect(try ranges(9, -20, -(1 << 62)) == ShapeInference.SliceRange(start: 9, step: -(1 << 62), count: 1))
        #expect(try ranges(0, 10, Int.max) == ShapeInference.SliceRange(start: 0, step: Int.max, count: 1))
        #expect(try ranges(-1, Int.min, -Int.max) == ShapeInference.SliceRange(start: 9, step: -Int.max, count: 1))
        // Ordinary steps keep ONNX's counts: 10 elements by 3 → 4, backwards by 4 from 9 → 9, 5, 1.
        #expect(try ranges(0, 10, 3).count == 4)
        #expect(try ranges(9, -11, -4).count == 3)
        #expect(try ranges(5, 5, 1).count == 0)
    }
}
