import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A graph compiled for one set of input shapes (and int64 input values): the passes applied,
/// a layout for every value, one kernel per node with its weights packed, a memory plan for one
/// arena. Immutable, so any number of threads run it at once, each with an `ExecutionContext`
/// (the arena) taken from the plan's pool.
public final class ExecutionPlan: Sendable {
    /// One kernel run.
    struct Step: Sendable {
        let name: String
        let kernel: any Kernel
        let workspaceOffset: Int
        /// The node's operator and output, for summaries.
        let node: Node?
        let outputShape: [Int]
        let outputLayout: Layout
    }

    /// Where a value's memory starts, per run.
    enum Base: Sendable, Equatable {
        case arena(Int)
        case input(Int)
        case output(Int)
        case constant(Int)
    }

    /// The graph as planned: passes applied, layout conversions added.
    public let graph: Graph
    let layouts: [Layout]
    let steps: [Step]
    public let memory: MemoryPlan
    /// Per graph input (in `graph`'s original input order): its shape, and for an int64 input the
    /// value this plan was specialised on (nil for float inputs).
    public let inputShapes: [[Int]]
    let int64Inputs: [Int64Tensor?]
    /// Per graph output: name, shape, the layout it is handed back in, data type, and a value fixed
    /// at plan time (an output that is a constant).
    let outputs: [(name: String, shape: [Int], layout: Layout, dataType: DataType, constant: TensorValue?)]
    /// For every value a kernel uses: its slot and where its memory starts.
    let pointerSetup: [(slot: Int, base: Base, elementOffset: Int, elementSize: Int)]
    let constants: [FloatBuffer]
    let slotCount: Int
    /// Each referenced value's strides in its buffer and the value owning that buffer (for the arena checker).
    let viewStrides: [Int: [Int]]
    let viewRoots: [Int: Int]
    private let contexts = Mutex<[ExecutionContext]>([])

