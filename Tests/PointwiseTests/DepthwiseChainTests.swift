import Testing
@testable import Pointwise

/// The fused depthwise chain: the pass (`DepthwiseChainFusion`: what it fuses, what it must not),
/// the kernel on every ISA against the Double reference stage by stage (bands of 1 row up to whole
/// images, so the expansion's halo rows are moved across bands, stride 2, dilation, padding on
/// every side, odd sizes, batch > 1, residual in place and dense, an output that is a slice), with
/// the threads splitting bands or channels, one and two threads, NaN and infinity, and whole graphs
/// through the engine.
@Suite("Depthwise chain fusion")
struct DepthwiseChainTests {
    static var supported: [KernelISA] { KernelISA.allCases.filter { $0.rawValue <= KernelISA.best.rawValue } }

    struct Case: CustomStringConvertible {
        var input: [Int]  // NHWC
        var expanded: Int
        var outChannels: Int
        var expand = true
        var kernel: Size2D = 3
        var stride: Size2D = 1
        var padding: Padding2D = 1
        var dilation: Size2D = 1
        var description: String {
            "\(input) expand \(expand ? "\(expanded)" : "none") → \(outChannels), \(kernel) stride \(stride) pads \(padding) dilation \(dilation)"
        }
        var channels: Int { expand ? expanded : input[3] }
    }

    static let cases: [Case] = [
        Case(input: [1, 9, 13, 5], expanded: 30, outChannels: 5),                                   // inverted residual, odd sizes
        Case(input: [2, 11, 8, 4], expanded: 24, outChannels: 17, stride: 2),                       // stride 2, batch 2
        Case(input: [3, 7, 6, 16], expanded: 16, outChannels: 33, expand: false),                   // MobileNetV1's pair, batch 3
        Case(input: [1, 10, 9, 3], expanded: 20, outChannels: 8, kernel: 5, stride: Size2D(2, 1),
             padding: Padding2D(top: 0, bottom: 2, left: 1, right: 3)),                             // 5x5, asymmetric everything
        Case(input: [2, 12, 7, 6], expanded: 12, outChannels: 6, padding: 2, dilation: 2),          // dilated
        Case(input: [1, 6, 6, 8], expanded: 19, outChannels: 1, expand: true, stride: 2, padding: 0), // no padding, Cout 1
        Case(input: [1, 2, 3, 4], expanded: 8, outChannels: 3, stride: Size2D(2, 1),
             padding: Padding2D(top: 4, bottom: 6, left: 1, right: 2)),                             // pads past the map: empty bands
        Case(input: [1, 7, 7, 20], expanded: 40, outChannels: 36),                                 // 7×7: channel slices 16 + 24, 16 + 20
        Case(input: [2, 5, 9, 35], expanded: 35, outChannels: 18, expand: false),                   // no expansion, slices of 35 and 18
    ]

    /// The chain through the reference, stage by stage, on an NHWC input.
    static func reference(_ c: Case, x: Tensor, weights w: [Tensor], activations: [Activation], residual: Tensor?) throws -> Tensor {
        let composer = ReferenceComposer(parameters: RandomParameters(seed: 0))
        var h = x
        if c.expand { h = composer.apply(activations[0], try Reference.conv2D(h, weight: w[0], bias: w[1])) }
        h = composer.apply(activations[1], try Reference.conv2D(h, weight: w[2], bias: w[3], stride: c.stride, padding: c.padding,
                                                                dilation: c.dilation, groups: c.channels))
        var y = try Reference.conv2D(h, weight: w[4], bias: w[5])
        if let residual { y = try y.adding(residual) }
        return composer.apply(activations[2], y)
    }

    static func stageWeights(_ c: Case, seed: UInt64) throws -> [Tensor] {
        let (cin, e, m) = (c.input[3], c.channels, c.outChannels)
        return [try Tensor(randomUniform: [e, cin, 1, 1], seed: seed), try Tensor(randomUniform: [e], seed: seed + 1),
                try Tensor(randomUniform: [e, 1, c.kernel.height, c.kernel.width], seed: seed + 2), try Tensor(randomUniform: [e], seed: seed + 3),
                try Tensor(randomUniform: [m, e, 1, 1], seed: seed + 4), try Tensor(randomUniform: [m], seed: seed + 5)]
    }

