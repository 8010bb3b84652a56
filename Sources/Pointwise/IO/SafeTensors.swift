import Foundation

/// A safetensors file (the format Hugging Face defined and PyTorch users exchange weights in):
/// an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data that
/// follows the header) plus an optional `"__metadata__"` of strings, then the raw
/// little-endian data.
///
/// The file is memory-mapped and the whole header validated on open: truncation, offsets
/// past the end, sizes that disagree with shape × dtype, overlapping ranges, unknown dtypes
/// and a header that is not JSON are thrown as `PointwiseError.file` naming the file and the
/// problem. F32 tensors are copied once from the mapping; F16, BF16 and F64 are converted to Float.
public final class SafeTensorsFile {
    /// Element types of the format; Pointwise loads the floating-point ones.
    public enum DType: String, Sendable, CaseIterable {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
        case bool = "BOOL", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

        public var byteCount: Int {
            switch self {
            case .f64, .i64, .u64: return 8
            case .f32, .i32, .u32: return 4
            case .f16, .bf16, .i16, .u16: return 2
            case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
            }
        }

        var isLoadable: Bool { [.f64, .f32, .f16, .bf16].contains(self) }
    }

    /// One tensor's header entry.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range within the data section.
        public let range: Range<Int>
    }

    /// The file's path (or, for bytes read from memory, the name they were given).
    public let path: String
    /// `__metadata__`, if present.
    public let metadata: [String: String]
    /// Entries by name.
    public let entries: [String: Entry]
    private let file: MappedFile
    private let dataStart: Int

    /// Names in the order of their data.
    public var names: [String] { entries.values.sorted { $0.range.lowerBound < $1.range.lowerBound }.map(\.name) }

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// A safetensors file held in memory (the bytes are copied); errors name it `name`.
    public convenience init(bytes: UnsafeRawBufferPointer, name: String) throws {
        try self.init(file: MappedFile(copying: bytes, name: name))
    }

    private init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        self.path = path
        let bytes = file.bytes
        func fail(_ problem: String) -> PointwiseError { .file(path: path, problem: problem) }

        guard bytes.count >= 8 else {
            throw fail("truncated: \(bytes.count) bytes, too short for the 8-byte header length")
        }
        let declared = bytes.loadUnaligned(as: UInt64.self).littleEndian
        guard declared <= UInt64(bytes.count - 8) else {
            throw fail("header length \(declared) bytes runs past the end of the file (\(bytes.count - 8) bytes follow the length field)")
        }
        let headerLength = Int(declared)
        dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart

        let headerBytes = Data(bytes[8..<dataStart])
        guard (try? JSONSerialization.jsonObject(with: headerBytes, options: [])) != nil else {
            throw fail("header is not valid JSON (\(headerLength) bytes at offset 8)")
        }
        guard let header = try? JSONDecoder().decode([String: HeaderField].self, from: headerBytes) else {
            throw fail("header is JSON but not an object")
        }

        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, field) in header {
            if name == "__metadata__" {
                guard case .metadata(let strings) = field else { throw fail("__metadata__ must map strings to strings") }
                metadata = strings
                continue
            }
            guard case let .tensor(dtypeName, shape, offsets) = field else {
                throw fail("tensor '\(name)': entry is not an object")
            }
            guard let dtypeName else { throw fail("tensor '\(name)': missing \"dtype\"") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)': unknown dtype '\(dtypeName)' (the format defines \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let shape, shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor '\(name)': \"shape\" must be a list of non-negative integers")
            }
            guard let offsets, offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw fail("tensor '\(name)': \"data_offsets\" must be [begin, end] with 0 ≤ begin ≤ end")
            }
            guard offsets[1] <= dataSize else {
                throw fail("tensor '\(name)': data_offsets [\(offsets[0]), \(offsets[1])] run past the end of the data (\(dataSize) bytes)")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (product, o) = acc.0.multipliedReportingOverflow(by: d)
                return (product, acc.1 || o)
            }
            let needed = count.multipliedReportingOverflow(by: dtype.byteCount)
            guard !overflow, !needed.overflow, needed.partialValue == offsets[1] - offsets[0] else {
                throw fail("tensor '\(name)': shape \(describe(shape)) of \(dtype.rawValue) needs \(overflow ? "too many" : String(needed.partialValue)) bytes, data_offsets span \(offsets[1] - offsets[0])")
            }
            entries[name] = Entry(name: name, dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        let ordered = entries.values.filter { !$0.range.isEmpty }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(ordered, ordered.dropFirst()) where a.range.overlaps(b.range) {
            throw fail("tensors '\(a.name)' [\(a.range.lowerBound), \(a.range.upperBound)) and '\(b.name)' [\(b.range.lowerBound), \(b.range.upperBound)) overlap")
        }
        self.metadata = metadata
        self.entries = entries
    }

    /// The named tensor as Float, in its stored (PyTorch) layout. A 0-d tensor comes back with shape [1].
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else {
            throw PointwiseError.file(path: path, problem: "no tensor named '\(name)'")
        }
        return try tensor(entry)
    }

    func tensor(_ entry: Entry) throws -> Tensor {
        guard entry.dtype.isLoadable else {
            throw PointwiseError.file(path: path, problem: "tensor '\(entry.name)' has dtype \(entry.dtype.rawValue); Pointwise loads F32, F16, BF16 and F64")
        }
        let shape = entry.shape.isEmpty ? [1] : entry.shape
        guard shape.allSatisfy({ $0 >= 1 }) else {
            throw PointwiseError.file(path: path, problem: "tensor '\(entry.name)' is empty (shape \(describe(entry.shape)))")
        }
        let count = shape.reduce(1, *)
        let source = UnsafeRawBufferPointer(rebasing: file.bytes[(dataStart + entry.range.lowerBound)..<(dataStart + entry.range.upperBound)])
        let scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            switch entry.dtype {
            case .f32:
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)  // little-endian host (x86-64, arm64)
            case .f16:
                for i in 0..<count { buffer[i] = HalfPrecision.float(fromHalf: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
            case .bf16:
                for i in 0..<count { buffer[i] = HalfPrecision.float(fromBFloat16: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
            case .f64:
                for i in 0..<count { buffer[i] = Float(Double(bitPattern: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)) }
            default:
                preconditionFailure("checked above")
            }
            initialized = count
        }
        return try Tensor(shape: shape, scalars: scalars)
    }

    /// Writes tensors as a safetensors file (F32), in the given order.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in tensors {
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + 4 * tensor.count]] as [String: Any]
            offset += 4 * tensor.count
        }
        var file = Data()
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for (_, tensor) in tensors { tensor.scalars.withUnsafeBytes { file.append(contentsOf: $0) } }
        try file.withUnsafeBytes { try writeFile(path, $0) }
    }
}

/// One value of the header: a tensor entry (fields decoded leniently, checked by the caller)
/// or the string-to-string `__metadata__`.
private enum HeaderField: Decodable {
    case tensor(dtype: String?, shape: [Int]?, offsets: [Int]?)
    case metadata([String: String])
    case other

    private enum Keys: String, CodingKey { case dtype, shape, data_offsets }

    init(from decoder: Decoder) throws {
        if let strings = try? decoder.singleValueContainer().decode([String: String].self) {
            self = .metadata(strings)
        } else if let fields = try? decoder.container(keyedBy: Keys.self) {
            self = .tensor(dtype: try? fields.decode(String.self, forKey: .dtype),
                           shape: try? fields.decode([Int].self, forKey: .shape),
                           offsets: try? fields.decode([Int].self, forKey: .data_offsets))
        } else {
            self = .other
        }
    }
}
