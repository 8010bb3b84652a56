import Testing
@testable import Pointwise

/// Runs `body`, expecting a `PointwiseError` whose message contains every fragment.
func expectError(_ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error containing \(fragments), got none", sourceLocation: sourceLocation)
    } catch let error as PointwiseError {
        for fragment in fragments {
            #expect(error.description.contains(fragment), "message «\(error.description)» lacks «\(fragment)»",
                    sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected PointwiseError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Tolerance for Float32 paths against the Double reference, as normalised error
/// max|y − ref| / max|ref|. Basis: SGEMM accumulates K products in Float32; the
/// worst-case bound is K·2⁻²⁴ relative to Σ|x·w| (≈ 7e-5 at K = 1152, our largest K
/// in these tests), the typical error √K·2⁻²⁴ ≈ 2e-6. 1e-4 leaves the worst case
/// room and still catches any indexing error (which gives O(1)).
let float32Tolerance = 1e-4

/// The GEMM calls `body` makes with layers limited to `threads` threads (default 1, where
/// each layer's calls are fixed: the tests below assert them exactly).
func recordGEMMs<R>(threads: Int = 1, _ body: () throws -> R) throws -> (result: R, calls: [GEMMCall]) {
    try ThreadPool.$limit.withValue(threads) { try GEMMTrace.record(body) }
}

/// Makes sure the thread pool has at least two threads, so that tests of the two-thread split
/// really run it (on a one-core machine the threads just take turns). The pool only grows, so
/// other tests running at the same time are unaffected, and each limits itself with `ThreadPool.limit`.
func ensureTwoThreads() {
    if ThreadPool.size < 2 { _ = ThreadPool.resize(2) }
}

/// A kernel wrote past the workspace it asked for.
struct WorkspaceOverrun: Error, CustomStringConvertible {
    let workspaceBytes: Int
    var description: String { "the kernel wrote past its \(workspaceBytes)-byte workspace" }
}

/// Runs one kernel on the given operand memory (slot i → pointers[i]) with a fresh workspace,
/// followed by 256 guard bytes that must come back untouched.
func runKernel(_ kernel: any Kernel, _ pointers: [UnsafeMutableRawPointer?], isa: KernelISA = .current) throws {
    let table = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: pointers.count)
    defer { table.deallocate() }
    for (i, p) in pointers.enumerated() { table[i] = p }
    let (size, guardBytes) = (max(kernel.workspaceBytes, 64), 256)
    let workspace = UnsafeMutableRawPointer.allocate(byteCount: size + guardBytes, alignment: 64)
    defer { workspace.deallocate() }
    let tail = (workspace + size).initializeMemory(as: UInt8.self, repeating: 0xA5, count: guardBytes)
    kernel.run(Frame(pointers: table, workspace: workspace, isa: isa))
    if (0..<guardBytes).contains(where: { tail[$0] != 0xA5 }) { throw WorkspaceOverrun(workspaceBytes: kernel.workspaceBytes) }
}

/// Every kind of activation, with parameters where it has them (ONNX defaults where they exist).
let testActivations: [Activation] = [.identity, .relu, .relu6, .clip(min: -0.5, max: 2), .leakyRelu(alpha: 0.1), .sigmoid,
                                     .hardSigmoid(alpha: 0.2, beta: 0.5), .hardSwish]