    enum Residual { case none, dense, inPlace }

    /// The kernel for a case, its output shape (NHWC) and the operands: x slot 0, y slot 1 (pixels ldy apart), dense residual slot 2.
    static func kernel(_ c: Case, weights w: [Tensor], activations: [Activation], residual: Residual, ldy: Int,
                       bandBudget: Int, threads: Int = 2, split: DepthwiseChainKernel.Split? = nil) throws -> (DepthwiseChainKernel, [Int]) {
        let e = c.channels
        let geometry = try ConvolutionGeometry(inChannels: e, outChannels: e, kernel: c.kernel, stride: c.stride, padding: c.padding,
                                               dilation: c.dilation, groups: e)
        let (n, h, wd, cin) = (c.input[0], c.input[1], c.input[2], c.input[3])
        let out = try geometry.outputShape(forInput: [n, h, wd, e])
        let (oh, ow, m) = (out[1], out[2], c.outChannels)
        let input = Operand(slot: 0, shape: [n, cin, h, wd], strides: Operand.strides([n, cin, h, wd], .nhwc), layout: .nhwc)
        let output = Operand(slot: 1, shape: [n, m, oh, ow], strides: [oh * ow * ldy, 1, ow * ldy, ldy], layout: .nhwc)
        let dense = Operand(slot: 2, shape: [n, m, oh, ow], strides: Operand.strides([n, m, oh, ow], .nhwc), layout: .nhwc)
        var project = ConvolutionAttributes(activation: activations[2])
        project.hasResidual = residual != .none
        let attributes = DepthwiseChainAttributes(expand: c.expand ? ConvolutionAttributes(activation: activations[0]) : nil,
                                                  depthwise: ConvolutionAttributes(activation: activations[1]), project: project)
        let kernel = DepthwiseChainKernel(attributes: attributes, depthwise: geometry, expandWeight: c.expand ? w[0] : nil,
                                          expandBias: c.expand ? w[1] : nil, depthwiseWeight: w[2], depthwiseBias: w[3],
                                          projectWeight: w[4], projectBias: w[5], input: input, output: output,
                                          residual: residual == .none ? nil : residual == .dense ? dense : output,
                                          threads: threads, bandBudget: bandBudget, split: split)
        return (kernel, [n, oh, ow, m])
    }

