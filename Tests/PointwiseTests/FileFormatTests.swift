import Foundation
import Testing
@testable import Pointwise

/// Where tests write their files: one directory per test process, removed when it exits (the
/// files of failing tests included), so runs leave nothing behind in the temporary directory.
let testDirectory: String = {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("pointwise-tests-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: testDirectory) }
    return path
}()

/// A fresh path in the tests' directory.
func temporaryPath(_ name: String) -> String {
    testDirectory + "/\(UUID().uuidString)-\(name)"
}

/// A safetensors file from a header (as text) and data bytes, written as-is, so tests can make broken ones.
func rawSafeTensors(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) throws -> String {
    var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(header.utf8.count)).littleEndian) { Array($0) }
    bytes += Array(header.utf8) + data
    let path = temporaryPath("raw.safetensors")
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

@Suite("safetensors")
struct SafeTensorsTests {
    @Test("write then read gives back names, shapes, values and metadata")
    func roundTrip() throws {
        let a = try Tensor(randomUniform: [2, 3, 1, 1], seed: 1)
        let b = try Tensor(randomUniform: [5], seed: 2)
        let path = temporaryPath("round.safetensors")
        try SafeTensorsFile.write([("conv.weight", a), ("conv.bias", b)], metadata: ["format": "pt"], to: path)
        let file = try SafeTensorsFile(path: path)
        #expect(file.names == ["conv.weight", "conv.bias"])
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.tensor("conv.weight") == a)
        #expect(try file.tensor("conv.bias") == b)
        expectError("no tensor named 'fc.weight'") { _ = try file.tensor("fc.weight") }
    }

    @Test("F16 and BF16 are converted exactly on load")
    func halfPrecision() throws {
        // 1.0, -2.0, 65504 (largest half), 2^-24 (smallest subnormal half), +inf
        let half: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00]
        let bfloat: [UInt16] = [0x3F80, 0xC000, 0x4049]  // 1.0, -2.0, 3.140625
        let data = half.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } + bfloat.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let header = #"{"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[10,16]}}"#
        let file = try SafeTensorsFile(path: rawSafeTensors(header: header, data: data))
        #expect(try file.tensor("h").scalars == [1, -2, 65504, 0x1p-24, .infinity])
        #expect(try file.tensor("b").scalars == [1, -2, 3.140625])
    }

    @Test("malformed files are errors naming the file and the problem")
    func malformed() throws {
        let f32 = [UInt8](repeating: 0, count: 24)
        let shortPath = temporaryPath("short.safetensors")
        try Data([1, 2, 3, 4, 5]).write(to: URL(fileURLWithPath: shortPath))
        expectError(shortPath, "truncated: 5 bytes") { _ = try SafeTensorsFile(path: shortPath) }

        let pastEnd = try rawSafeTensors(header: "{}", declaredLength: 1000)
        expectError(pastEnd, "header length 1000 bytes runs past the end of the file (2 bytes follow the length field)") {
            _ = try SafeTensorsFile(path: pastEnd)
        }
        let notJSON = try rawSafeTensors(header: "{\"a\": [1, 2")
        expectError(notJSON, "header is not valid JSON") { _ = try SafeTensorsFile(path: notJSON) }
        let notObject = try rawSafeTensors(header: "[1, 2, 3]")
        expectError("header is JSON but not an object") { _ = try SafeTensorsFile(path: notObject) }

        let unknown = try rawSafeTensors(header: #"{"w":{"dtype":"F17","shape":[6],"data_offsets":[0,24]}}"#, data: f32)
        expectError(unknown, "tensor 'w': unknown dtype 'F17'") { _ = try SafeTensorsFile(path: unknown) }

        let offsets = try rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}"#, data: f32)
        expectError("tensor 'w': data_offsets [0, 32] run past the end of the data (24 bytes)") { _ = try SafeTensorsFile(path: offsets) }

        let reversed = try rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, data: f32)
        expectError("tensor 'w': \"data_offsets\" must be [begin, end] with 0 ≤ begin ≤ end") { _ = try SafeTensorsFile(path: reversed) }

        let size = try rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}"#, data: f32)
        expectError("tensor 'w': shape [2, 3] of F32 needs 24 bytes, data_offsets span 20") { _ = try SafeTensorsFile(path: size) }

        let overlap = try rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#, data: f32)
        expectError("tensors 'a' [0, 16) and 'b' [8, 24) overlap") { _ = try SafeTensorsFile(path: overlap) }

        let badShape = try rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: f32)
        expectError("tensor 'w': \"shape\" must be a list of non-negative integers") { _ = try SafeTensorsFile(path: badShape) }

        let integers = try rawSafeTensors(header: #"{"n":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}}"#, data: f32)
        let file = try SafeTensorsFile(path: integers)
        expectError("tensor 'n' has dtype I64; Pointwise loads F32, F16, BF16 and F64") { _ = try file.tensor("n") }

        let missing = temporaryPath("absent.safetensors")
        expectError(missing, "cannot open: No such file or directory") { _ = try SafeTensorsFile(path: missing) }
    }
}

@Suite(".npy")
struct NumpyFileTests {
    @Test("write then read round-trips shape and values; the header is 64-byte aligned", arguments: [[7], [2, 3], [2, 3, 4, 5]])
    func roundTrip(shape: [Int]) throws {
        let tensor = try Tensor(randomUniform: shape, seed: 3)
        let path = temporaryPath("x.npy")
        try NumpyFile.write(tensor, to: path)
        #expect(try NumpyFile.read(path) == tensor)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect((bytes.count - 4 * tensor.count) % 64 == 0)
    }

    @Test("files NumPy wrote are read (the PyTorch fixtures' inputs)")
    func readsNumpyOutput() throws {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/mobilenet_v2_features.2/input", withExtension: "npy"))
        let x = try NumpyFile.read(url.path)
        #expect(x.shape == [2, 16, 9, 9])
        #expect(x.scalars.allSatisfy { $0 >= -1 && $0 < 1 } && Set(x.scalars).count > 2000)
    }

    @Test("malformed .npy files are errors naming the problem")
    func malformed() throws {
        func file(_ header: String, data: Int = 0, magic: [UInt8] = [0x93] + Array("NUMPY".utf8)) throws -> String {
            let text = header + "\n"
            var bytes = magic + [1, 0, UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)] + Array(text.utf8)
            bytes += [UInt8](repeating: 0, count: data)
            let path = temporaryPath("bad.npy")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        let magic = try file("{}", magic: Array("NOTNPY".utf8))
        expectError(magic, "not a .npy file") { _ = try NumpyFile.read(magic) }
        let int64 = try file("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", data: 16)
        expectError(int64, "holds int64 data; a float32 array is needed here") { _ = try NumpyFile.read(int64) }
        #expect(try NumpyFile.readValue(int64) == .int64(Int64Tensor([0, 0])))
        let complex = try file("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", data: 16)
        expectError("dtype '<c8' is not supported; save float32 ('<f4') or int64 ('<i8')") { _ = try NumpyFile.read(complex) }
        // A shape whose element count overflows is an error, not a trap (it was SIGILL).
        let huge = try file("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 3, 224), }", data: 16)
        expectError(huge, "element count of shape [4294967296, 4294967296, 3, 224]") { _ = try NumpyFile.read(huge) }
        let fortran = try file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data: 16)
        expectError("Fortran-order arrays are not supported") { _ = try NumpyFile.read(fortran) }
        let truncated = try file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data: 20)
        expectError("shape [2, 3] of <f4 needs 24 bytes of data, the file has 20") { _ = try NumpyFile.read(truncated) }
    }
}