    /// Compiles a prepared graph (see `InferenceSession`) for concrete input shapes.
    /// `int64Inputs` gives the values of int64 graph inputs, by input index.
    init(prepared: Graph, inputShapes: [[Int]], int64Inputs: [Int: Int64Tensor], options: CompileOptions) throws {
        var graph = prepared
        // Bind the input shapes (checking declared dimensions); int64 inputs become constants.
        try graph.bindInputShapes(inputShapes)
        for (index, input) in graph.inputs.enumerated() {
            let name = graph[input.value].name
            let shape = inputShapes[index]
            if let value = int64Inputs[index] {
                guard graph[input.value].dataType == .int64, value.shape == shape else {
                    throw PointwiseError.shapeMismatch(what: "int64 input '\(name)'", expected: describe(shape), actual: describe(value.shape))
                }
                graph.initializers[input.value] = .int64(value)
            } else if graph[input.value].dataType == .int64 {
                throw PointwiseError.invalidArgument(name: "input '\(name)'", value: "missing its int64 values", requirement: "given (int64 inputs are plan-time constants)")
            }
        }
        let originalInputs = graph.inputs
        let outputNames = graph.outputs.map { graph[$0.value].name }
        graph.inputs.removeAll { int64Inputs.keys.contains(originalInputs.firstIndex(of: $0)!) }
        try GraphPipeline.run(GraphPipeline.specialisation, on: &graph)
        // The fused chain runs its 1x1 stages on the packed GEMM: not for the naive baseline, nor
        // when OpenBLAS is asked for, nor without AVX2 (where the packed GEMM is portable C).
        if options.fusesDepthwiseChains && options.kernelPath == .lowered && options.gemmKernel != .openBLAS && KernelISA.best != .portable {
            try DepthwiseChainFusion().run(on: &graph)
        }

        let layouts = try LayoutAssignment.run(&graph)
        let placement = BufferPlacement(graph, layouts: layouts)
        let factory = KernelFactory(graph: graph, layouts: layouts, placement: placement, options: options)
        var kernels: [(index: Int, kernel: any Kernel)] = []
        var problems: [String] = []
        for (index, node) in graph.nodes.enumerated() {
            do {
                if let kernel = try factory.make(node, index: index) { kernels.append((index, kernel)) }
            } catch PointwiseError.unsupportedNodes(let list) {
                problems += list
            } catch let error as PointwiseError {
                problems.append("'\(node.name)' (\(node.op.typeName)): \(error)")
            }
        }
        if !problems.isEmpty { throw PointwiseError.unsupportedNodes(problems) }

        // Graph outputs: written straight into the caller's buffer when the value owns its memory
        // in the layout the caller wants; otherwise copied there by a last step.
        let external = Set(originalInputs.map(\.value)).union(graph.initializers.keys)
        var outputRoots: [ValueID: Int] = [:]
        var outputCopies: [(index: Int, kernel: any Kernel)] = []
        var outputInfo: [(name: String, shape: [Int], layout: Layout, dataType: DataType, constant: TensorValue?)] = []
        for (k, output) in graph.outputs.enumerated() {
            let value = output.value
            let shape = graph[value].shape ?? []
            outputInfo.append((outputNames[k], shape, output.layout, graph[value].dataType, graph.initializers[value]))
            if graph.initializers[value] != nil { continue }
            let target = Operand(slot: graph.values.count + k, shape: shape,
                                 strides: Operand.strides(shape, shape.count == 4 ? output.layout : .natural), layout: output.layout)
            let view = placement.view(of: value, graph: graph, layouts: layouts)
            if placement.kinds[value.index] == .own && !external.contains(value) && outputRoots[value] == nil
                && zip(shape, zip(view.strides, target.strides)).allSatisfy({ $0.0 == 1 || $0.1.0 == $0.1.1 }) {
                outputRoots[value] = k
            } else {
                outputCopies.append((graph.nodes.count + k, CopyKernel("output copy", input: factory.operand(value), output: target)))
            }
        }

        // Steps, and the position of every node among them (a no-op node sits before the next step).
        let allKernels = kernels + outputCopies
        var stepOfNode = [Int](repeating: allKernels.count, count: graph.nodes.count + graph.outputs.count)
        var next = 0
        for node in 0..<stepOfNode.count {
            while next < allKernels.count && allKernels[next].index < node { next += 1 }
            stepOfNode[node] = next
        }
        // Liveness of each root, over all its views.
        var first: [ValueID: Int] = [:], last: [ValueID: Int] = [:]
        func touch(_ value: ValueID, _ step: Int) {
            let root = placement.view(of: value, graph: graph, layouts: layouts).root
            first[root] = min(first[root] ?? step, step)
            last[root] = max(last[root] ?? step, step)
        }
        for (index, node) in graph.nodes.enumerated() {
            for output in node.outputs { touch(output, stepOfNode[index]) }
            for input in node.presentInputs { touch(input, stepOfNode[index]) }
        }
        for (k, output) in graph.outputs.enumerated() where graph.initializers[output.value] == nil {
            touch(output.value, outputRoots[output.value] == k ? allKernels.count : stepOfNode[graph.nodes.count + k])
        }
        var blocks: [MemoryPlan.Block] = []
        var blockOfRoot: [ValueID: Int] = [:]
        let referencedRoots = Set(factory.referenced.values.map { placement.view(of: $0, graph: graph, layouts: layouts).root })
        for (root, start) in first.sorted(by: { $0.key < $1.key })
        where !external.contains(root) && outputRoots[root] == nil && referencedRoots.contains(root) {
            let bytes = try Tensor.elementCount(of: graph[root].shape ?? []) * graph[root].dataType.size
            blockOfRoot[root] = blocks.count
            blocks.append(MemoryPlan.Block(name: graph[root].name, bytes: bytes, firstStep: start, lastStep: last[root]!))
        }
        var workspaceBlock: [Int: Int] = [:]
        for (step, entry) in allKernels.enumerated() where entry.kernel.workspaceBytes > 0 {
            workspaceBlock[step] = blocks.count
            blocks.append(MemoryPlan.Block(name: "workspace of step \(step)", bytes: entry.kernel.workspaceBytes, firstStep: step, lastStep: step))
        }
        let memory = MemoryPlan(blocks: blocks)
        let limit = options.memoryLimit ?? Self.physicalMemory
        guard memory.arenaBytes <= limit else {
            throw PointwiseError.resourceLimit(what: "the memory plan of '\(graph.name)' for inputs \(inputShapes.map(describe).joined(separator: ", "))",
                                               required: "\(memory.arenaBytes) bytes", limit: "\(limit) bytes")
        }

        // Pointers: every value a kernel refers to, from its root's base.
        var constants: [FloatBuffer] = []
        var constantIndex: [ValueID: Int] = [:]
        var setup: [(slot: Int, base: Base, elementOffset: Int, elementSize: Int)] = []
        for value in factory.referenced.values.sorted() {
            let view = placement.view(of: value, graph: graph, layouts: layouts)
            let root = view.root
            let base: Base
            if let k = originalInputs.firstIndex(where: { $0.value == root }), graph.initializers[root] == nil {
                base = .input(k)
            } else if let data = graph.initializers[root] {
                guard let tensor = data.floatTensor else {
                    throw PointwiseError.unsupportedNodes(["value '\(graph[value].name)': int64 data read at run time"])
                }
                if constantIndex[root] == nil {
                    constantIndex[root] = constants.count
                    constants.append(FloatBuffer(tensor.scalars))
                }
                base = .constant(constantIndex[root]!)
            } else if let k = outputRoots[root] {
                base = .output(k)
            } else {
                base = .arena(memory.blocks[blockOfRoot[root]!].offset)
            }
            setup.append((value.index, base, view.offset, graph[value].dataType.size))
        }
        for k in graph.outputs.indices { setup.append((graph.values.count + k, .output(k), 0, 4)) }

        self.steps = allKernels.enumerated().map { step, entry in
            let node = entry.index < graph.nodes.count ? graph.nodes[entry.index] : nil
            let output = node?.output ?? graph.outputs[entry.index - graph.nodes.count].value
            return Step(name: node?.name ?? "output \(graph[output].name)", kernel: entry.kernel,
                        workspaceOffset: workspaceBlock[step].map { memory.blocks[$0].offset } ?? 0,
                        node: node, outputShape: graph[output].shape ?? [], outputLayout: layouts[output.index])
        }
        self.graph = graph
        self.layouts = layouts
        self.memory = memory
        self.inputShapes = inputShapes
        self.int64Inputs = originalInputs.indices.map { int64Inputs[$0] }
        self.outputs = outputInfo
        self.pointerSetup = setup
        self.constants = constants
        self.slotCount = graph.values.count + graph.outputs.count
        self.viewStrides = Dictionary(uniqueKeysWithValues: factory.referenced.values.map {
            ($0.index, placement.view(of: $0, graph: graph, layouts: layouts).strides)
        })
        self.viewRoots = Dictionary(uniqueKeysWithValues: factory.referenced.values.map {
            ($0.index, placement.view(of: $0, graph: graph, layouts: layouts).root.index)
        })
    }

