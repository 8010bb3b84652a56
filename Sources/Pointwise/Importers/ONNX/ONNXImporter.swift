import Foundation

/// Imports an ONNX model (`.onnx`, a protobuf `ModelProto`) into a `Graph`: initializers (raw,
/// typed or external data), inputs with their declared shapes (a `dim_param` becomes a symbolic
/// dimension bound when the model runs), and every node of the ai.onnx domain, opsets 1 to 25,
/// translated into `Operator`s with the semantics of its opset.
///
/// Everything the engine does not support is collected and thrown as one error listing every
/// such node: its name, op type, domain and the attribute or value at fault. Nothing is ignored
/// silently: an attribute no translation reads is an error too.
public enum ONNXImporter {
    /// The opsets of the ai.onnx domain whose semantics the importer knows.
    public static let supportedOpsets = 1...25

    /// Loads the model at `path` (external data files are read from its folder).
    public static func load(_ path: String) throws -> Graph {
        let file = try MappedFile(path: path)
        let data = file.bytes.isEmpty ? Data() : Data(bytes: file.bytes.baseAddress!, count: file.bytes.count)
        let directory = (path as NSString).deletingLastPathComponent
        do {
            return try graph(from: data, directory: directory.isEmpty ? "." : directory,
                             name: ((path as NSString).lastPathComponent as NSString).deletingPathExtension)
        } catch let error as PointwiseError {
            if case .file = error { throw error }
            throw PointwiseError.file(path: path, problem: "\(error)")
        }
    }

    /// Imports a serialized `ModelProto`. `directory` is where external data files are (nil: none allowed).
    public static func graph(from data: Data, directory: String?, name: String) throws -> Graph {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw PointwiseError.invalidGraph("not an ONNX model (protobuf decoding failed: \(error); \(data.count) bytes)")
        }
        guard model.hasGraph else { throw PointwiseError.invalidGraph("the model has no graph (\(data.count) bytes: truncated, or not an ONNX file)") }
        let imports = model.opsetImport.filter { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        // IR version 3 and later must list opsets; older files mean opset 1.
        let opset = imports.map { Int(clamping: $0.version) }.max() ?? (model.irVersion < 3 ? 1 : 0)
        guard supportedOpsets.contains(opset) else {
            throw PointwiseError.invalidGraph("ai.onnx opset \(opset) is not supported (supported: \(supportedOpsets.lowerBound)...\(supportedOpsets.upperBound))")
        }
        var importer = GraphImport(name: model.graph.name.isEmpty ? name : model.graph.name, opset: opset, directory: directory)
        try importer.run(model.graph)
        return importer.graph
    }
}

/// The state of one import: the graph being built, names to values, and the problems found.
struct GraphImport {
    var graph: Graph
    let opset: Int
    let directory: String?
    var values: [String: ValueID] = [:]
    var problems: [String] = []
    /// Optional node outputs the engine does not compute: (name, node, what); an error if anything reads one.
    var optionalOutputs: [(String, String, String)] = []
    private var nodeNames: Set<String> = []

    init(name: String, opset: Int, directory: String?) {
        graph = Graph(name: name)
        self.opset = opset
        self.directory = directory
    }

    /// The value named `name`, made on first mention.
    mutating func value(_ name: String) -> ValueID {
        if let id = values[name] { return id }
        let id = graph.addValue(name)
        values[name] = id
        return id
    }

    /// A new initializer with a name no value has.
    mutating func constant(_ base: String, _ data: TensorValue) -> ValueID {
        var name = base, index = 1
        while values[name] != nil { name = "\(base)_\(index)"; index += 1 }
        let id = graph.addInitializer(name, data)
        values[name] = id
        return id
    }

    /// A new value with a name no value has (for nodes the importer adds).
    mutating func fresh(_ base: String, dataType: DataType = .float32) -> ValueID {
        var name = base, index = 1
        while values[name] != nil { name = "\(base)_\(index)"; index += 1 }
        let id = graph.addValue(name, dataType: dataType)
        values[name] = id
        return id
    }

