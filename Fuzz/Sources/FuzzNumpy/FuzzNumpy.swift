import Pointwise

/// The .npy reader on the fuzzer's bytes, as if they were a file's: a thrown error is fine,
/// a trap or a crash is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let value = try? NumpyFile.readValue(bytes: bytes, name: "fuzz.npy") else { return 0 }
    // What was read holds exactly its shape's elements.
    precondition(value.count == value.shape.reduce(1, *))
    if case .float32(let tensor) = value {
        precondition((try? NumpyFile.read(bytes: bytes, name: "fuzz.npy")) == tensor || tensor.scalars.contains { $0.isNaN })
    }
    return 0
}
