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
