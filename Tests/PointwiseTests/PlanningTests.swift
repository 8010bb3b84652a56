import Testing
@testable import Pointwise

/// Layout assignment, buffer placement (concat elimination, in place, aliases) and the memory plan,
/// each on a graph built for it, then the four networks.
@Suite("Planning: layouts, buffer placement, memory")
struct PlanningTests {
    @Test("layouts: an NCHW input is converted once for the convolutions, Flatten of an NHWC map copies into NCHW order")
    func layouts() throws {
        let b = GraphBuilder(name: "layouts")
        let x = b.input("x", shape: [2, 3, 5, 5])
        let c1 = try b.conv(x, weight: weights([4, 3, 3, 3], seed: 1), padding: 1, name: "c1")
        let c2 = try b.conv(x, weight: weights([4, 3, 1, 1], seed: 2), name: "c2")
        let f = b.flatten(b.add(c1, c2, name: "add"), name: "flatten")
        b.output(b.linear(f, weight: try weights([7, 100], seed: 3), bias: nil, name: "fc"))
        var graph = try applying([ShapeInference()], to: try b.build(), shapes: [[2, 3, 5, 5]])
        let layouts = try LayoutAssignment.run(&graph)
        #expect(graph.nodeList == ["x.nhwc: Identity(x) -> x.nhwc", "c1: Conv(x.nhwc, c1.weight, ∅) -> c1",
                                   "c2: Conv(x.nhwc, c2.weight, ∅) -> c2", "add: Add(c1, c2) -> add",
                                   "flatten: Flatten(add) -> flatten", "fc: Gemm(flatten, fc.weight, ∅) -> fc"])
        func layout(_ name: String) -> Layout { layouts[graph.value(named: name)!.index] }
        #expect(layout("x") == .natural && layout("x.nhwc") == .nhwc && layout("add") == .nhwc && layout("flatten") == .natural)
        let plan = try InferenceSession(try b.build()).plan(inputShapes: [[2, 3, 5, 5]])
        #expect(plan.steps.map(\.kernel.lowering).filter { $0.contains("→") || $0.hasSuffix("copy") } == ["natural → nhwc", "nhwc → natural"])
        #expect(try engineError(try b.build(), randomInputs(try b.build(), shapes: ["x": [2, 3, 5, 5]])) <= float32Tolerance)
    }

    /// x → conv a (4) ┬→ conv b1 (3) ┐
    ///                ├→ conv b2 (5) ├→ concat → conv out
    ///                └→ maxpool ────┘
    func inceptionLike() throws -> Graph {
        let b = GraphBuilder(name: "inception")
        let x = b.input("x", shape: [.symbolic("N"), 4, 6, 6])
        let a = b.relu(try b.conv(x, weight: weights([4, 4, 1, 1], seed: 1), name: "a"), name: "a.relu")
        let b1 = try b.conv(a, weight: weights([3, 4, 1, 1], seed: 2), name: "b1")
        let b2 = try b.conv(a, weight: weights([5, 4, 3, 3], seed: 3), padding: 1, name: "b2")
        let p = b.pool(.max, a, kernel: 3, stride: 1, padding: 1, name: "pool")
        let cat = b.concat([b1, b2, p], name: "concat")
        b.output(try b.conv(cat, weight: weights([2, 12, 1, 1], seed: 4), name: "out"))
        return try b.build()
    }

    @Test("concat elimination: every branch writes its channel slice of the concat (GEMM ldc = 12), the Concat copies nothing")
    func concatElimination() throws {
        let graph = try inceptionLike()
        let plan = try InferenceSession(graph).plan(inputShapes: [[2, 4, 6, 6]])
        #expect(!plan.steps.contains { $0.name == "concat" }, "the concat is not a step")
        let (_, calls) = try recordGEMMs { try InferenceSession(graph).run(randomInputs(graph, shapes: ["x": [2, 4, 6, 6]])) }
        // a, b1 and b2 (im2col), then out; b1 and b2 write with ldc = 12, 3 and 8 floats apart.
        #expect(calls.map(\.ldc) == [4, 12, 12, 2])
        #expect(calls[2].c - calls[1].c == UInt(3 * MemoryLayout<Float>.stride))
        #expect(try engineError(graph, randomInputs(graph, shapes: ["x": [2, 4, 6, 6]])) <= float32Tolerance)
        #expect(plan.arenaConflicts().isEmpty)
    }

    @Test("a concat member read elsewhere too is copied into its slice; the others are still written in place")
    func partialConcat() throws {
        let b = GraphBuilder(name: "dense")
        let x = b.input("x", shape: [1, 3, 4, 4])
        let c = try b.conv(x, weight: weights([3, 3, 3, 3], seed: 1), padding: 1, name: "c")
        let d = try b.conv(c, weight: weights([2, 3, 1, 1], seed: 2), name: "d")
        let cat = b.concat([c, d], name: "concat")   // c is also read by d: DenseNet's pattern
        b.output(b.relu(cat, name: "relu"))
        let graph = try b.build()
        let plan = try InferenceSession(graph).plan(inputShapes: [[1, 3, 4, 4]])
        #expect(plan.steps.first { $0.name == "concat" }?.kernel.lowering == "concat (1 of 2 inputs copied)")
        #expect(try engineError(graph, randomInputs(graph, shapes: ["x": [1, 3, 4, 4]])) <= float32Tolerance)
        #expect(plan.arenaConflicts().isEmpty)
    }

    @Test("in place: a convolution accumulating onto a residual that is not read afterwards takes over its buffer")
    func inPlaceResidual() throws {
        let b = GraphBuilder(name: "residual")
        let x = b.input("x", shape: [1, 8, 5, 5], layout: .nhwc)
        let s = b.relu(try b.conv(x, weight: weights([8, 8, 1, 1], seed: 1), name: "stem"), name: "stem.relu")
        let m = b.relu(try b.conv(s, weight: weights([8, 8, 3, 3], seed: 2), padding: 1, name: "mid"), name: "mid.relu")
        let e = try b.conv(m, weight: weights([8, 8, 1, 1], seed: 3), name: "end")
        b.output(b.relu(b.add(e, s, name: "add"), name: "relu"), layout: .nhwc)
        let graph = try b.build()
        let session = try InferenceSession(graph)
        let plan = try session.plan(inputShapes: [[1, 8, 5, 5]])
        #expect(plan.graph.nodeList.last == "end: Conv(mid.relu, end.weight, ∅, stem.relu) -> relu")
        // The residual (stem.relu) dies at `end`, whose output is the graph output: written straight
        // into the caller's buffer, with the residual copied in first. Make the output internal to see the in-place case:
        let b2 = GraphBuilder(name: "residual2")
        let x2 = b2.input("x", shape: [1, 8, 5, 5], layout: .nhwc)
        let s2 = b2.relu(try b2.conv(x2, weight: weights([8, 8, 1, 1], seed: 1), name: "stem"), name: "stem.relu")
        let m2 = try b2.conv(s2, weight: weights([8, 8, 3, 3], seed: 2), padding: 1, name: "mid")
        let e2 = try b2.conv(m2, weight: weights([8, 8, 1, 1], seed: 3), name: "end")
        let r2 = b2.relu(b2.add(e2, s2, name: "add"), name: "relu")
        b2.output(b2.globalAveragePool(r2, name: "pool"))
        let graph2 = try b2.build()
        let plan2 = try InferenceSession(graph2).plan(inputShapes: [[1, 8, 5, 5]])
        let placement = BufferPlacement(plan2.graph, layouts: plan2.layouts)
        #expect(placement.kinds[plan2.graph.value(named: "relu")!.index] == .alias(parent: plan2.graph.value(named: "stem.relu")!))
        // The stem's output (accumulated onto in place: the block's output), mid's output, mid's im2col workspace.
        #expect(plan2.memory.blocks.map(\.name) == ["stem.relu", "mid", "workspace of step 1"])
        for (g, shape) in [(graph, [1, 8, 5, 5]), (graph2, [1, 8, 5, 5])] {
            #expect(try engineError(g, randomInputs(g, shapes: ["x": shape])) <= float32Tolerance)
        }
        #expect(plan.arenaConflicts().isEmpty && plan2.arenaConflicts().isEmpty)
    }

    @Test("large buffers (arena, packed weights) start on a 2 MiB boundary and are writable to the last byte; small ones keep their alignment")
    func largeAllocation() {
        for (bytes, alignment, expected) in [(100, 64, 64), (LargeAllocation.hugePageBytes - 1, 64, 64),
                                             (LargeAllocation.hugePageBytes, 64, LargeAllocation.hugePageBytes),
                                             (5 * LargeAllocation.hugePageBytes + 12, 64, LargeAllocation.hugePageBytes)] {
            let pointer = LargeAllocation.allocate(byteCount: bytes, alignment: alignment)
            defer { pointer.deallocate() }
            #expect(Int(bitPattern: pointer) % expected == 0, "\(bytes) bytes at \(pointer)")
            pointer.initializeMemory(as: UInt8.self, repeating: 7, count: bytes)
            #expect(pointer.load(fromByteOffset: bytes - 1, as: UInt8.self) == 7)
        }
        let weights = FloatBuffer(count: LargeAllocation.hugePageBytes / 4 + 1)
        #expect(Int(bitPattern: weights.pointer) % LargeAllocation.hugePageBytes == 0)
        #expect(weights.pointer[weights.count - 1] == 0)
    }

    @Test("memory plan: a chain of ten convolutions needs two buffers, not ten; the checker finds planted overlaps")
    func memoryReuse() throws {
        let b = GraphBuilder(name: "chain")
        var v = b.input("x", shape: [1, 16, 8, 8])
        for i in 0..<10 { v = b.relu(try b.conv(v, weight: weights([16, 16, 1, 1], seed: UInt64(i)), name: "c\(i)"), name: "r\(i)") }
        b.output(v)
        let plan = try InferenceSession(try b.build()).plan(inputShapes: [[1, 16, 8, 8]])
        let map = 16 * 8 * 8 * 4
        #expect(plan.memory.arenaBytes == 2 * map, "ping-pong between two buffers (the last writes the caller's output)")
        try plan.memory.validate()
        #expect(plan.arenaConflicts().isEmpty)
        // A plan whose blocks overlap while both alive is rejected by the checker.
        let bad = MemoryPlan(blocks: [MemoryPlan.Block(name: "a", bytes: 64, firstStep: 0, lastStep: 2),
                                      MemoryPlan.Block(name: "b", bytes: 64, firstStep: 1, lastStep: 3)])
        try bad.validate()
        var forced = bad
        forced.forceOffset(0, ofBlock: 1)
        expectError("memory plan", "'a'", "overlaps 'b'") { try forced.validate() }
    }

    /// What the pre-graph engine held for each network (README at d17d9d7, `pointwise summary NETWORK --batch N`):
    /// packed weights + one buffer per intermediate activation + the im2col workspace, in MiB.
    static let previousMemoryUse: [Network.Architecture: (batch1: Double, batch8: Double)] = [
        .resnet50: (142, 413), .googlenet: (50, 183), .mobilenetV1: (37, 180), .mobilenetV2: (40, 228),
    ]

    @Test("the four networks at batch 1 and 8: no two live values share a byte, and the arena is below the old engine's memory",
          arguments: Network.Architecture.allCases)
    func networks(architecture: Network.Architecture) throws {
        let network = try Network.build(architecture, parameters: RandomParameters(seed: 1))
        for batch in [1, 8] {
            let plan = try network.plan(forInput: [batch, 224, 224, 3])
            try plan.memory.validate()
            #expect(plan.arenaConflicts().isEmpty, "\(architecture) batch \(batch): \(plan.arenaConflicts().prefix(3))")
            let previous = Self.previousMemoryUse[architecture]!
            let bound = (batch == 1 ? previous.batch1 : previous.batch8) * 1_048_576
            #expect(Double(plan.memory.arenaBytes) <= bound, "\(architecture) batch \(batch): arena \(plan.memory.arenaBytes) bytes")
            // Within 2x of the bytes that must be live at the busiest step (any arena needs at least that).
            #expect(plan.memory.arenaBytes <= 2 * plan.memory.peakLiveBytes, "\(architecture) batch \(batch)")
        }
    }
}
