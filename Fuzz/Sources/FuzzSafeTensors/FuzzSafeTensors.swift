import Pointwise

/// The safetensors reader on the fuzzer's bytes, as if they were a file's, then every tensor
/// the header lists loaded: a thrown error is fine, a trap or a crash is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let file = try? SafeTensorsFile(bytes: bytes, name: "fuzz.safetensors") else { return 0 }
    for name in file.names {
        if let tensor = try? file.tensor(name) {
            precondition(tensor.count == tensor.shape.reduce(1, *))
        }
    }
    _ = try? file.tensor("no such tensor")
    return 0
}