    mutating func emit(_ name: String, _ op: Operator, _ inputs: [ValueID?], _ outputs: [ValueID], parameterCount: Int = 0) {
        var unique = name, index = 1
        while nodeNames.contains(unique) { unique = "\(name)_\(index)"; index += 1 }
        nodeNames.insert(unique)
        graph.nodes.append(Node(name: unique, op: op, inputs: inputs, outputs: outputs, parameterCount: parameterCount))
    }

    mutating func run(_ proto: Onnx_GraphProto) throws {
        for tensor in proto.initializer {
            guard values[tensor.name] == nil else {
                throw PointwiseError.invalidGraph("initializer '\(tensor.name)' is defined twice")
            }
            let data = try ONNXTensor.value(tensor, directory: directory, what: "initializer '\(tensor.name)'")
            values[tensor.name] = graph.addInitializer(tensor.name, data)
        }
        if !proto.sparseInitializer.isEmpty {
            problems.append("graph: \(proto.sparseInitializer.count) sparse initializers (sparse tensors are not supported)")
        }
        for info in proto.input where graph.initializers[values[info.name] ?? ValueID(-1)] == nil {
            try declareInput(info)
        }
        for (index, node) in proto.node.enumerated() { translate(node, index: index) }
        let read = Set(proto.node.flatMap(\.input)).union(proto.output.map(\.name))
        for (name, node, what) in optionalOutputs where read.contains(name) {
            problems.append("\(node): output '\(name)' (\(what)) is read by the graph, and the engine does not compute it")
        }
        if !problems.isEmpty { throw PointwiseError.unsupportedNodes(problems) }
        for output in proto.output {
            guard let id = values[output.name] else {
                throw PointwiseError.invalidGraph("graph output '\(output.name)' is not produced by any node, input or initializer")
            }
            graph.outputs.append(GraphOutput(value: id, layout: .natural))
        }
        if !problems.isEmpty { throw PointwiseError.unsupportedNodes(problems) }
        try graph.sortTopologically()
        try graph.validate()
    }

    /// A graph input from its `ValueInfoProto`: float32 or int64, with a shape of numbers and names.
    private mutating func declareInput(_ info: Onnx_ValueInfoProto) throws {
        guard values[info.name] == nil else { throw PointwiseError.invalidGraph("input '\(info.name)' is declared twice") }
        guard case .tensorType(let type)? = info.type.value else {
            problems.append("input '\(info.name)': not a tensor (sequences, maps and optionals are not supported)")
            return
        }
        let dataType: DataType
        switch Onnx_TensorProto.DataType(rawValue: Int(type.elemType)) {
        case .float?: dataType = .float32
        case .int64?: dataType = .int64
        case let other: 
            problems.append("input '\(info.name)': data type \(other.map { "\($0)" } ?? "\(type.elemType)") is not supported (float32 and int64 only)")
            return
        }
        guard type.hasShape else {
            problems.append("input '\(info.name)': no shape declared (its rank is needed to plan the model)")
            return
        }
        var dimensions: [Dimension] = []
        for (axis, dimension) in type.shape.dim.enumerated() {
            switch dimension.value {
            case .dimValue(let extent)?:
                guard extent >= 0, extent <= Int64(Tensor.maximumElementCount) else {
                    throw PointwiseError.invalidGraph("input '\(info.name)': dimension \(axis) is \(extent)")
                }
                dimensions.append(.fixed(Int(extent)))
            case .dimParam(let name)? where !name.isEmpty:
                dimensions.append(.symbolic(name))
            default:
                dimensions.append(.symbolic("\(info.name):\(axis)"))  // unknown: bound by the data
            }
        }
        let id = graph.addValue(info.name, dataType: dataType,
                                shape: dimensions.allSatisfy { if case .fixed = $0 { return true }; return false }
                                    ? dimensions.map { if case .fixed(let n) = $0 { return n }; return 0 } : nil)
        values[info.name] = id
        graph.inputs.append(GraphInput(value: id, shape: dimensions, layout: .natural))
    }

    /// The declared rank of a value, where the model tells it (graph inputs, initializers).
    func knownRank(_ id: ValueID?) -> Int? {
        guard let id else { return nil }
        if let data = graph.initializers[id] { return data.shape.count }
        return graph.inputs.first { $0.value == id }?.shape.count
    }
}