    /// Runs the kernel; returns the output's Cout channels per pixel, and whether the others kept their sentinel.
    static func run(_ kernel: DepthwiseChainKernel, x: Tensor, shape: [Int], ldy: Int, previous: Tensor?, residual: Residual,
                    isa: KernelISA) throws -> (Tensor, untouched: Bool) {
        let (pixels, m) = (shape[0] * shape[1] * shape[2], shape[3])
        let sentinel: Float = 12345
        var y = [Float](repeating: sentinel, count: pixels * ldy)
        if residual == .inPlace, let previous {
            for p in 0..<pixels { for j in 0..<m { y[p * ldy + j] = previous.scalars[p * m + j] } }
        }
        var r = residual == .dense ? previous!.scalars : [Float(0)]
        try x.scalars.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                try r.withUnsafeMutableBufferPointer { rp in
                    try runKernel(kernel, [UnsafeMutableRawPointer(mutating: xp.baseAddress!), UnsafeMutableRawPointer(yp.baseAddress!),
                                           UnsafeMutableRawPointer(rp.baseAddress!)], isa: isa)
                }
            }
        }
        var got = [Float](repeating: 0, count: pixels * m)
        var untouched = true
        for p in 0..<pixels {
            for j in 0..<ldy {
                if j < m { got[p * m + j] = y[p * ldy + j] } else if y[p * ldy + j] != sentinel { untouched = false }
            }
        }
        return (try Tensor(shape: shape, scalars: got), untouched)
    }

    @Test("against the Double reference: bands of 1 row to whole images, residuals, slices, threads splitting bands or channels",
          arguments: supported)
    func matchesReference(isa: KernelISA) throws {
        ensureTwoThreads()  // so that two parts really run on two threads
        try KernelISA.with(isa) {
            for (index, c) in Self.cases.enumerated() { for split in [DepthwiseChainKernel.Split.bands, .channels] {
                let x = try Tensor(randomUniform: c.input, seed: UInt64(index))
                let w = try Self.stageWeights(c, seed: UInt64(10 * index + 1))
                // 1 byte: one-row bands (every halo row moved); 8 KiB: a few rows; the default: whole images.
                for (budget, activations, residual, extra) in [(1, [Activation.relu6, .relu6, .identity], Residual.none, 2),
                                                               (8 << 10, [.relu, .hardSwish, .relu], .inPlace, 3),
                                                               (DepthwiseChainKernel.bandBudget, [.identity, .relu6, .identity], .dense, 0)] {
                    let ldy = c.outChannels + extra
                    let (kernel, shape) = try Self.kernel(c, weights: w, activations: activations, residual: residual, ldy: ldy,
                                                          bandBudget: budget, split: split)
                    if budget == 1 { #expect(kernel.bandRows == 1) }
                    let previous = try Tensor(randomUniform: shape, seed: 99)
                    let (y, untouched) = try Self.run(kernel, x: x, shape: shape, ldy: ldy, previous: previous, residual: residual, isa: isa)
                    let expected = try Self.reference(c, x: x, weights: w, activations: activations, residual: residual == .none ? nil : previous)
                    #expect(try Reference.normalizedError(y, expected) <= float32Tolerance, "\(isa) \(c) budget \(budget) \(residual) \(split)")
                    #expect(untouched, "\(isa) \(c) \(split): channels beyond Cout written")
                }
            } }
        }
    }

    @Test("threads split channels for small maps with an expansion and fewer images than threads, else bands")
    func splitChoice() throws {
        func split(_ input: [Int], expand: Bool, threads: Int) throws -> DepthwiseChainKernel.Split {
            let c = Case(input: input, expanded: 96, outChannels: 32, expand: expand)
            return try Self.kernel(c, weights: Self.stageWeights(c, seed: 1), activations: [.relu6, .relu6, .identity], residual: .none,
                                   ldy: 32, bandBudget: DepthwiseChainKernel.bandBudget, threads: threads).0.split
        }
        #expect(try split([1, 7, 7, 16], expand: true, threads: 2) == .channels)
        #expect(try split([1, 14, 14, 16], expand: true, threads: 2) == .channels)   // 7 rows per thread
        #expect(try split([1, 28, 28, 16], expand: true, threads: 2) == .bands)      // 14 rows per thread: 2 shared rows are little
        #expect(try split([2, 7, 7, 16], expand: true, threads: 2) == .bands)        // an image per thread
        #expect(try split([1, 7, 7, 96], expand: false, threads: 2) == .bands)       // bands share no expansion
        #expect(try split([1, 7, 7, 16], expand: true, threads: 1) == .bands)
    }

    @Test("split by bands, the band count is a multiple of the threads (3 bands on 2 threads would leave one idle a third of the time)")
    func bandCounts() throws {
        for (input, budget) in [([1, 56, 56, 64], DepthwiseChainKernel.bandBudget), ([1, 28, 28, 256], DepthwiseChainKernel.bandBudget),
                                ([3, 7, 7, 32], DepthwiseChainKernel.bandBudget), ([1, 9, 13, 5], 3 << 10), ([1, 112, 112, 32], 100 << 10)] {
            let c = Case(input: input, expanded: input[3], outChannels: 8, expand: false)
            let (kernel, _) = try Self.kernel(c, weights: Self.stageWeights(c, seed: 1), activations: [.relu, .relu, .identity],
                                              residual: .none, ldy: 8, bandBudget: budget, threads: 2)
            let (n, h) = (input[0], input[1])
            #expect(kernel.split == .bands)
            #expect((n * kernel.bandsPerImage) % 2 == 0, "\(input): \(kernel.bandsPerImage) bands of \(kernel.bandRows) rows")
            #expect(kernel.bandRows * kernel.bandsPerImage >= h && kernel.bandRows * (kernel.bandsPerImage - 1) < h, "\(input)")
            // (The budget is checked before the scratch is rounded up to whole 64-byte lines.)
            #expect(kernel.scratchFloats * MemoryLayout<Float>.stride <= budget + 64, "\(input)")
        }
    }

    @Test("one and two threads give the same bits (a second part expands its own halo rows, or its own channels, to the same values)",
          arguments: [DepthwiseChainKernel.Split.bands, .channels])
    func threads(split: DepthwiseChainKernel.Split) throws {
        ensureTwoThreads()
        for c in [Self.cases[0], Self.cases[1], Self.cases[7], Self.cases[8]] {  // [0] splits nothing by channels (M = 5): one part
            let x = try Tensor(randomUniform: c.input, seed: 5)
            let w = try Self.stageWeights(c, seed: 6)
            let activations: [Activation] = [.relu6, .relu6, .identity]
            let (kernel, shape) = try Self.kernel(c, weights: w, activations: activations, residual: .none, ldy: c.outChannels,
                                                  bandBudget: 4 << 10, split: split)
            let one = try ThreadPool.$limit.withValue(1) { try Self.run(kernel, x: x, shape: shape, ldy: c.outChannels, previous: nil, residual: .none, isa: .current).0 }
            let two = try ThreadPool.$limit.withValue(2) { try Self.run(kernel, x: x, shape: shape, ldy: c.outChannels, previous: nil, residual: .none, isa: .current).0 }
            #expect(one == two, "\(c) \(split)")
            #expect(try Reference.normalizedError(two, Self.reference(c, x: x, weights: w, activations: activations, residual: nil)) <= float32Tolerance)
        }
    }

    @Test("NaN and infinity reach exactly the outputs whose windows hold them", arguments: supported)
    func nonFinite(isa: KernelISA) throws {
        try KernelISA.with(isa) {
            for (c, split) in [(Self.cases[0], DepthwiseChainKernel.Split.bands), (Self.cases[2], .bands), (Self.cases[7], .channels)] {
                let x = try NonFiniteTests.poisoned(c.input, seed: 7)
                let w = try Self.stageWeights(c, seed: 8)
                let activations: [Activation] = [.identity, .identity, .identity]
                let (kernel, shape) = try Self.kernel(c, weights: w, activations: activations, residual: .none, ldy: c.outChannels,
                                                      bandBudget: 2 << 10, split: split)
                let (y, _) = try Self.run(kernel, x: x, shape: shape, ldy: c.outChannels, previous: nil, residual: .none, isa: isa)
                let expected = try Self.reference(c, x: x, weights: w, activations: activations, residual: nil)
                let mismatch = NonFiniteTests.agree(y, expected)
                #expect(mismatch == nil, "\(isa) \(c): \(mismatch ?? "")")
                #expect(y.scalars.contains { $0.isNaN })
            }
        }
    }

    // MARK: The pass

    /// x → [1x1 C→E, relu6] → depthwise 3x3 (stride) + relu6 → 1x1 E→M (+ x), as PyTorch's MobileNetV2 block.
    static func block(channels c: Int = 6, expanded e: Int = 18, out m: Int = 6, stride: Int = 1, expand: Bool = true,
                      residual: Bool = true, extraReader: Bool = false) throws -> Graph {
        let b = GraphBuilder(name: "block")
        let x = b.input("x", shape: [.symbolic("N"), .fixed(c), 9, 11])
        var h = x
        if expand {
            h = b.activation(try b.conv(x, weight: weights([e, c, 1, 1], seed: 1), bias: weights([e], seed: 2), name: "expand"), .relu6, name: "expand.relu6")
        }
        let channels = expand ? e : c
        let d = b.activation(try b.conv(h, weight: weights([channels, 1, 3, 3], seed: 3), bias: weights([channels], seed: 4), stride: Size2D(stride),
                                        padding: 1, groups: channels, name: "depthwise"), .relu6, name: "depthwise.relu6")
        var y = try b.conv(d, weight: weights([m, channels, 1, 1], seed: 5), bias: weights([m], seed: 6), name: "project")
        if residual { y = b.add(y, x, name: "add") }
        b.output(y)
        if extraReader { b.output(b.relu(d, name: "tap")) }
        return try b.build()
    }

    static let passes: [any GraphPass] = [ShapeInference(), ActivationFusion(), ResidualAddFusion(), ActivationFusion(), DepthwiseChainFusion()]

    @Test("an inverted residual becomes one node holding the three convolutions, their activations and the residual")
    func fusesInvertedResidual() throws {
        let graph = try Self.block()
        let fused = try applying(Self.passes, to: graph, shapes: [[2, 6, 9, 11]])
        #expect(fused.nodeList == ["expand: Conv(x, expand.weight, expand.bias, depthwise.weight, depthwise.bias, project.weight, project.bias, x) -> add"])
        guard case .depthwiseChain(let a) = fused.nodes[0].op else { Issue.record("not fused: \(fused.nodeList)"); return }
        #expect(a.expand?.activation == .relu6 && a.depthwise.activation == .relu6 && a.depthwise.group == 18 && a.project.hasResidual)
        #expect(fused.nodes[0].fusedNodes == ["expand.relu6", "depthwise", "depthwise.relu6", "project", "add"])
        let inputs = try randomInputs(graph, shapes: ["x": [2, 6, 9, 11]])
        let before = try ReferenceInterpreter.run(graph, inputs: inputs)["add"]!.floatTensor!
        #expect(try Reference.normalizedError(ReferenceInterpreter.run(fused, inputs: inputs)["add"]!.floatTensor!, before) <= 1e-6)
    }

    @Test("MobileNetV1's depthwise → pointwise pair fuses without an expansion")
    func fusesPair() throws {
        let fused = try applying(Self.passes, to: Self.block(expand: false, residual: false), shapes: [[1, 6, 9, 11]])
        #expect(fused.nodes.count == 1)
        guard case .depthwiseChain(let a) = fused.nodes[0].op else { Issue.record("not fused"); return }
        #expect(a.expand == nil && fused.nodes[0].input(1) == nil && fused.nodes[0].inputs.count == 7)
    }

    @Test("not fused: an intermediate map read twice, a grouped (not depthwise) middle, a 3x3 projection")
    func legality() throws {
        let shared = try applying(Self.passes, to: Self.block(extraReader: true), shapes: [[1, 6, 9, 11]])
        #expect(!shared.nodes.contains { if case .depthwiseChain = $0.op { return true }; return false }, "\(shared.nodeList)")

        let b = GraphBuilder(name: "grouped")
        let x = b.input("x", shape: [1, 8, 6, 6])
        let g = try b.conv(x, weight: weights([8, 4, 3, 3], seed: 1), padding: 1, groups: 2, name: "grouped")
        b.output(try b.conv(g, weight: weights([4, 8, 1, 1], seed: 2), name: "project"))
        let grouped = try applying(Self.passes, to: b.build(), shapes: [[1, 8, 6, 6]])
        #expect(grouped.nodes.count == 2)

        let c = GraphBuilder(name: "wide")
        let y = c.input("x", shape: [1, 8, 6, 6])
        let d = try c.conv(y, weight: weights([8, 1, 3, 3], seed: 1), padding: 1, groups: 8, name: "depthwise")
        c.output(try c.conv(d, weight: weights([4, 8, 3, 3], seed: 2), padding: 1, name: "project3x3"))
        #expect(try applying(Self.passes, to: c.build(), shapes: [[1, 8, 6, 6]]).nodes.count == 2)
    }

    @Test("the output never takes the memory of an input the chain still reads (the residual an alias of x)", arguments: [true, false])
    func residualAliasOfInput(expand: Bool) throws {
        // x is computed (so its buffer may be reused), r = Identity(x) shares its memory; y = chain(x) + r.
        let b = GraphBuilder(name: "alias")
        let input = b.input("input", shape: [.symbolic("N"), 6, 9, 11])
        let x = b.relu(try b.conv(input, weight: weights([6, 6, 1, 1], seed: 9), name: "stem"), name: "stem.relu")
        let r = b.node(.identity, [x], name: "identity")[0]
        var h = x
        if expand {
            h = b.activation(try b.conv(x, weight: weights([18, 6, 1, 1], seed: 1), name: "expand"), .relu6, name: "expand.relu6")
        }
        let channels = expand ? 18 : 6
        let d = try b.conv(h, weight: weights([channels, 1, 3, 3], seed: 3), padding: 1, groups: channels, name: "depthwise")
        let sum = b.add(try b.conv(d, weight: weights([6, channels, 1, 1], seed: 5), name: "project"), r, name: "add")
        b.output(try b.conv(sum, weight: weights([4, 6, 1, 1], seed: 7), name: "head"))  // so the sum is not a graph output
        let graph = try b.build()
        ensureTwoThreads()
        for threads in [1, 2] {
            // Batch 1: several bands per image, so a later band reads rows an earlier one has written.
            let inputs = try randomInputs(graph, shapes: ["input": [1, 6, 9, 11]])
            let error = try BLASRuntime.shared.withThreadLimit(threads) { try engineError(graph, inputs) }
            #expect(error <= float32Tolerance, "\(threads) threads, expand \(expand)")
        }
    }

    @Test("through the engine at batch 1 on two threads: the threads split the block's channels", arguments: [1, 2])
    func engineChannelSplit(stride: Int) throws {
        let graph = try Self.block(channels: 32, expanded: 64, out: 32, stride: stride, residual: stride == 1)
        ensureTwoThreads()
        // Planned for 2 threads whatever the pool's size (the split is chosen for the plan's threads).
        let options = CompileOptions(threads: 2)
        let inputs = try randomInputs(graph, shapes: ["x": [1, 32, 9, 11]])
        for threads in [1, 2] {
            let error = try BLASRuntime.shared.withThreadLimit(threads) { try engineError(graph, inputs, options: options) }
            #expect(error <= float32Tolerance, "\(threads) threads, stride \(stride)")
        }
        if KernelISA.best != .portable {
            let plan = try InferenceSession(graph, options: options).plan(inputShapes: [[1, 32, 9, 11]])
            #expect(plan.steps.contains { $0.kernel.lowering.contains("threads split channels") })
        }
    }

    @Test("through the engine: the chain's scratch bands stay within CompileOptions.workspaceLimit (fewer rows, down to one)")
    func workspaceLimit() throws {
        // Bands of r rows (stride 1, 9×11 map, E = 64) take per thread min(r + 2, 9) expanded input
        // rows and r filtered rows of 11·64 floats: 2816 bytes a row.
        let graph = try Self.block(channels: 32, expanded: 64, out: 32)
        let inputs = try randomInputs(graph, shapes: ["x": [2, 32, 9, 11]])
        func chain(_ limit: Int) throws -> any Kernel {
            let options = CompileOptions(threads: 2, workspaceLimit: limit)
            let plan = try InferenceSession(graph, options: options).plan(inputShapes: [[2, 32, 9, 11]])
            #expect(try engineError(graph, inputs, options: options) <= float32Tolerance, "limit \(limit)")
            return try #require(plan.steps.first { $0.kernel.lowering.hasPrefix("fused:") }?.kernel)
        }
        guard KernelISA.best != .portable else { return }
        #expect(try chain(16 << 20).workspaceBytes == 2 * (9 + 9) * 2816, "whole images (9 rows) per thread by default")
        let limited = try chain(64 << 10)
        // 32 KiB per thread holds 4 rows (10 · 2816 bytes); 9 rows in 3 bands of 3.
        #expect(limited.workspaceBytes == 2 * (5 + 3) * 2816 && limited.lowering.contains("bands of 3 rows"), "\(limited.lowering)")
        let smallest = try chain(1)
        #expect(smallest.lowering.contains("bands of 1 rows"), "\(smallest.lowering)")
    }

    @Test("through the engine: blocks of every kind against the reference interpreter, batch 1 and 3",
          arguments: [(1, true, true), (2, true, false), (1, false, false), (1, false, true), (2, false, false)])
    func engine(stride: Int, expand: Bool, residual: Bool) throws {
        let graph = try Self.block(stride: stride, expand: expand, residual: residual && stride == 1)
        for batch in [1, 3] {
            let inputs = try randomInputs(graph, shapes: ["x": [batch, 6, 9, 11]])
            #expect(try engineError(graph, inputs) <= float32Tolerance)
            #expect(try engineError(graph, inputs, options: CompileOptions(fusesDepthwiseChains: false)) <= float32Tolerance)
        }
        if KernelISA.best != .portable {
            let plan = try InferenceSession(graph).plan(inputShapes: [[1, 6, 9, 11]])
            #expect(plan.steps.contains { $0.kernel.lowering.hasPrefix("fused:") })
            let unfused = try InferenceSession(graph, options: CompileOptions(fusesDepthwiseChains: false)).plan(inputShapes: [[1, 6, 9, 11]])
            #expect(!unfused.steps.contains { $0.kernel.lowering.hasPrefix("fused:") })
        }
    }
}
