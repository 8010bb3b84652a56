import Foundation
import Pointwise

/// How many times things run: stated in the report.
enum BenchRepetitions {
    static let warmup = 2
    static let minimumTime = 0.25
    static let minimumRuns = 5
    static let maximumRuns = 200
    static let naiveRuns = 3
    static let naiveTimeBudget = 1.0
    /// OpenBLAS 0.3.21's idle threads spin for about 2^28 cycles (~0.1 s) before they sleep;
    /// measuring the engine while they spin would charge it for their cycles.
    static let idlePause = 0.2
    static let description = (engine: "after a \(idlePause) s pause (OpenBLAS's worker threads, busy after a multithreaded bare SGEMM, go back to sleep) and \(warmup) warm-up runs: repeated until \(minimumTime) s and at least \(minimumRuns) runs, at most \(maximumRuns); then the bare SGEMM the same way",
                              naive: "1 run, up to \(naiveRuns) while under \(naiveTimeBudget) s in all; measured once, at the first thread count (single-threaded Swift loop)",
                              bareSGEMM: "as the engine")

    /// Times the engine, then its bare SGEMM (if any), each with `time`, the engine after
    /// `idlePause` so that OpenBLAS threads left spinning by an earlier bare SGEMM are asleep.
    static func timeEngineThenBare(_ engine: () throws -> Void, _ bare: (() throws -> Void)?) throws -> (Timings, Timings?) {
        usleep(useconds_t(idlePause * 1e6))
        let engineTimings = try time(engine)
        return (engineTimings, try bare.map { try time($0) })
    }

    /// Warm-up, then runs until both the time and the run-count minimums are met.
    static func time(_ body: () throws -> Void) rethrows -> Timings {
        for _ in 0..<warmup { try body() }
        var samples: [Double] = []
        var total = 0.0
        while samples.count < maximumRuns && (total < minimumTime || samples.count < minimumRuns) {
            let start = Timings.now()
            try body()
            let elapsed = Timings.now() - start
            samples.append(elapsed)
            total += elapsed
        }
        return Timings(samples: samples)
    }
}

/// One measured row.
struct BenchRow: Codable {
    var name: String
    var kind: BenchCase.Kind
    var batch: Int
    var flops: Double
    var gemm: String
    var gemm_calls: Int
    var naive_median_s: Double?
    var naive_reps: Int
    var naive_skipped: String?
    var engine_median_s: Double
    var engine_min_s: Double
    var engine_reps: Int
    var bare_sgemm_median_s: Double?
    var engine_over_bare: Double?
    /// The same ratio from the fastest runs, less sensitive to interference on a shared machine.
    var engine_over_bare_min: Double?
    var speedup: Double?
    var gflops: Double
    var peak_share: Double
    var max_error: Double?
}

/// The naive result of a case, measured once and reused for every thread count.
struct NaiveResult {
    let median: Double
    let runs: Int
    let output: Tensor
}

enum BenchMeasurement {
    /// SGEMM M=N=K=2048 (17.2 GFLOP) with OpenBLAS on `threads` threads: the machine's practical peak, best of 3.
    static func peakGFLOPS(threads: Int) throws -> (gflops: Double, shape: String) {
        try BLASRuntime.shared.setOpenBLASThreadCount(threads)
        defer { try? BLASRuntime.shared.setOpenBLASThreadCount(1) }
        let size = 2048
        let a = try Tensor(randomUniform: [size * size], seed: 1).scalars
        let b = try Tensor(randomUniform: [size * size], seed: 2).scalars
        var c = [Float](repeating: 0, count: size * size)
        var best = Double.infinity
        for run in 0..<4 {
            let start = Timings.now()
            try a.withUnsafeBufferPointer { a in try b.withUnsafeBufferPointer { b in try c.withUnsafeMutableBufferPointer { c in
                try GEMM.multiply(m: size, n: size, k: size, a: a.baseAddress!, lda: size, b: b.baseAddress!, ldb: size,
                                  c: c.baseAddress!, ldc: size)
            } } }
            if run > 0 { best = min(best, Timings.now() - start) }  // the first run is a warm-up
        }
        return (2 * Double(size * size) * Double(size) / best / 1e9, "\(size)x\(size)x\(size)")
    }

    /// Times exactly the recorded GEMM calls (same M, N, K, leading dimensions, transposes and beta)
    /// on private buffers, back to back, with OpenBLAS on as many threads as the engine uses: the
    /// ceiling a lowering onto these GEMMs can reach. The engine's calls are recorded on one thread,
    /// so they are the whole-layer GEMMs, not the per-thread blocks.
    static func bareSGEMM(_ calls: [GEMMCall]) throws -> Timings? {
        try withBareSGEMM(calls) { bare in try bare.map { try BenchRepetitions.time($0) } }
    }

