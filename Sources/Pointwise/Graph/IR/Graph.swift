/// A computation as a DAG of nodes over named values, in ONNX's terms: graph inputs,
/// initializers (weights and constants), nodes in topological order, graph outputs.
/// Values have NCHW semantics; layouts are chosen when the graph is planned.
///
/// A graph is a value: passes take one and return a rewritten one (see `GraphPass`).
public struct Graph: Sendable, Equatable {
    public var name: String
    /// Every value, indexed by `ValueID.index` (removed nodes leave their values unused).
    public internal(set) var values: [Value] = []
    /// In topological order: every input of a node is a graph input, an initializer, or an
    /// output of an earlier node (`validate` checks it).
    public var nodes: [Node] = []
    public var inputs: [GraphInput] = []
    public var outputs: [GraphOutput] = []
    /// Constant data (weights, shapes), by value.
    public var initializers: [ValueID: TensorValue] = [:]

    public init(name: String) { self.name = name }

    /// Adds a value and returns its id.
    @discardableResult
    public mutating func addValue(_ name: String, dataType: DataType = .float32, shape: [Int]? = nil) -> ValueID {
        values.append(Value(name: name, dataType: dataType, shape: shape))
        return ValueID(values.count - 1)
    }

    /// Adds an initializer value holding `data`.
    @discardableResult
    public mutating func addInitializer(_ name: String, _ data: TensorValue) -> ValueID {
        let id = addValue(name, dataType: data.dataType, shape: data.shape)
        initializers[id] = data
        return id
    }

    public subscript(value: ValueID) -> Value {
        get { values[value.index] }
        set { values[value.index] = newValue }
    }

    /// A value id that is valid in this graph, or nil.
    func valueID(_ index: Int) -> ValueID? { index >= 0 && index < values.count ? ValueID(index) : nil }

    /// The value named `name`, if any.
    public func value(named name: String) -> ValueID? {
        values.firstIndex { $0.name == name }.map(ValueID.init)
    }

    /// Index in `nodes` of each value's producing node.
    public var producers: [ValueID: Int] {
        var result: [ValueID: Int] = [:]
        for (index, node) in nodes.enumerated() { for output in node.outputs { result[output] = index } }
        return result
    }

    /// Indices in `nodes` of each value's consuming nodes (a node consuming a value twice is listed twice).
    public var consumers: [ValueID: [Int]] {
        var result: [ValueID: [Int]] = [:]
        for (index, node) in nodes.enumerated() { for input in node.presentInputs { result[input, default: []].append(index) } }
        return result
    }

    /// Whether `value` is a graph output.
    public func isOutput(_ value: ValueID) -> Bool { outputs.contains { $0.value == value } }

    /// Whether `value` is a graph input.
    public func isInput(_ value: ValueID) -> Bool { inputs.contains { $0.value == value } }

