import Foundation

/// ONNX `TensorProto` → `TensorValue`: float32 and int64 data, from `raw_data` (little-endian),
/// the typed fields (`float_data`, `int64_data`), or an external data file next to the model
/// (`location`, `offset`, `length`; a location leaving the model's folder is refused).
/// Every size is checked against the dims before anything is read or allocated.
enum ONNXTensor {
    /// Reads `proto`, whose data may live in files of `directory` (the model's folder).
    /// `what` names the tensor in errors.
    static func value(_ proto: Onnx_TensorProto, directory: String?, what: String) throws -> TensorValue {
        func fail(_ problem: String) -> PointwiseError { .invalidGraph("\(what): \(problem)") }
        guard proto.dims.allSatisfy({ $0 >= 0 && $0 <= Int64(Tensor.maximumElementCount) }) else {
            throw fail("dims \(proto.dims) must be between 0 and 2^40")
        }
        let shape = proto.dims.map { Int($0) }
        let count: Int
        do { count = try Tensor.elementCount(of: shape) } catch { throw fail("dims \(describe(shape)): \(error)") }
        guard let type = Onnx_TensorProto.DataType(rawValue: Int(proto.dataType)) else {
            throw fail("unknown data type \(proto.dataType)")
        }
        let size: Int
        switch type {
        case .float: size = 4
        case .int64: size = 8
        default: throw fail("data type \(type) is not supported (float32 and int64 only)")
        }
        if proto.hasSegment { throw fail("segmented tensors are not supported") }
        var external: Data?
        if proto.dataLocation == .external {
            external = try externalData(proto, directory: directory, byteCount: count * size, what: what)
        }
        let raw = external ?? (proto.hasRawData ? proto.rawData : nil)
        if let raw {
            guard raw.count == count * size else {
                throw fail("raw_data holds \(raw.count) bytes; dims \(describe(shape)) of \(type) need \(count * size)")
            }
            return try raw.withUnsafeBytes { bytes -> TensorValue in
                if type == .float {
                    let scalars = (0..<count).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
                    return .float32(try Tensor(shape: shape, scalars: scalars))
                }
                let scalars = (0..<count).map { Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
                return .int64(try Int64Tensor(shape: shape, scalars: scalars))
            }
        }
        if type == .float {
            guard proto.floatData.count == count else {
                throw fail("float_data holds \(proto.floatData.count) values; dims \(describe(shape)) need \(count)")
            }
            return .float32(try Tensor(shape: shape, scalars: proto.floatData))
        }
        guard proto.int64Data.count == count else {
            throw fail("int64_data holds \(proto.int64Data.count) values; dims \(describe(shape)) need \(count)")
        }
        return .int64(try Int64Tensor(shape: shape, scalars: proto.int64Data))
    }

    /// The bytes of an externally stored tensor.
    private static func externalData(_ proto: Onnx_TensorProto, directory: String?, byteCount: Int, what: String) throws -> Data {
        func fail(_ problem: String) -> PointwiseError { .invalidGraph("\(what): external data: \(problem)") }
        var location: String?, offset = 0, length: Int?
        for entry in proto.externalData {
            switch entry.key {
            case "location": location = entry.value
            case "offset":
                guard let value = Int(entry.value), value >= 0 else { throw fail("offset '\(entry.value)' is not a non-negative integer") }
                offset = value
            case "length":
                guard let value = Int(entry.value), value >= 0 else { throw fail("length '\(entry.value)' is not a non-negative integer") }
                length = value
            case "checksum": break
            default: throw fail("unknown key '\(entry.key)'")
            }
        }
        guard let location, !location.isEmpty else { throw fail("no location") }
        guard let directory else { throw fail("'\(location)': the model was not loaded from a file, so there is no folder to read it from") }
        // Only files inside the model's folder: no absolute paths, no '..' components.
        let components = location.split(separator: "/", omittingEmptySubsequences: false)
        guard !location.hasPrefix("/"), !components.contains(".."), !location.contains("\\") else {
            throw fail("location '\(location)' leaves the model's folder")
        }
        let path = directory + "/" + location
        let file = try MappedFile(path: path)
        let bytes = length ?? (file.bytes.count - offset)
        guard bytes == byteCount else { throw fail("'\(location)' gives \(bytes) bytes; the dims need \(byteCount)") }
        guard offset <= file.bytes.count, bytes <= file.bytes.count - offset else {
            throw fail("'\(location)' has \(file.bytes.count) bytes; offset \(offset) + length \(bytes) runs past its end")
        }
        return Data(UnsafeRawBufferPointer(rebasing: file.bytes[offset..<(offset + bytes)]))
    }
}