    /// Calls `body` with a closure that runs the recorded GEMM calls on private buffers (nil if none).
    static func withBareSGEMM<R>(_ calls: [GEMMCall], _ body: ((() throws -> Void)?) throws -> R) throws -> R {
        guard !calls.isEmpty else { return try body(nil) }
        // An implicit GEMM's A rows overlap (lda < K: a convolution's input read in place); its bare
        // SGEMM is the one on an explicit M×K A, as im2col would have built it.
        let calls = calls.map { call in
            var dense = call
            dense.lda = max(call.lda, call.transposeA ? call.m : call.k)
            dense.segments = 1
            return dense
        }
        func extent(rows: Int, columns: Int, leading: Int) -> Int { (rows - 1) * leading + columns }
        let aCount = calls.map { $0.transposeA ? extent(rows: $0.k, columns: $0.m, leading: $0.lda) : extent(rows: $0.m, columns: $0.k, leading: $0.lda) }.max()!
        let bCount = calls.map { $0.transposeB ? extent(rows: $0.n, columns: $0.k, leading: $0.ldb) : extent(rows: $0.k, columns: $0.n, leading: $0.ldb) }.max()!
        let cCount = calls.map { extent(rows: $0.m, columns: $0.n, leading: $0.ldc) }.max()!
        let a = try Tensor(randomUniform: [aCount], seed: 4).scalars
        let b = try Tensor(randomUniform: [bCount], seed: 5).scalars
        var c = [Float](repeating: 0, count: cCount)
        return try a.withUnsafeBufferPointer { a in
            try b.withUnsafeBufferPointer { b in
                try c.withUnsafeMutableBufferPointer { c in
                    let (pa, pb, pc) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
                    let threads = BLASRuntime.shared.threadCount
                    return try body {
                        try BLASRuntime.shared.setOpenBLASThreadCount(threads)
                        defer { try? BLASRuntime.shared.setOpenBLASThreadCount(1) }
                        for call in calls {
                            try GEMM.multiply(m: call.m, n: call.n, k: call.k, a: pa, lda: call.lda, transposeA: call.transposeA,
                                              b: pb, ldb: call.ldb, transposeB: call.transposeB,
                                              c: pc, ldc: call.ldc, alpha: call.alpha, beta: call.beta)
                        }
                    }
                }
            }
        }
    }

    /// Runs the naive kernel path: once, then up to `naiveRuns` while the total stays under the budget.
    static func naive(_ layer: Layer, _ x: Tensor, outputShape: [Int]) throws -> NaiveResult {
        // The same graph and passes, convolutions and GEMMs as direct Double-accumulating loops.
        let session = try InferenceSession(layer.graph(inputRank: x.rank), options: CompileOptions(kernelPath: .naive))
        var y = try Tensor(zeros: outputShape)
        var samples: [Double] = []
        repeat {
            let start = Timings.now()
            try session.run(x, into: &y)
            samples.append(Timings.now() - start)
        } while samples.count < BenchRepetitions.naiveRuns && samples.reduce(0, +) + samples.last! < BenchRepetitions.naiveTimeBudget
        return NaiveResult(median: Timings(samples: samples).median, runs: samples.count, output: y)
    }

    /// Engine time, bare-SGEMM time of the same GEMMs, and the comparison with the naive result.
    static func measure(_ benchCase: BenchCase, layer: Layer, input x: Tensor, naive: NaiveResult?,
                        peak: Double) throws -> BenchRow {
        let session = try InferenceSession(layer.graph(inputRank: x.rank), options: benchCase.options)
        let plan = try session.plan(forInput: x.shape)
        var y = try Tensor(zeros: session.outputShape(forInput: x.shape))
        let (_, calls) = try BLASRuntime.shared.withThreadLimit(1) { try GEMMTrace.record { try session.run(x, into: &y) } }
        let (engine, bare) = try withBareSGEMM(calls) { bare in
            try BenchRepetitions.timeEngineThenBare({ try session.run(x, into: &y) }, bare)
        }
        // FLOPs of the direct computation (what the layer does), whatever the algorithm.
        let flops = 2 * Double(ModelSummary(network: benchCase.name, inputShape: x.shape, plan: plan).totalMACs)
        let shapes = calls.count == 1 ? "\(calls[0].m)x\(calls[0].k)x\(calls[0].n)"
            : Set(calls.map { "\($0.m)x\($0.k)x\($0.n)" }).count == 1 ? "\(calls.count) x \(calls[0].m)x\(calls[0].k)x\(calls[0].n)"
            : calls.isEmpty ? "none (direct kernel)" : "\(calls.count) GEMMs"
        return BenchRow(
            name: benchCase.name, kind: benchCase.kind, batch: benchCase.batch, flops: flops, gemm: shapes,
            gemm_calls: calls.count,
            naive_median_s: naive?.median, naive_reps: naive?.runs ?? 0, naive_skipped: benchCase.naiveSkipped,
            engine_median_s: engine.median, engine_min_s: engine.minimum, engine_reps: engine.samples.count,
            bare_sgemm_median_s: bare?.median, engine_over_bare: bare.map { engine.median / $0.median },
            engine_over_bare_min: bare.map { engine.minimum / $0.minimum },
            speedup: naive.map { $0.median / engine.median },
            gflops: flops / engine.median / 1e9, peak_share: flops / engine.median / 1e9 / peak,
            max_error: try naive.map { try Reference.normalizedError(y, $0.output) })
    }
}