    /// The shape of `value`, or an error naming the node that needs it.
    func shape(of value: ValueID, for node: Node) throws -> [Int] {
        guard let shape = self[value].shape else {
            throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)): the shape of input '\(self[value].name)' is unknown (run ShapeInference first)")
        }
        return shape
    }

    /// Gives the graph inputs concrete shapes, checking each against its declared dimensions
    /// (rank, fixed extents, one value per symbolic name).
    public mutating func bindInputShapes(_ shapes: [[Int]]) throws {
        guard shapes.count == inputs.count else {
            throw PointwiseError.shapeMismatch(what: "number of inputs of '\(name)'", expected: "\(inputs.count)", actual: "\(shapes.count)")
        }
        var symbols: [String: Int] = [:]
        for (index, input) in inputs.enumerated() {
            let valueName = self[input.value].name
            let shape = shapes[index]
            guard shape.count == input.shape.count else {
                throw PointwiseError.shapeMismatch(what: "rank of input '\(valueName)' (declared \(input.shape.map(\.description)))",
                                                   expected: "\(input.shape.count)", actual: "\(shape.count) (\(describe(shape)))")
            }
            _ = try Tensor.elementCount(of: shape)
            for (axis, (dimension, extent)) in zip(input.shape, shape).enumerated() {
                switch dimension {
                case .fixed(let expected) where expected != extent:
                    throw PointwiseError.shapeMismatch(what: "dimension \(axis) of input '\(valueName)' (declared \(input.shape.map(\.description)))",
                                                       expected: "\(expected)", actual: "\(extent) (input shape \(describe(shape)))")
                case .symbolic(let symbol):
                    if let bound = symbols[symbol], bound != extent {
                        throw PointwiseError.shapeMismatch(what: "dimension '\(symbol)' of input '\(valueName)' (bound to \(bound) by an earlier input)",
                                                           expected: "\(bound)", actual: "\(extent)")
                    }
                    symbols[symbol] = extent
                default: break
                }
            }
            self[input.value].shape = shape
        }
    }

    // MARK: Structure

    /// Checks that the graph is well formed: every value has at most one source (graph input,
    /// initializer or node output), every node input has a source earlier in `nodes`, and every
    /// graph output has a source. Throws naming the first problem found.
    public func validate() throws {
        var available = Set<ValueID>()
        func claim(_ value: ValueID, by source: String) throws {
            guard value.index >= 0 && value.index < values.count else {
                throw PointwiseError.invalidGraph("\(source) refers to value \(value), which does not exist")
            }
            guard available.insert(value).inserted else {
                throw PointwiseError.invalidGraph("value '\(self[value].name)' has two sources (the second: \(source))")
            }
        }
        for input in inputs { try claim(input.value, by: "graph input '\(self[input.value].name)'") }
        for (value, data) in initializers.sorted(by: { $0.key < $1.key }) {
            try claim(value, by: "initializer '\(self[value].name)'")
            guard self[value].dataType == data.dataType else {
                throw PointwiseError.invalidGraph("initializer '\(self[value].name)' holds \(data.dataType) data but is declared \(self[value].dataType)")
            }
        }
        for node in nodes {
            // Every operator but Constant reads a first input (passes and kernels take it as given).
            if case .constant = node.op {} else if node.input(0) == nil {
                throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)) has no first input; it needs one")
            }
            guard !node.outputs.isEmpty else {
                throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)) has no output")
            }
            for input in node.presentInputs {
                guard input.index >= 0 && input.index < values.count else {
                    throw PointwiseError.invalidGraph("node '\(node.name)' reads value \(input), which does not exist")
                }
                guard available.contains(input) else {
                    throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)) reads '\(self[input].name)', which no graph input, initializer or earlier node produces")
                }
            }
            for output in node.outputs { try claim(output, by: "node '\(node.name)' (\(node.op.typeName))") }
        }
        for output in outputs {
            guard output.value.index >= 0 && output.value.index < values.count, available.contains(output.value) else {
                throw PointwiseError.invalidGraph("graph output '\(output.value.index < values.count ? self[output.value].name : "\(output.value)")' has no source")
            }
        }
    }

    /// Reorders `nodes` so that every node comes after the producers of its inputs (Kahn's
    /// algorithm, keeping the given order where it is free). Throws for a cycle, naming its nodes,
    /// and for an input that nothing produces.
    public mutating func sortTopologically() throws {
        var sources = Set(inputs.map(\.value)).union(initializers.keys)
        var producer: [ValueID: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.outputs {
                if let other = producer[output] {
                    throw PointwiseError.invalidGraph("nodes '\(nodes[other].name)' and '\(node.name)' both write '\(self[output].name)'")
                }
                if sources.contains(output) {
                    throw PointwiseError.invalidGraph("node '\(node.name)' writes '\(self[output].name)', which is a graph input or initializer")
                }
                producer[output] = index
            }
        }
        var waitingOn = [Int](repeating: 0, count: nodes.count)
        var dependents = [[Int]](repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() {
            for input in node.presentInputs where !sources.contains(input) {
                guard let source = producer[input] else {
                    throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)) reads '\(self[input].name)', which no graph input, initializer or node produces")
                }
                waitingOn[index] += 1
                dependents[source].append(index)
            }
        }
        // A min-heap would keep the original order exactly; a sorted ready list does it simply.
        var ready = (0..<nodes.count).filter { waitingOn[$0] == 0 }.reversed() as [Int]
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        while let next = ready.popLast() {
            order.append(next)
            var released: [Int] = []
            for dependent in dependents[next] {
                waitingOn[dependent] -= 1
                if waitingOn[dependent] == 0 { released.append(dependent) }
            }
            if !released.isEmpty {
                ready.append(contentsOf: released)
                ready.sort(by: >)
            }
        }
        guard order.count == nodes.count else {
            let stuck = (0..<nodes.count).filter { waitingOn[$0] > 0 }.map { "'\(nodes[$0].name)'" }
            throw PointwiseError.invalidGraph("the graph has a cycle through the nodes \(stuck.prefix(10).joined(separator: ", "))\(stuck.count > 10 ? ", …" : "")")
        }
        nodes = order.map { nodes[$0] }
        sources.removeAll()
    }

    /// One line per node, `name: Op(inputs) -> outputs`: what the pass tests compare.
    public var nodeList: [String] {
        nodes.map { node in
            let inputs = node.inputs.map { $0.map { self[$0].name } ?? "∅" }.joined(separator: ", ")
            return "\(node.name): \(node.op.typeName)(\(inputs)) -> \(node.outputs.map { self[$0].name }.joined(separator: ", "))"
        }
    }

    /// A name not used by any value yet, starting from `base`.
    func uniqueValueName(_ base: String) -> String {
        let names = Set(values.map(\.name))
        if !names.contains(base) { return base }
        var index = 1
        while names.contains("\(base)_\(index)") { index += 1 }
        return "\(base)_\(index)"
    }

    /// Learnable parameters as PyTorch counts them, over all nodes.
    public var parameterCount: Int { nodes.reduce(0) { $0 + $1.parameterCount } }
}
