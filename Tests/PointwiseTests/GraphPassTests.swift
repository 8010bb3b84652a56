import Testing
@testable import Pointwise

/// Each pass on a small graph built for it: the node list before and after, and the graph after
/// the pass computing the same as before (reference interpreter on both, or the engine).
@Suite("Graph passes")
struct GraphPassTests {
    /// x → conv → BatchNorm → Relu → conv → BatchNorm → Add(x) → Relu: a ResNet basic block.
    func residualBlock() throws -> Graph {
        let b = GraphBuilder(name: "block")
        let x = b.input("x", shape: [.symbolic("N"), 6, 7, 5])
        let parameters = RandomParameters(seed: 3)
        let c1 = try b.conv(x, weight: weights([6, 6, 3, 3], seed: 1), padding: 1, name: "conv1")
        let n1 = try b.batchNorm(c1, parameters.batchNorm("bn1", channels: 6, eps: 1e-5), name: "bn1")
        let r1 = b.relu(n1, name: "relu1")
        let c2 = try b.conv(r1, weight: weights([6, 6, 3, 3], seed: 2), padding: 1, name: "conv2")
        let n2 = try b.batchNorm(c2, parameters.batchNorm("bn2", channels: 6, eps: 1e-5), name: "bn2")
        let sum = b.add(n2, x, name: "add")
        b.output(b.relu(sum, name: "relu2"))
        return try b.build()
    }

