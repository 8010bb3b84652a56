import Testing
@testable import Pointwise

/// Winograd F(2,3), F(4,3) and F(6,3) against the Double direct convolution, on every ISA, around
/// tile boundaries (sizes 1…17, batch 2, asymmetric padding), with bias, residual (separate and in
/// place), each activation, and written into a channel slice of a concat.
@Suite("Winograd convolution")
struct WinogradTests {
    /// Normalised-error tolerance per tile size. Basis: the transforms add rounding in proportion to
    /// the size of their coefficients; measured maxima on these tests' data (inputs in [−1, 1], weights
    /// ±1/√(9·Cin), Cin up to 64) are ~3e-7 (F2), ~1e-6 (F4, ±√2 points) and ~4e-6 (F6), so these
    /// bounds leave 10–50× margin and still catch any indexing error (O(1)).
    static let tolerance: [Int: Double] = [2: 1e-5, 4: 3e-5, 6: 1e-4]

    static func check(tile: Int, input shape: [Int], outChannels: Int, padding: Padding2D, activation: Activation = .identity,
                      bias: Bool = true, residual: Bool = false, isa: KernelISA = .current,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let cin = shape[3]
        let x = try Tensor(randomUniform: shape, seed: UInt64(shape.reduce(0, +) + tile))
        let scale = 1 / Float(9 * cin).squareRoot()
        let weight = try Tensor(randomUniform: [outChannels, cin, 3, 3], in: -scale...scale, seed: 7)
        let b = bias ? try Tensor(randomUniform: [outChannels], seed: 8) : nil
        let geometry = try ConvolutionGeometry(inChannels: cin, outChannels: outChannels, kernel: 3, stride: 1, padding: padding,
                                               dilation: 1, groups: 1)
        let outputShape = try geometry.outputShape(forInput: shape)
        var expected = try Reference.conv2D(x, weight: weight, bias: b, padding: padding)
        let previous = try Tensor(randomUniform: outputShape, seed: 9)
        if residual { expected = try expected.adding(previous) }
        for i in 0..<expected.count { expected.scalars[i] = activation.apply(expected.scalars[i]) }

        let nchwIn = [shape[0], shape[3], shape[1], shape[2]]
        let nchwOut = [outputShape[0], outputShape[3], outputShape[1], outputShape[2]]
        let input = Operand(slot: 0, shape: nchwIn, strides: Operand.strides(nchwIn, .nhwc), layout: .nhwc)
        let output = Operand(slot: 1, shape: nchwOut, strides: Operand.strides(nchwOut, .nhwc), layout: .nhwc)
        let kernel = WinogradKernel(tile: tile, weight: weight, bias: b, padding: padding, activation: activation,
                                    input: input, output: output, residual: residual ? output : nil)
        var y = residual ? previous : try Tensor(zeros: outputShape)
        try x.scalars.withUnsafeBufferPointer { xp in
            try y.scalars.withUnsafeMutableBufferPointer { yp in
                try runKernel(kernel, [UnsafeMutableRawPointer(mutating: xp.baseAddress!), UnsafeMutableRawPointer(yp.baseAddress!)], isa: isa)
            }
        }
        let error = try Reference.normalizedError(y, expected)
        #expect(error <= tolerance[tile]!, "F(\(tile),3) \(isa) input \(shape) → \(outChannels), padding \(padding): error \(error)",
                sourceLocation: sourceLocation)
    }

    @Test("each tile size on every ISA, sizes around the tile boundaries, batch 2", arguments: [2, 4, 6])
    func sizes(tile: Int) throws {
        for isa in KernelISATests.supported {
            for (h, w) in [(1, 1), (2, 3), (5, 7), (6, 6), (8, 9), (13, 17)] {
                for (cin, cout) in [(3, 5), (16, 17), (33, 8)] {
                    try Self.check(tile: tile, input: [2, h, w, cin], outChannels: cout, padding: 1, isa: isa)
                }
            }
            try Self.check(tile: tile, input: [1, 9, 11, 8], outChannels: 8, padding: 0, isa: isa)
            try Self.check(tile: tile, input: [1, 9, 11, 8], outChannels: 8, padding: Padding2D(top: 2, bottom: 0, left: 0, right: 1), isa: isa)
        }
    }

    @Test("bias, activations, residual separate and in place", arguments: [2, 4, 6])
    func epilogue(tile: Int) throws {
        for activation in testActivations {
            try Self.check(tile: tile, input: [2, 10, 7, 12], outChannels: 9, padding: 1, activation: activation, bias: true, residual: false)
            try Self.check(tile: tile, input: [2, 10, 7, 12], outChannels: 9, padding: 1, activation: activation, bias: false, residual: true)
        }
    }

    @Test("NaN and infinity on every ISA: a NaN reaches every output whose window holds it, tiles without one stay exact", arguments: [2, 4, 6])
    func nonFinite(tile m: Int) throws {
        let (n, h, w, cin, cout) = (2, 11, 9, 8, 5)
        var x = try Tensor(randomUniform: [n, h, w, cin], in: -1...1, seed: 31)
        // One NaN, one +inf, one −inf, at different pixels and channels.
        let poisoned: [(Int, Int, Int, Int, Float)] = [(0, 3, 4, 2, .nan), (1, 7, 1, 0, .infinity), (1, 0, 8, 5, -.infinity)]
        for (b, r, c, ch, value) in poisoned { x.scalars[((b * h + r) * w + c) * cin + ch] = value }
        let weight = try Tensor(randomUniform: [cout, cin, 3, 3], in: -0.3...0.3, seed: 32)
        let padding: Padding2D = 1
        let expected = try Reference.conv2D(x, weight: weight, bias: nil, padding: padding)
        let nchwIn = [n, cin, h, w], nchwOut = [n, cout, h, w]
        let input = Operand(slot: 0, shape: nchwIn, strides: Operand.strides(nchwIn, .nhwc), layout: .nhwc)
        let output = Operand(slot: 1, shape: nchwOut, strides: Operand.strides(nchwOut, .nhwc), layout: .nhwc)
        let kernel = WinogradKernel(tile: m, weight: weight, bias: nil, padding: padding, activation: .relu,
                                    input: input, output: output, residual: nil)
        let scale = expected.scalars.filter(\.isFinite).map { Double(abs($0)) }.max() ?? 1
        for isa in KernelISATests.supported {
            var y = try Tensor(zeros: expected.shape)
            try x.scalars.withUnsafeBufferPointer { xp in
                try y.scalars.withUnsafeMutableBufferPointer { yp in
                    try runKernel(kernel, [UnsafeMutableRawPointer(mutating: xp.baseAddress!), UnsafeMutableRawPointer(yp.baseAddress!)], isa: isa)
                }
            }
            for b in 0..<n {
                for r in 0..<h {
                    for c in 0..<w {
                        // Pixels in this output's 3x3 window, and in its tile's α×α input patch.
                        let window = poisoned.filter { $0.0 == b && abs($0.1 - r) <= 1 && abs($0.2 - c) <= 1 }
                        let (top, left) = ((r / m) * m - 1, (c / m) * m - 1)
                        let patch = poisoned.filter { $0.0 == b && ($0.1 - top) >= 0 && ($0.1 - top) < m + 2 && ($0.2 - left) >= 0 && ($0.2 - left) < m + 2 }
                        for o in 0..<cout {
                            let index = ((b * h + r) * w + c) * cout + o
                            let (got, reference) = (y.scalars[index], max(expected.scalars[index], 0))
                            let what = "F(\(m),3) \(isa) output [\(b), \(r), \(c), \(o)] = \(got)"
                            if window.contains(where: { $0.4.isNaN }) {
                                #expect(got.isNaN, "\(what), expected NaN (its window holds a NaN)")
                            } else if !window.isEmpty {
                                // An infinity in the window: the direct result is ±inf (relu: +inf or 0); Winograd
                                // may give NaN (inf − inf in the transforms), never a finite value.
                                #expect(!got.isFinite || (reference == 0 && !expected.scalars[index].isNaN), "\(what), expected a non-finite value")
                            } else if patch.isEmpty {
                                #expect(got.isFinite && abs(Double(got) - Double(reference)) <= Self.tolerance[m]! * scale, "\(what), expected \(reference)")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("in a graph: chosen for 3x3 stride 1, written into a concat slice, accumulated onto a residual, on two threads")
    func inGraph() throws {
        let b = GraphBuilder(name: "winograd")
        let x = b.input("x", shape: [.symbolic("N"), 16, 20, 20])
        let c = try b.conv(x, weight: weights([24, 16, 3, 3], seed: 1, scale: 0.1), bias: weights([24], seed: 2), padding: 1, name: "c")
        let d = try b.conv(b.relu(c, name: "r"), weight: weights([24, 24, 3, 3], seed: 3, scale: 0.1), padding: 1, name: "d")
        let e = try b.conv(x, weight: weights([8, 16, 1, 1], seed: 4), name: "e")
        b.output(b.concat([b.relu(b.add(d, c, name: "add"), name: "r2"), e], name: "cat"))
        let graph = try b.build()
        ensureTwoThreads()
        for tile in [2, 4, 6] {
            let options = CompileOptions(convolutionAlgorithm: .winograd(tile: tile))
            let plan = try InferenceSession(graph, options: options).plan(inputShapes: [[2, 16, 20, 20]])
            #expect(plan.steps.filter { $0.kernel is WinogradKernel }.count == 2)
            let inputs = try randomInputs(graph, shapes: ["x": [2, 16, 20, 20]])
            for threads in [1, 2] {
                let error = try BLASRuntime.shared.withThreadLimit(threads) { try engineError(graph, inputs, options: options) }
                #expect(error <= Self.tolerance[tile]! * 3, "F(\(tile),3) on \(threads) threads: \(error)")
            }
            #expect(plan.arenaConflicts().isEmpty)
        }
        // The same plan twice gives the same bits (a fixed plan is deterministic).
        let session = try InferenceSession(graph, options: CompileOptions(convolutionAlgorithm: .winograd(tile: 4)))
        let inputs = try randomInputs(graph, shapes: ["x": [1, 16, 20, 20]])
        #expect(try session.run(inputs) == session.run(inputs))
    }

    @Test("few tiles on two threads: the output channels are split (each part its share of the weights); same bits as one thread")
    func channelSplit() throws {
        // A 7×7 map: 16 tiles of F(2,3), 128 output channels, enough MACs for two parts; with a
        // residual and a 1x1 on the same map (M = 49: the packed 1x1 splits its columns too).
        let b = GraphBuilder(name: "few tiles")
        let x = b.input("x", shape: [.symbolic("N"), 64, 7, 7])
        let c = try b.conv(x, weight: weights([128, 64, 3, 3], seed: 1, scale: 0.05), bias: weights([128], seed: 2), padding: 1, name: "c")
        let p = try b.conv(x, weight: weights([128, 64, 1, 1], seed: 3, scale: 0.1), bias: weights([128], seed: 4), name: "p")
        b.output(b.relu(b.add(c, p, name: "add"), name: "r"))
        let graph = try b.build()
        ensureTwoThreads()
        let plan = try InferenceSession(graph).plan(inputShapes: [[1, 64, 7, 7]])
        let winograd = try #require(plan.steps.compactMap { $0.kernel as? WinogradKernel }.first)
        #expect(winograd.m == 2 && winograd.tiles == 16 && winograd.workspaceParts == min(2, ThreadPool.size))
        let inputs = try randomInputs(graph, shapes: ["x": [1, 64, 7, 7]])
        var results: [[String: TensorValue]] = []
        for threads in [1, 2] {
            let error = try BLASRuntime.shared.withThreadLimit(threads) { try engineError(graph, inputs, options: CompileOptions(threads: 2)) }
            #expect(error <= Self.tolerance[2]! * 3, "\(threads) threads: \(error)")
            results.append(try BLASRuntime.shared.withThreadLimit(threads) { try InferenceSession(graph, options: CompileOptions(threads: 2)).run(inputs) })
        }
        // Splitting channels or tiles changes no sum's order: the bits match.
        #expect(results[0] == results[1])
    }
}
