import Foundation
import FuzzSupport
import Pointwise

/// The ONNX importer on the fuzzer's bytes (no folder: external data is refused), and when a
/// graph comes out, compiled and run once on zero inputs of its declared shapes, within
/// `FuzzLimits`: a thrown error is fine, a trap, a crash or a leak is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let graph: Graph
    do {
        graph = try ONNXImporter.graph(from: Data(bytes: data, count: size), directory: nil, name: "fuzz")
    } catch {
        note("import error: \(error)")
        return 0
    }
    compileAndRun(graph)
    return 0
}
