import Foundation

/// A node's attributes, read by name with their types checked. Every attribute must be read by
/// the operator's importer: one left over is reported as unsupported (never silently ignored).
struct ONNXAttributes {
    private var attributes: [String: Onnx_AttributeProto] = [:]
    private var read: Set<String> = []
    private(set) var problems: [String] = []
    let directory: String?
    let nodeName: String

    init(_ node: Onnx_NodeProto, name: String, directory: String?) {
        for attribute in node.attribute { attributes[attribute.name] = attribute }
        self.directory = directory
        self.nodeName = name
    }

    func has(_ name: String) -> Bool { attributes[name] != nil }

    private mutating func take(_ name: String, _ type: Onnx_AttributeProto.AttributeType) -> Onnx_AttributeProto? {
        guard let attribute = attributes[name] else { return nil }
        read.insert(name)
        // Old models may leave `type` unset; the field that is filled in tells.
        if attribute.type != .undefined && attribute.type != type {
            problems.append("attribute \(name) has type \(attribute.type), expected \(type)")
            return nil
        }
        if attribute.type == .undefined {
            let filled = Self.filledTypes(attribute)
            guard filled.isEmpty || filled.contains(type) else {
                problems.append("attribute \(name) holds \(filled.map { "\($0)" }.sorted().joined(separator: " and ")), expected \(type)")
                return nil
            }
        }
        return attribute
    }

    /// The types of the fields an attribute fills in (what an untyped attribute holds).
    private static func filledTypes(_ a: Onnx_AttributeProto) -> [Onnx_AttributeProto.AttributeType] {
        let fields: [(Bool, Onnx_AttributeProto.AttributeType)] = [
            (a.hasF, .float), (a.hasI, .int), (a.hasS, .string), (a.hasT, .tensor), (a.hasG, .graph),
            (!a.floats.isEmpty, .floats), (!a.ints.isEmpty, .ints), (!a.strings.isEmpty, .strings),
            (!a.tensors.isEmpty, .tensors), (!a.graphs.isEmpty, .graphs),
        ]
        return fields.filter(\.0).map(\.1)
    }

    mutating func int(_ name: String) -> Int? {
        guard let attribute = take(name, .int) else { return nil }
        guard attribute.i >= Int64(Int32.min) && attribute.i <= Int64(Int32.max) else {
            problems.append("attribute \(name) = \(attribute.i) is out of range")
            return nil
        }
        return Int(attribute.i)
    }

    mutating func int(_ name: String, default value: Int) -> Int { int(name) ?? value }

    mutating func ints(_ name: String) -> [Int]? {
        guard let attribute = take(name, .ints) else { return nil }
        guard attribute.ints.allSatisfy({ $0 >= Int64(Int32.min) && $0 <= Int64(Int32.max) }) else {
            problems.append("attribute \(name) = \(attribute.ints) has a value out of range")
            return nil
        }
        return attribute.ints.map { Int($0) }
    }

    /// An int64 attribute in its whole range (Constant's `value_int`).
    mutating func long(_ name: String) -> Int? {
        take(name, .int).map { Int(truncatingIfNeeded: $0.i) }
    }

    /// int64 lists that may hold the ±2⁶³ sentinels (Slice's ends), clamped to Int.
    mutating func longs(_ name: String) -> [Int]? {
        take(name, .ints).map { $0.ints.map { Int(truncatingIfNeeded: $0) } }
    }

    mutating func float(_ name: String) -> Float? { take(name, .float)?.f }

    mutating func float(_ name: String, default value: Float) -> Float { float(name) ?? value }

    mutating func floats(_ name: String) -> [Float]? { take(name, .floats)?.floats }

    mutating func string(_ name: String) -> String? {
        take(name, .string).map { String(decoding: $0.s, as: UTF8.self) }
    }

    mutating func tensor(_ name: String) -> TensorValue? {
        guard let attribute = take(name, .tensor) else { return nil }
        do {
            return try ONNXTensor.value(attribute.t, directory: directory, what: "attribute \(name)")
        } catch {
            problems.append("\(error)")
            return nil
        }
    }

    /// Marks an attribute as handled without reading it (training-only ones such as `momentum`).
    mutating func ignore(_ name: String) { read.insert(name) }

    /// Records a problem with this node.
    mutating func unsupported(_ problem: String) { problems.append(problem) }

    /// Attributes nobody read.
    var unread: [String] { attributes.keys.filter { !read.contains($0) }.sorted() }
}
