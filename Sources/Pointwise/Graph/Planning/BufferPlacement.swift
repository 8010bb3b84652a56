/// Where each value's elements live relative to other values: decides which values share memory
/// so that no copy is made (XNNPACK and ONNX Runtime make the same decisions):
///
/// - **Concat elimination**: a concat member written by an operator that can write strided output
///   becomes a slice of the concat's output (for NHWC channel concat: the producer's GEMM writes
///   with ldc = the total channels), so the Concat itself copies nothing.
/// - **Aliases**: Reshape, Flatten, Squeeze, Unsqueeze and Identity of a value whose element order
///   already is the result's are views of it.
/// - **In place**: an element-wise op, an unfolded BatchNorm, or a convolution accumulating onto a
///   residual writes over an input that is not read afterwards (ResNet's shortcut buffer becomes the
///   block's output: the GEMM accumulates onto it with beta = 1, no copy).
struct BufferPlacement {
    enum Kind: Equatable {
        /// Its own memory (in the arena, or an external input or output, or a constant).
        case own
        /// A slice of `parent`, starting at `start` along logical axis `axis` (same strides).
        case slice(parent: ValueID, axis: Int, start: Int)
        /// The same memory and strides as `parent` (in place).
        case alias(parent: ValueID)
        /// `parent`'s memory read as a dense natural tensor of this value's own shape.
        case reshape(parent: ValueID)
    }

    /// Per value (by index).
    private(set) var kinds: [Kind]
    /// Nodes (by index) whose work the placement made unnecessary: views, fully eliminated concats.
    private(set) var noOps: Set<Int> = []
    /// Concat inputs (node index → input slots) that are slices of the concat's output.
    private(set) var inPlaceConcatInputs: [Int: Set<Int>] = [:]

    /// The value a view ultimately lives in, with its element offset and strides.
    struct View: Equatable {
        let root: ValueID
        let offset: Int
        let strides: [Int]
    }

    /// Decides every placement for `graph` (layouts from `LayoutAssignment`).
    init(_ graph: Graph, layouts: [Layout]) {
        var kinds = [Kind](repeating: .own, count: graph.values.count)
        var noOps = Set<Int>()
        var inPlaceConcatInputs: [Int: Set<Int>] = [:]
        func view(_ v: ValueID) -> View { Self.view(of: v, kinds: kinds, graph: graph, layouts: layouts) }
        let producers = graph.producers
        let consumers = graph.consumers
        let external = Set(graph.inputs.map(\.value)).union(graph.initializers.keys)
        let outputs = Set(graph.outputs.map(\.value))
        func shape(_ v: ValueID) -> [Int] { graph[v].shape ?? [] }

        // Concat elimination first: slices are worth more than in-place reuse.
        for (index, node) in graph.nodes.enumerated() {
            guard case .concat(let axis) = node.op, graph[node.output].dataType == .float32 else { continue }
            let rank = shape(node.output).count
            guard let a = try? ShapeInference.normalizedAxis(axis, rank: rank, what: "axis") else { continue }
            let layout = layouts[node.output.index]
            // NHWC channel concat: members written with a pixel stride; axis 0: dense blocks (any producer).
            let channelSlices = layout == .nhwc && a == 1
            guard channelSlices || a == 0 else { continue }
            var start = 0
            var inPlace = Set<Int>()
            let counts = Dictionary(node.presentInputs.map { ($0, 1) }, uniquingKeysWith: +)
            for (slot, input) in node.inputs.enumerated() {
                guard let member = input else { continue }
                defer { start += shape(member)[a] }
                guard !external.contains(member), !outputs.contains(member), counts[member] == 1,
                      consumers[member]?.count == 1, layouts[member.index] == layout, kinds[member.index] == .own,
                      let producer = producers[member], !noOps.contains(producer),
                      channelSlices ? Self.writesStridedOutput(graph.nodes[producer].op) : true
                else { continue }
                kinds[member.index] = .slice(parent: node.output, axis: a, start: start)
                inPlace.insert(slot)
            }
            inPlaceConcatInputs[index] = inPlace
            if inPlace.count == node.inputs.count { noOps.insert(index) }
        }

        // Liveness: the last node reading each value (graph outputs: past the end).
        var lastUse = [Int](repeating: -1, count: graph.values.count)
        for (index, node) in graph.nodes.enumerated() { for input in node.presentInputs { lastUse[input.index] = index } }
        for output in outputs { lastUse[output.index] = graph.nodes.count }
        var members: [ValueID: [ValueID]] = [:]
        func root(_ v: ValueID) -> ValueID {
            switch kinds[v.index] {
            case .own: return v
            case .slice(let p, _, _), .alias(let p), .reshape(let p): return root(p)
            }
        }
        func groupDies(_ v: ValueID, at index: Int) -> Bool {
            let r = root(v)
            return lastUse[r.index] <= index && (members[r] ?? []).allSatisfy { lastUse[$0.index] <= index }
        }
        func join(_ v: ValueID, _ kind: Kind, parent: ValueID) {
            kinds[v.index] = kind
            members[root(parent), default: []].append(v)
        }
        // Slices are group members too.
        for v in graph.values.indices.map(ValueID.init) where kinds[v.index] != .own { members[root(v), default: []].append(v) }

        for (index, node) in graph.nodes.enumerated() where !noOps.contains(index) {
            guard let o = node.outputs.first, kinds[o.index] == .own, graph[o].dataType == .float32 else { continue }
            switch node.op {
            case .flatten, .reshape, .squeeze, .unsqueeze, .identity, .cast:
                guard let x = node.input(0), graph[x].dataType == .float32 else { continue }
                if layouts[x.index] == layouts[o.index] && shape(x) == shape(o) {
                    join(o, .alias(parent: x), parent: x)
                    noOps.insert(index)
                } else if layouts[o.index] == .natural && Self.isDenseNatural(view(x), shape(x)) {
                    join(o, .reshape(parent: x), parent: x)
                    noOps.insert(index)
                }
            default:
                guard !outputs.contains(o), let slots = Self.inPlaceInputs(node) else { continue }
                for slot in slots {
                    guard let x = node.input(slot), shape(x) == shape(o), layouts[x.index] == layouts[o.index],
                          // No other input may share x's memory (an alias of x, as an Identity or a
                          // Reshape makes): the kernel would overwrite what it still has to read.
                          node.presentInputs.filter({ root($0) == root(x) }).count == 1,
                          !external.contains(root(x)), !outputs.contains(root(x)),
                          groupDies(x, at: index),
                          view(x) == View(root: root(x), offset: 0, strides: Operand.strides(shape(x), layouts[x.index]))
                    else { continue }
                    join(o, .alias(parent: x), parent: x)
                    break
                }
            }
        }
        self.kinds = kinds
        self.noOps = noOps
        self.inPlaceConcatInputs = inPlaceConcatInputs
    }