    @Test("BatchNorm folding: each BatchNorm after a convolution disappears into its weights and bias")
    func batchNormFolding() throws {
        let graph = try residualBlock()
        let folded = try applying([BatchNormFolding()], to: graph)
        #expect(graph.nodeList == [
            "conv1: Conv(x, conv1.weight, ∅) -> conv1", "bn1: BatchNormalization(conv1, bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var) -> bn1",
            "relu1: Relu(bn1) -> relu1", "conv2: Conv(relu1, conv2.weight, ∅) -> conv2",
            "bn2: BatchNormalization(conv2, bn2.weight, bn2.bias, bn2.running_mean, bn2.running_var) -> bn2",
            "add: Add(bn2, x) -> add", "relu2: Relu(add) -> relu2"])
        #expect(folded.nodeList == [
            "conv1: Conv(x, conv1.weight.folded, conv1.bias.folded) -> bn1", "relu1: Relu(bn1) -> relu1",
            "conv2: Conv(relu1, conv2.weight.folded, conv2.bias.folded) -> bn2", "add: Add(bn2, x) -> add", "relu2: Relu(add) -> relu2"])
        #expect(folded.nodes[0].fusedNodes == ["bn1"] && folded.nodes[0].parameterCount == 6 * 6 * 9 + 12)
        #expect(folded.initializers.count == 4, "the BatchNorm statistics and unfolded weights are gone")
        let inputs = try randomInputs(graph, shapes: ["x": [2, 6, 7, 5]])
        let before = try ReferenceInterpreter.run(graph, inputs: inputs)["relu2"]!.floatTensor!
        let after = try ReferenceInterpreter.run(folded, inputs: inputs)["relu2"]!.floatTensor!
        // Folding rounds W·s once in Float: relative error ~ 2⁻²⁴ per weight.
        #expect(try Reference.normalizedError(after, before) <= 1e-6)
    }

    @Test("activation fusion: Relu moves into the convolution before it and into the Add")
    func activationFusion() throws {
        let graph = try applying([BatchNormFolding()], to: residualBlock())
        let fused = try applying([ActivationFusion()], to: graph)
        #expect(fused.nodeList == ["conv1: Conv(x, conv1.weight.folded, conv1.bias.folded) -> relu1",
                                   "conv2: Conv(relu1, conv2.weight.folded, conv2.bias.folded) -> bn2",
                                   "add: Add(bn2, x) -> relu2"])
        #expect(fused.nodes[0].op.fusedActivation == .relu && fused.nodes[2].op == .binary(.add, activation: .relu))
        let inputs = try randomInputs(graph, shapes: ["x": [2, 6, 7, 5]])
        #expect(try ReferenceInterpreter.run(fused, inputs: inputs) == ReferenceInterpreter.run(graph, inputs: inputs))
    }

    @Test("activation fusion leaves an activation whose input is read elsewhere, or is a graph output")
    func activationFusionLegality() throws {
        let b = GraphBuilder(name: "branches")
        let x = b.input("x", shape: [1, 2, 3, 3])
        let c = try b.conv(x, weight: weights([2, 2, 1, 1], seed: 1), name: "conv")
        b.output(b.relu(c, name: "relu"))
        b.output(c)
        let graph = try b.build()
        #expect(try applying([ActivationFusion()], to: graph).nodeList == graph.nodeList)
    }

    @Test("residual-add fusion: the Add becomes the convolution's accumulation (beta = 1), its activation with it")
    func residualAddFusion() throws {
        let graph = try applying([BatchNormFolding(), ActivationFusion()], to: residualBlock())
        let fused = try applying([ShapeInference(), ResidualAddFusion()], to: graph, shapes: [[2, 6, 7, 5]])
        #expect(fused.nodeList == ["conv1: Conv(x, conv1.weight.folded, conv1.bias.folded) -> relu1",
                                   "conv2: Conv(relu1, conv2.weight.folded, conv2.bias.folded, x) -> relu2"])
        guard case .conv(let a) = fused.nodes[1].op else { Issue.record("not a conv"); return }
        #expect(a.hasResidual && a.activation == .relu)
        let inputs = try randomInputs(graph, shapes: ["x": [2, 6, 7, 5]])
        let before = try ReferenceInterpreter.run(graph, inputs: inputs)["relu2"]!.floatTensor!
        #expect(try Reference.normalizedError(ReferenceInterpreter.run(fused, inputs: inputs)["relu2"]!.floatTensor!, before) <= 1e-6)
        // And the engine runs it as one accumulating GEMM per convolution.
        let (y, calls) = try recordGEMMs { try InferenceSession(fused).run(inputs) }
        #expect(calls.map(\.beta) == [0, 1])
        #expect(try Reference.normalizedError(y["relu2"]!.floatTensor!, before) <= float32Tolerance)
    }

    @Test("residual-add fusion needs equal shapes, no activation before the add, and a single reader")
    func residualAddLegality() throws {
        let b = GraphBuilder(name: "broadcast")
        let x = b.input("x", shape: [1, 4, 3, 3])
        let c = try b.conv(x, weight: weights([4, 4, 1, 1], seed: 1), name: "conv")
        let bias = b.constant("bias", try weights([1, 4, 1, 1], seed: 2))
        let broadcast = b.add(c, bias, name: "add_broadcast")  // broadcasting: not a residual
        let d = try b.conv(broadcast, weight: weights([4, 4, 1, 1], seed: 3), name: "conv2")
        let activated = b.relu(d, name: "relu")
        b.output(b.add(activated, x, name: "add_after_relu"))  // activation before the add: not movable
        let graph = try applying([ActivationFusion()], to: try b.build())
        let passed = try applying([ShapeInference(), ResidualAddFusion()], to: graph, shapes: [[1, 4, 3, 3]])
        #expect(passed.nodeList == graph.nodeList)
    }

    @Test("shape inference: shapes and types of every value, errors naming the node")
    func shapeInference() throws {
        let b = GraphBuilder(name: "shapes")
        let x = b.input("x", shape: [.symbolic("N"), 3, 11, 13])
        let c = try b.conv(x, weight: weights([8, 3, 3, 3], seed: 1), stride: 2, padding: Padding2D(top: 1, bottom: 0, left: 1, right: 1), name: "conv")
        let p = b.pool(.max, c, kernel: 3, stride: 2, ceilMode: true, name: "pool")
        let f = b.flatten(p, name: "flatten")
        b.output(b.linear(f, weight: try weights([10, 48], seed: 2), bias: nil, name: "fc"))
        let graph = try applying([ShapeInference()], to: try b.build(), shapes: [[2, 3, 11, 13]])
        func shape(_ name: String) -> [Int]? { graph.value(named: name).flatMap { graph[$0].shape } }
        // conv: (11 + 1 − 3)/2 + 1 = 5, (13 + 2 − 3)/2 + 1 = 7; pool ceil: ⌈(5 − 3)/2⌉ + 1 = 2... PyTorch: 2 and 3.
        #expect(shape("conv") == [2, 8, 5, 7])
        #expect(shape("pool") == [2, 8, 2, 3])
        #expect(shape("flatten") == [2, 48])
        #expect(shape("fc") == [2, 10])
        var wrong = try b.build()
        expectError("node 'fc' (Gemm)", "Gemm inner dimensions", "expected 48, got 96") {
            try wrong.bindInputShapes([[2, 3, 11, 13]])
            wrong.initializers[wrong.value(named: "fc.weight")!] = .float32(try weights([10, 96], seed: 2))
            wrong[wrong.value(named: "fc.weight")!].shape = [10, 96]
            try ShapeInference().run(on: &wrong)
        }
    }

    @Test("constant folding: Shape → Gather → Unsqueeze → Concat → Reshape becomes a constant target shape")
    func constantFolding() throws {
        let b = GraphBuilder(name: "flatten-by-shape")
        let x = b.input("x", shape: [.symbolic("N"), 4, 3, 3])
        let shape = b.node(.shape(start: 0, end: nil), [x], name: "shape", outputType: .int64)[0]
        let zero = b.constant("zero", Int64Tensor([0]))
        let batch = b.node(.gather(axis: 0), [shape, zero], name: "gather", outputType: .int64)[0]
        let minusOne = b.constant("minus_one", Int64Tensor([-1]))
        let target = b.node(.concat(axis: 0), [batch, minusOne], name: "concat", outputType: .int64)[0]
        let reshaped = b.node(.reshape(allowZero: false), [x, target], name: "reshape")[0]
        b.output(reshaped)
        let graph = try b.build()
        let folded = try applying([ShapeInference(), ConstantFolding(), DeadNodeElimination()], to: graph, shapes: [[5, 4, 3, 3]])
        #expect(folded.nodeList == ["reshape: Reshape(x, concat) -> reshape"])
        #expect(folded.initializers[folded.value(named: "concat")!] == .int64(Int64Tensor([5, -1])))
        #expect(try engineError(graph, randomInputs(graph, shapes: ["x": [5, 4, 3, 3]])) == 0)
    }

    @Test("constant folding turns Clip's constant min/max inputs into a clip activation, then fusion takes it")
    func clipInputs() throws {
        let b = GraphBuilder(name: "clip")
        let x = b.input("x", shape: [1, 4, 5, 5])
        let c = try b.conv(x, weight: weights([4, 4, 3, 3], seed: 1), padding: 1, name: "conv")
        let low = b.constant("min", try Tensor(shape: [], scalars: [0])), high = b.constant("max", try Tensor(shape: [], scalars: [6]))
        b.output(b.node(.clip, [c, low, high], name: "clip")[0])
        let graph = try b.build()
        let passed = try applying(GraphPipeline.preparation, to: graph)
        #expect(passed.nodeList == ["conv: Conv(x, conv.weight, ∅) -> clip"])
        #expect(passed.nodes[0].op.fusedActivation == .relu6)
        #expect(try engineError(graph, randomInputs(graph, shapes: ["x": [1, 4, 5, 5]])) <= float32Tolerance)
    }

    @Test("dead-node removal: nodes and initializers no output depends on are removed")
    func deadNodes() throws {
        let b = GraphBuilder(name: "dead")
        let x = b.input("x", shape: [1, 2, 2, 2])
        let used = b.relu(x, name: "used")
        _ = try b.conv(x, weight: weights([2, 2, 1, 1], seed: 1), name: "unused_conv")
        b.output(used)
        let graph = try b.build()
        let pruned = try applying([DeadNodeElimination()], to: graph)
        #expect(pruned.nodeList == ["used: Relu(x) -> used"] && pruned.initializers.isEmpty)
    }

    @Test("the graph checks: a cycle, an input nothing produces, two producers of one value")
    func malformedGraphs() throws {
        var cyclic = Graph(name: "cyclic")
        let x = cyclic.addValue("x"), a = cyclic.addValue("a"), b = cyclic.addValue("b")
        cyclic.inputs = [GraphInput(value: x, shape: [1], layout: .natural)]
        cyclic.nodes = [Node(name: "first", op: .binary(.add, activation: .identity), inputs: [x, b], outputs: [a]),
                        Node(name: "second", op: .activation(.relu), inputs: [a], outputs: [b])]
        cyclic.outputs = [GraphOutput(value: b, layout: .natural)]
        expectError("cycle", "'first'", "'second'") { try cyclic.sortTopologically() }
        expectError("node 'first' (Add) reads 'b', which no graph input, initializer or earlier node produces") { try cyclic.validate() }

        var dangling = Graph(name: "dangling")
        let y = dangling.addValue("y"), z = dangling.addValue("z")
        dangling.nodes = [Node(name: "relu", op: .activation(.relu), inputs: [y], outputs: [z])]
        dangling.outputs = [GraphOutput(value: z, layout: .natural)]
        expectError("node 'relu' (Relu) reads 'y', which no graph input, initializer or node produces") { try dangling.sortTopologically() }

        var twice = Graph(name: "twice")
        let input = twice.addValue("in"), out = twice.addValue("out")
        twice.inputs = [GraphInput(value: input, shape: [1], layout: .natural)]
        twice.nodes = [Node(name: "one", op: .activation(.relu), inputs: [input], outputs: [out]),
                       Node(name: "two", op: .activation(.sigmoid), inputs: [input], outputs: [out])]
        twice.outputs = [GraphOutput(value: out, layout: .natural)]
        expectError("nodes 'one' and 'two' both write 'out'") { try twice.sortTopologically() }
        expectError("value 'out' has two sources") { try twice.validate() }
    }
}