    /// Physical memory, the default limit of a plan's arena.
    static let physicalMemory: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : Int.max
    }()

    /// Bytes of packed weights and constants the plan's kernels hold.
    public var weightBytes: Int { steps.reduce(0) { $0 + $1.kernel.weightBytes } + constants.reduce(0) { $0 + $1.byteCount } }

    // MARK: Running

    /// Runs the plan: `inputs[k]` points to float input k's data (in its declared layout; int64
    /// inputs are ignored, their values are part of the plan), `outputs[k]` to room for output k.
    /// Takes a context from the pool (making one the first time a thread needs it), allocates nothing after.
    func run(inputs: UnsafeBufferPointer<UnsafeRawPointer?>, outputs: UnsafeBufferPointer<UnsafeMutableRawPointer?>,
             stepSeconds: UnsafeMutablePointer<Double>? = nil) {
        let context = contexts.withLock { $0.popLast() } ?? ExecutionContext(plan: self)
        defer { contexts.withLock { $0.append(context) } }
        let pointers = context.pointers
        for entry in pointerSetup {
            let base: UnsafeMutableRawPointer?
            switch entry.base {
            case .arena(let offset): base = context.arena + offset
            case .input(let k): base = UnsafeMutableRawPointer(mutating: inputs[k])
            case .output(let k): base = outputs[k]
            case .constant(let c): base = UnsafeMutableRawPointer(constants[c].pointer)
            }
            pointers[entry.slot] = base.map { $0 + entry.elementOffset * entry.elementSize }
        }
        let isa = KernelISA.current
        if let stepSeconds {
            // Profiling: each step's wall time added to stepSeconds[i].
            for (index, step) in steps.enumerated() {
                let start = Self.now()
                step.kernel.run(Frame(pointers: pointers, workspace: context.arena + step.workspaceOffset, isa: isa))
                stepSeconds[index] += Self.now() - start
            }
            return
        }
        for step in steps {
            step.kernel.run(Frame(pointers: pointers, workspace: context.arena + step.workspaceOffset, isa: isa))
        }
    }

    /// The arena checker: for every two values in the arena whose lifetimes (from the producing
    /// node to the last reading node, in the planned graph's order) overlap and that are not views
    /// of one buffer, the bytes they span must be disjoint. Returns the pairs that are not (empty
    /// for a correct plan). Independent of the memory planner's own liveness bookkeeping.
    public func arenaConflicts() -> [String] {
        var first: [Int: Int] = [:], last: [Int: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for output in node.outputs { first[output.index] = min(first[output.index] ?? index, index) }
            for input in node.presentInputs { last[input.index] = max(last[input.index] ?? index, index) }
        }
        for output in graph.outputs { last[output.value.index] = graph.nodes.count }
        struct Extent { let name: String; let root: Int; let start: Int; let end: Int; let from: Int; let to: Int }
        var extents: [Extent] = []
        for entry in pointerSetup {
            guard case .arena(let base) = entry.base, entry.slot < graph.values.count else { continue }
            let value = graph.values[entry.slot]
            let shape = value.shape ?? []
            let strides = viewStrides[entry.slot] ?? []
            let span = shape.contains(0) ? 0 : zip(shape, strides).reduce(1) { $0 + ($1.0 - 1) * $1.1 }
            let start = base + entry.elementOffset * entry.elementSize
            extents.append(Extent(name: value.name, root: viewRoots[entry.slot] ?? entry.slot, start: start, end: start + span * entry.elementSize,
                                  from: first[entry.slot] ?? -1, to: last[entry.slot] ?? first[entry.slot] ?? -1))
        }
        var conflicts: [String] = []
        for i in extents.indices {
            for j in extents.indices where j > i {
                let (a, b) = (extents[i], extents[j])
                guard a.root != b.root, a.from <= b.to, b.from <= a.to, a.start < b.end, b.start < a.end else { continue }
                conflicts.append("'\(a.name)' bytes \(a.start)..<\(a.end) nodes \(a.from)...\(a.to) and '\(b.name)' bytes \(b.start)..<\(b.end) nodes \(b.from)...\(b.to)")
            }
        }
        return conflicts
    }

    /// Makes contexts until the pool holds at least `count`, so that `count` callers at once
    /// allocate nothing even on their first call (a server reserves one per worker).
    public func reserveContexts(_ count: Int) {
        contexts.withLock { pool in
            while pool.count < count { pool.append(ExecutionContext(plan: self)) }
        }
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Runs the plan `repetitions` times on `input` (one float input and output, in the layouts the
    /// graph declares) and returns each step's mean wall time in seconds, with its name and lowering.
    public func profile(_ input: Tensor, repetitions: Int) throws -> [(step: String, lowering: String, seconds: Double)] {
        guard inputShapes.count == 1, outputs.count == 1, repetitions >= 1 else {
            throw PointwiseError.invalidArgument(name: "profiled plan", value: "\(inputShapes.count) inputs, \(outputs.count) outputs",
                                                 requirement: "1 and 1, and repetitions ≥ 1")
        }
        var y = try Tensor(zeros: InferenceSession.physical(outputs[0].shape, outputs[0].layout))
        var totals = [Double](repeating: 0, count: steps.count)
        input.scalars.withUnsafeBytes { xb in
            y.scalars.withUnsafeMutableBytes { yb in
                totals.withUnsafeMutableBufferPointer { t in
                    let inputs = [UnsafeRawPointer?](arrayLiteral: xb.baseAddress)
                    let outputs = [UnsafeMutableRawPointer?](arrayLiteral: yb.baseAddress)
                    inputs.withUnsafeBufferPointer { i in
                        outputs.withUnsafeBufferPointer { o in
                            run(inputs: i, outputs: o)  // warm-up
                            for _ in 0..<repetitions { run(inputs: i, outputs: o, stepSeconds: t.baseAddress) }
                        }
                    }
                }
            }
        }
        return steps.enumerated().map { ($0.element.name, $0.element.kernel.lowering, totals[$0.offset] / Double(repetitions)) }
    }

    /// Contexts made so far (one per thread that ran the plan at once): for tests.
    var contextCount: Int { contexts.withLock { $0.count } }
}

/// The memory one run of a plan works in: the arena and the pointer table. Made once per
/// concurrent caller, then reused: running allocates nothing.
final class ExecutionContext: @unchecked Sendable {
    let arena: UnsafeMutableRawPointer
    let pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let slots: Int

    init(plan: ExecutionPlan) {
        arena = LargeAllocation.allocate(byteCount: max(plan.memory.arenaBytes, MemoryPlan.alignment), alignment: MemoryPlan.alignment)
        // Zeroed once, so a kernel reading padding it never writes sees numbers, not garbage.
        arena.initializeMemory(as: UInt8.self, repeating: 0, count: max(plan.memory.arenaBytes, MemoryPlan.alignment))
        slots = plan.slotCount
        pointers = .allocate(capacity: max(slots, 1))
        pointers.initialize(repeating: nil, count: max(slots, 1))
    }

    deinit {
        arena.deallocate()
        pointers.deallocate()
    }
}