    /// The view of `value` under these placements.
    func view(of value: ValueID, graph: Graph, layouts: [Layout]) -> View {
        Self.view(of: value, kinds: kinds, graph: graph, layouts: layouts)
    }

    private static func view(of value: ValueID, kinds: [Kind], graph: Graph, layouts: [Layout]) -> View {
        let shape = graph[value].shape ?? []
        switch kinds[value.index] {
        case .own:
            return View(root: value, offset: 0, strides: Operand.strides(shape, layouts[value.index]))
        case .slice(let parent, let axis, let start):
            let p = view(of: parent, kinds: kinds, graph: graph, layouts: layouts)
            return View(root: p.root, offset: p.offset + start * p.strides[axis], strides: p.strides)
        case .alias(let parent):
            return view(of: parent, kinds: kinds, graph: graph, layouts: layouts)
        case .reshape(let parent):
            let p = view(of: parent, kinds: kinds, graph: graph, layouts: layouts)
            return View(root: p.root, offset: p.offset, strides: Broadcasting.strides(shape))
        }
    }

    /// Whether a view's elements are contiguous in logical order.
    static func isDenseNatural(_ view: View, _ shape: [Int]) -> Bool {
        let natural = Broadcasting.strides(shape)
        return zip(zip(shape, view.strides), natural).allSatisfy { $0.0.0 == 1 || $0.0.1 == $0.1 }
    }

    /// Operators whose kernels write through their output's strides (so a slice of a wider value is fine).
    static func writesStridedOutput(_ op: Operator) -> Bool {
        switch op {
        case .conv, .depthwiseChain, .maxPool, .averagePool, .globalAveragePool, .globalMaxPool, .batchNormalization, .lrn,
             .activation, .binary, .sum, .identity, .pad, .transpose, .flatten, .reshape, .squeeze, .unsqueeze, .slice, .cast:
            return true
        default:
            return false
        }
    }

    /// Input slots whose memory the node's output may take over.
    static func inPlaceInputs(_ node: Node) -> [Int]? {
        switch node.op {
        case .conv(let a) where a.hasResidual: return [3]
        case .depthwiseChain(let a) where a.project.hasResidual: return [DepthwiseChainAttributes.residual]
        case .activation, .batchNormalization: return [0]
        case .binary: return [0, 1]
        case .sum: return Array(node.inputs.indices)
        default: return nil
        }
    }
}
