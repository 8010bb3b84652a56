import Synchronization

/// Records the `cblas_sgemm` calls made inside a closure, on the current task.
///
/// ```swift
/// let (y, calls) = try GEMMTrace.record { try conv(x) }
/// // calls == [sgemm M=784 N=16 K=256 lda=256 ldb=16 ldc=16]
/// ```
/// Recording is scoped by a task-local value, so tests running in parallel do
/// not see each other's calls. Cost when not recording: one task-local read per GEMM.
public final class GEMMTrace: Sendable {
    @TaskLocal static var current: GEMMTrace?

    private let calls = Mutex<[GEMMCall]>([])

    func append(_ call: GEMMCall) { calls.withLock { $0.append(call) } }

    /// Runs `body` and returns its result with the GEMM calls it made, in order.
    public static func record<R>(_ body: () throws -> R) rethrows -> (result: R, calls: [GEMMCall]) {
        let trace = GEMMTrace()
        let result = try $current.withValue(trace) { try body() }
        return (result, trace.calls.withLock { $0 })
    }
}
