import Foundation

/// NumPy's `.npy` format for float32 arrays in C order, as `numpy.save` writes them:
/// the magic `\x93NUMPY`, a version (1.0, 2.0 or 3.0), a header length (2 bytes in 1.0,
/// 4 bytes after), a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
/// padded so the data starts on a 64-byte boundary, then the raw data.
///
/// PyTorch and NumPy hand images over in NCHW: convert with `Tensor(nchw:)` / `nchw()`.
public enum NumpyFile {
    /// Reads a float32 (`<f4`, also `<f2` and `<f8`, converted) C-order array.
    public static func read(_ path: String) throws -> Tensor {
        let file = try MappedFile(path: path)
        return try withExtendedLifetime(file) { try read(bytes: file.bytes, name: path) }
    }

    /// Reads a float (`<f4`, `<f2`, `<f8`, as float32) or integer (`<i8`, `<i4`, as int64) C-order array.
    public static func readValue(_ path: String) throws -> TensorValue {
        let file = try MappedFile(path: path)
        return try withExtendedLifetime(file) { try readValue(bytes: file.bytes, name: path) }
    }

    /// `read(_:)` on the bytes of a `.npy` file held in memory; errors name the file `name`.
    public static func read(bytes: UnsafeRawBufferPointer, name: String) throws -> Tensor {
        guard case .float32(let tensor) = try readValue(bytes: bytes, name: name) else {
            throw PointwiseError.file(path: name, problem: "holds int64 data; a float32 array is needed here")
        }
        return tensor
    }

    /// `readValue(_:)` on the bytes of a `.npy` file held in memory; errors name the file `name`.
    /// The bytes are only read during the call.
    public static func readValue(bytes: UnsafeRawBufferPointer, name path: String) throws -> TensorValue {
        func fail(_ problem: String) -> PointwiseError { .file(path: path, problem: problem) }
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail("not a .npy file (no \\x93NUMPY magic)") }
        let major = bytes[6]
        let (lengthSize, headerStart): (Int, Int) = switch major {
        case 1: (2, 10)
        case 2, 3: (4, 12)
        default: (0, 0)
        }
        guard lengthSize > 0 else { throw fail("unsupported .npy version \(major).\(bytes[7])") }
        guard bytes.count >= headerStart else { throw fail("truncated in the header length") }
        let headerLength = lengthSize == 2 ? Int(bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self).littleEndian)
                                           : Int(bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
        guard headerStart + headerLength <= bytes.count else {
            throw fail("header of \(headerLength) bytes runs past the end of the file (\(bytes.count) bytes)")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = value(of: "descr", in: header)?.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) else { throw fail("header has no 'descr': \(header)") }
        let elementSize: Int
        var isInteger = false
        switch descr {
        case "<f4", "|f4": elementSize = 4
        case "<f2": elementSize = 2
        case "<f8": elementSize = 8
        case "<i8": (elementSize, isInteger) = (8, true)
        case "<i4": (elementSize, isInteger) = (4, true)
        default: throw fail("dtype '\(descr)' is not supported; save float32 ('<f4') or int64 ('<i8'), e.g. array.astype(np.float32)")
        }
        guard let order = value(of: "fortran_order", in: header) else { throw fail("header has no 'fortran_order'") }
        guard order == "False" else { throw fail("Fortran-order arrays are not supported; save np.ascontiguousarray(array)") }
        guard let shapeText = value(of: "shape", in: header), let shape = parseShape(shapeText) else {
            throw fail("header has no readable 'shape': \(header)")
        }
        let tensorShape = shape
        let count: Int
        do { count = try Tensor.elementCount(of: tensorShape) } catch { throw fail("shape \(describe(shape)): \(error)") }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == count * elementSize else {
            throw fail("shape \(describe(shape)) of \(descr) needs \(count * elementSize) bytes of data, the file has \(bytes.count - dataStart)")
        }
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])
        if isInteger {
            let integers = (0..<count).map { i -> Int64 in
                elementSize == 8 ? Int64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                                 : Int64(Int32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            }
            return .int64(try Int64Tensor(shape: tensorShape, scalars: integers))
        }
        let scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            switch elementSize {
            case 4: UnsafeMutableRawBufferPointer(buffer).copyMemory(from: data)
            case 2: for i in 0..<count { buffer[i] = HalfPrecision.float(fromHalf: data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
            default: for i in 0..<count { buffer[i] = Float(Double(bitPattern: data.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)) }
            }
            initialized = count
        }
        return .float32(try Tensor(shape: tensorShape, scalars: scalars))
    }

    /// Writes `tensor` as float32, C order, in its own shape (convert with `nchw()` first for PyTorch).
    public static func write(_ tensor: Tensor, to path: String) throws {
        try tensor.scalars.withUnsafeBytes { try write(descr: "<f4", shape: tensor.shape, data: $0, to: path) }
    }

    /// Writes a float32 or int64 value.
    public static func write(_ value: TensorValue, to path: String) throws {
        switch value {
        case .float32(let tensor): try write(tensor, to: path)
        case .int64(let tensor): try tensor.scalars.withUnsafeBytes { try write(descr: "<i8", shape: tensor.shape, data: $0, to: path) }
        }
    }

    private static func write(descr: String, shape: [Int], data: UnsafeRawBufferPointer, to path: String) throws {
        let tensor = (shape: shape, rank: shape.count)
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': ("
            + tensor.shape.map(String.init).joined(separator: ", ") + (tensor.rank == 1 ? ",), }" : "), }")
        // Version 1.0: 10 bytes of preamble; pad with spaces and a newline to a multiple of 64.
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        bytes += [UInt8(length & 0xFF), UInt8(length >> 8)]
        bytes += Array(header.utf8)
        bytes += data
        try bytes.withUnsafeBytes { try writeFile(path, $0) }
    }

    /// The text after `'key':` up to the next top-level comma or the closing brace.
    private static func value(of key: String, in header: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)':") else { return nil }
        var depth = 0
        var result = ""
        for character in header[keyRange.upperBound...] {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if depth == 0 && (character == "," || character == "}") { break }
            result.append(character)
        }
        return result.trimmingCharacters(in: .whitespaces)
    }

    /// "(2, 3, 224, 224)", "(5,)" or "()" → [Int].
    private static func parseShape(_ text: String) -> [Int]? {
        guard text.first == "(", text.last == ")" else { return nil }
        let inner = text.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let values = inner.compactMap { Int($0) }
        return values.count == inner.count ? values : nil
    }
}

