import Foundation
import Testing
@testable import Pointwise

/// The importer on models built here with the generated protobuf types: opset differences,
/// attributes, external data, and every kind of bad file.
@Suite("ONNX import")
struct ONNXImportTests {
    static func tensor(_ name: String, _ dims: [Int64], floats: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.floatData = floats
        return t
    }

    static func valueInfo(_ name: String, _ dims: [Int64?], type: Onnx_TensorProto.DataType = .float) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(type.rawValue)
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dimension = Onnx_TensorShapeProto.Dimension()
            if let d { dimension.dimValue = d } else { dimension.dimParam = "N" }
            return dimension
        }
        tensorType.shape = shape
        info.type.tensorType = tensorType
        return info
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "", attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.name = name
        n.attribute = attributes
        return n
    }

    static func attribute(_ name: String, ints: [Int64]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = ints
        return a
    }

    static func attribute(_ name: String, int: Int64) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = int
        return a
    }

    static func attribute(_ name: String, string: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(string.utf8)
        return a
    }

    static func model(_ nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [String],
                      initializers: [Onnx_TensorProto] = [], opset: Int64 = 13) -> Onnx_ModelProto {
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var set = Onnx_OperatorSetIdProto()
        set.version = opset
        model.opsetImport = [set]
        var graph = Onnx_GraphProto()
        graph.name = "test"
        graph.node = nodes
        graph.input = inputs
        graph.initializer = initializers
        graph.output = outputs.map { valueInfo($0, []) }
        model.graph = graph
        return model
    }

    static func load(_ model: Onnx_ModelProto, directory: String? = nil) throws -> Graph {
        try ONNXImporter.graph(from: try model.serializedData(), directory: directory, name: "test")
    }

    @Test("a Conv with auto_pad SAME_UPPER and SAME_LOWER, checked against explicit pads")
    func autoPad() throws {
        let w = Self.tensor("w", [2, 3, 2, 2], floats: (0..<24).map { Float($0) / 24 - 0.5 })
        for (mode, pads) in [("SAME_UPPER", [0, 0, 1, 1] as [Int64]), ("SAME_LOWER", [1, 1, 0, 0])] {
            let auto = Self.model([Self.node("Conv", ["x", "w"], ["y"], attributes: [Self.attribute("auto_pad", string: mode)])],
                                  inputs: [Self.valueInfo("x", [nil, 3, 5, 6])], outputs: ["y"], initializers: [w])
            let explicit = Self.model([Self.node("Conv", ["x", "w"], ["y"], attributes: [Self.attribute("pads", ints: pads)])],
                                      inputs: [Self.valueInfo("x", [nil, 3, 5, 6])], outputs: ["y"], initializers: [w])
            let x = try Tensor(randomUniform: [2, 3, 5, 6], seed: 1)
            let a = try InferenceSession(Self.load(auto))(x), b = try InferenceSession(Self.load(explicit))(x)
            #expect(a.shape == [2, 2, 5, 6] && a == b, "\(mode)")
        }
    }

    @Test("opset differences: Clip's bounds as attributes (opset 6) and as inputs (opset 11); Softmax's 2-D coercion before 13")
    func opsets() throws {
        var low = Onnx_AttributeProto(); low.name = "min"; low.type = .float; low.f = -0.25
        var high = Onnx_AttributeProto(); high.name = "max"; high.type = .float; high.f = 0.5
        let old = Self.model([Self.node("Clip", ["x"], ["y"], attributes: [low, high])], inputs: [Self.valueInfo("x", [2, 3])], outputs: ["y"], opset: 6)
        let bounds = [Self.tensor("lo", [], floats: [-0.25]), Self.tensor("hi", [], floats: [0.5])]
        let new = Self.model([Self.node("Clip", ["x", "lo", "hi"], ["y"])], inputs: [Self.valueInfo("x", [2, 3])], outputs: ["y"],
                             initializers: bounds, opset: 11)
        let x = try Tensor(randomUniform: [2, 3], seed: 2)
        let expected = x.scalars.map { min(max($0, -0.25), 0.5) }
        #expect(try InferenceSession(Self.load(old))(x).scalars == expected)
        #expect(try InferenceSession(Self.load(new))(x).scalars == expected)

        // Softmax axis 1 on [2, 3, 4]: opset 11 normalises over 3·4 values per batch, opset 13 over 3 per (batch, position).
        let cube = try Tensor(randomUniform: [2, 3, 4], seed: 3)
        let softmax = { (opset: Int64) in Self.model([Self.node("Softmax", ["x"], ["y"], attributes: [Self.attribute("axis", int: 1)])],
                                                     inputs: [Self.valueInfo("x", [2, 3, 4])], outputs: ["y"], opset: opset) }
        let flat = try InferenceSession(Self.load(softmax(11)))(cube)
        let perAxis = try InferenceSession(Self.load(softmax(13)))(cube)
        let flatSum: Float = flat.scalars[0..<12].reduce(0, +)
        let axisSum: Float = perAxis.scalars[0] + perAxis.scalars[4] + perAxis.scalars[8]
        #expect(abs(flatSum - 1) < 1e-5)
        #expect(abs(axisSum - 1) < 1e-5)
    }

    @Test("unsupported nodes are listed together: name, op type, domain, attribute and value")
    func unsupportedList() throws {
        var foreign = Self.node("FusedConv", ["x"], ["a"], name: "fused")
        foreign.domain = "com.microsoft"
        let conv3d: Onnx_NodeProto = Self.node("Conv", ["a", "w"], ["b"], name: "conv3d", attributes: [Self.attribute("kernel_shape", ints: [1, 1, 1])])
        let poolAttributes: [Onnx_AttributeProto] = [Self.attribute("kernel_shape", ints: [2, 2]), Self.attribute("auto_pad", string: "SOMETIMES")]
        let pool: Onnx_NodeProto = Self.node("MaxPool", ["b"], ["c"], name: "pool", attributes: poolAttributes)
        let relu: Onnx_NodeProto = Self.node("Relu", ["c"], ["d"], name: "relu", attributes: [Self.attribute("fancy", int: 1)])
        let erf: Onnx_NodeProto = Self.node("Erf", ["d"], ["y"], name: "erf")
        let nodes: [Onnx_NodeProto] = [foreign, conv3d, pool, relu, erf]
        let bad = Self.model(nodes, inputs: [Self.valueInfo("x", [1, 1, 4, 4, 4])], outputs: ["y"],
                             initializers: [Self.tensor("w", [1, 1, 1, 1, 1], floats: [1])])
        expectError("5 unsupported nodes", "'fused' (FusedConv, domain com.microsoft", "'conv3d' (Conv", "a 3-D convolution",
                    "'pool' (MaxPool", "auto_pad = 'SOMETIMES'", "'relu' (Relu", "attribute fancy is not supported",
                    "'erf' (Erf", "the operator Erf is not supported") { _ = try Self.load(bad) }
    }

    @Test("bad files: truncated, not protobuf, huge or negative dims, raw_data of the wrong length, a float64 tensor")
    func badFiles() throws {
        let good = Self.model([Self.node("Relu", ["x"], ["y"])], inputs: [Self.valueInfo("x", [1, 4])], outputs: ["y"])
        let bytes = try good.serializedData()
        expectError("not an ONNX model") { _ = try ONNXImporter.graph(from: bytes.prefix(bytes.count - 7), directory: nil, name: "t") }
        expectError("not an ONNX model") { _ = try ONNXImporter.graph(from: Data("hello, world, this is not protobuf".utf8), directory: nil, name: "t") }
        expectError("the model has no graph") { _ = try ONNXImporter.graph(from: Data(), directory: nil, name: "t") }

        var huge = Self.tensor("w", [1 << 40, 1 << 40], floats: [])
        expectError("initializer 'w'", "dims") {
            _ = try Self.load(Self.model([Self.node("Add", ["x", "w"], ["y"])], inputs: [Self.valueInfo("x", [1, 4])], outputs: ["y"], initializers: [huge]))
        }
        huge.dims = [-3]
        expectError("initializer 'w'", "dims [-3]") {
            _ = try Self.load(Self.model([Self.node("Add", ["x", "w"], ["y"])], inputs: [Self.valueInfo("x", [1, 4])], outputs: ["y"], initializers: [huge]))
        }
        var raw = Self.tensor("w", [2, 3], floats: [])
        raw.rawData = Data(count: 20)
        expectError("initializer 'w'", "raw_data holds 20 bytes", "need 24") {
            _ = try Self.load(Self.model([Self.node("Add", ["x", "w"], ["y"])], inputs: [Self.valueInfo("x", [2, 3])], outputs: ["y"], initializers: [raw]))
        }
        var double = Self.tensor("w", [1], floats: [])
        double.dataType = Int32(Onnx_TensorProto.DataType.double.rawValue)
        expectError("initializer 'w'", "data type double is not supported") {
            _ = try Self.load(Self.model([Self.node("Add", ["x", "w"], ["y"])], inputs: [Self.valueInfo("x", [1])], outputs: ["y"], initializers: [double]))
        }
        // Through the file API the error names the file.
        let path = NSTemporaryDirectory() + "pointwise-truncated-\(getpid()).onnx"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        expectError(path, "not an ONNX model") { _ = try ONNXImporter.load(path) }
    }

    @Test("bad graphs: a cycle, an input nothing produces, two nodes writing the same output")
    func badGraphs() throws {
        let cycle = Self.model([Self.node("Relu", ["b"], ["a"], name: "first"), Self.node("Relu", ["a"], ["b"], name: "second")],
                               inputs: [Self.valueInfo("x", [1])], outputs: ["b"])
        expectError("cycle", "'first'", "'second'") { _ = try Self.load(cycle) }
        let dangling = Self.model([Self.node("Relu", ["nothing"], ["y"], name: "relu")], inputs: [Self.valueInfo("x", [1])], outputs: ["y"])
        expectError("node 'relu' (Relu) reads 'nothing', which no graph input, initializer or node produces") { _ = try Self.load(dangling) }
        let twice = Self.model([Self.node("Relu", ["x"], ["y"], name: "one"), Self.node("Sigmoid", ["x"], ["y"], name: "two")],
                               inputs: [Self.valueInfo("x", [1])], outputs: ["y"])
        expectError("nodes 'one' and 'two' both write 'y'") { _ = try Self.load(twice) }
    }

    @Test("external data: read from the model's folder with offset and length; a location leaving the folder is refused")
    func externalData() throws {
        let folder = NSTemporaryDirectory() + "pointwise-external-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let values: [Float] = [1, 2, 3, 4]
        var file = Data(count: 8)  // 8 bytes of something else first
        values.withUnsafeBytes { file.append(contentsOf: $0) }
        try file.write(to: URL(fileURLWithPath: folder + "/weights.bin"))
        func external(_ location: String) -> Onnx_TensorProto {
            var t = Onnx_TensorProto()
            t.name = "w"
            t.dims = [4]
            t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            t.dataLocation = .external
            t.externalData = [("location", location), ("offset", "8"), ("length", "16")].map {
                var entry = Onnx_StringStringEntryProto(); entry.key = $0.0; entry.value = $0.1; return entry
            }
            return t
        }
        let model = { (location: String) in
            Self.model([Self.node("Add", ["x", "w"], ["y"])], inputs: [Self.valueInfo("x", [4])], outputs: ["y"], initializers: [external(location)])
        }
        let y = try InferenceSession(Self.load(model("weights.bin"), directory: folder))(Tensor(zeros: [4]))
        #expect(y.scalars == values)
        expectError("location '../weights.bin' leaves the model's folder") { _ = try Self.load(model("../weights.bin"), directory: folder) }
        expectError("location '/etc/passwd' leaves the model's folder") { _ = try Self.load(model("/etc/passwd"), directory: folder) }
        expectError("cannot open") { _ = try Self.load(model("missing.bin"), directory: folder) }
    }

    @Test("a symbolic batch is bound from the input; a shape that cannot be planned says why")
    func symbolicBatch() throws {
        let w = Self.tensor("w", [4, 3], floats: (0..<12).map(Float.init))
        let model = Self.model([Self.node("MatMul", ["x", "w"], ["y"])], inputs: [Self.valueInfo("x", [nil, 4])], outputs: ["y"], initializers: [w])
        let session = try InferenceSession(Self.load(model))
        #expect(try session(Tensor(zeros: [5, 4])).shape == [5, 3])
        #expect(try session(Tensor(zeros: [1, 4])).shape == [1, 3])
        expectError("dimension 1 of input 'x'", "expected 4, got 5") { _ = try session(Tensor(zeros: [1, 5])) }
        // Reshape whose target shape is computed from float data at run time.
        let dynamic = Self.model([Self.node("Cast", ["x"], ["s"], attributes: [Self.attribute("to", int: 7)]),
                                  Self.node("Reshape", ["x", "s"], ["y"], name: "reshape")],
                                 inputs: [Self.valueInfo("x", [2])], outputs: ["y"])
        expectError("node 'reshape' (Reshape)", "shape input is not known when the model is planned") {
            _ = try InferenceSession(Self.load(dynamic))(Tensor(zeros: [2]))
        }
    }
}
