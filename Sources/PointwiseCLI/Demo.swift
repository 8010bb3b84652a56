import ArgumentParser
import Pointwise

/// `pointwise demo`: the classic 1x1 convolution example, followed step by step.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk through a 1x1 convolution (28×28×256 input, sixteen 1×1×256 filters) lowered to one SGEMM.")

    @Option(help: "Threads (default: the number of cores).")
    var threads: Int?

    @Option(help: "Timed repetitions of each path (after one warm-up run).")
    var repetitions: Int = 20

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be ≥ 1, got \(repetitions)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
    }

    func run() throws {
        let blas = BLASRuntime.shared
        if let threads { try blas.setThreadCount(threads) }
        let (height, width, inChannels, outChannels) = (28, 28, 256, 16)

        print("1. The layer")
        print("   input  x: 1×\(height)×\(width)×\(inChannels) (NHWC), seeded uniform in [-1, 1]")
        print("   filters:  \(outChannels) of 1×1×\(inChannels), PyTorch weight shape [\(outChannels), \(inChannels), 1, 1]")
        let x = try Tensor(randomUniform: [1, height, width, inChannels], seed: 1)
        let bound = 1 / Float(inChannels).squareRoot()  // PyTorch's default init range for this layer
        let weight = try Tensor(randomUniform: [outChannels, inChannels, 1, 1], in: -bound...bound, seed: 2)
        let conv = try Conv2D(inChannels: inChannels, outChannels: outChannels, kernel: 1, weight: weight)
        print("   output y: 1×\(height)×\(width)×\(outChannels)")

        let gemm = try conv.loweredGEMM(forInput: x.shape)
        print("\n2. The GEMM it lowers to")
        print("   In NHWC the input is already a row-major (H·W)×Cin = \(gemm.m)×\(gemm.k) matrix;")
        print("   the filters form a Cin×Cout = \(gemm.k)×\(gemm.n) matrix; one SGEMM writes the \(gemm.m)×\(gemm.n) output.")
        print("   M=\(gemm.m), K=\(gemm.k), N=\(gemm.n)   FLOPs = 2·M·K·N = \(Int(gemm.flops))")

        let (y, calls) = try blas.withThreadLimit(1) { try GEMMTrace.record { try conv(x) } }
        print("   (OpenBLAS's cblas_sgemm, or Pointwise's packed SGEMM on weights packed once: `pointwise run --gemm`)")
        print("   the call made on one thread: \(calls.map(\.description).joined(separator: "; ")), workspace \(try conv.memoryUse(inputShape: x.shape).arenaBytes) bytes")
        if blas.threadCount > 1 {
            let (_, split) = try GEMMTrace.record { try conv(x) }
            print("   on \(blas.threadCount) threads, one per block of rows, still on the input itself: "
                  + split.map(\.description).joined(separator: "; "))
        }

        print("\n3. Pixel (0,0) by hand: y[0,0,0,f] = Σ_c x[0,0,0,c] · w[f,c]")
        for f in [0, 1, outChannels - 1] {
            var sum = 0.0
            for c in 0..<inChannels { sum += Double(x[0, 0, 0, c]) * Double(weight[f, c, 0, 0]) }
            let terms = (0..<2).map { c in "\(fixed(Double(x[0, 0, 0, c]), 3))·\(fixed(Double(weight[f, c, 0, 0]), 3))" }
            print("   f=\(f): \(terms.joined(separator: " + ")) + … (\(inChannels) terms) = \(fixed(sum, 6))   engine: \(fixed(Double(y[0, 0, 0, f]), 6))")
        }

        print("\n4. Naive loop vs GEMM (\(buildKind) build, \(repetitions) timed runs after 1 warm-up; BLAS core \(blas.coreName), \(blas.threadCount) thread(s))")
        var reference = try Tensor(zeros: y.shape)
        let naive = try Timings.measure(warmup: 1, repetitions: repetitions) {
            reference = try Reference.conv2D(x, weight: weight)
        }
        var output = try Tensor(zeros: y.shape)
        let engine = try Timings.measure(warmup: 1, repetitions: repetitions) {
            try conv.forward(x, into: &output)
        }
        let error = try Reference.normalizedError(output, reference)
        print("   naive (direct loop, Double accumulation): median \(formatSeconds(naive.median))  min \(formatSeconds(naive.minimum))")
        print("   GEMM  (one SGEMM per thread):             median \(formatSeconds(engine.median))  min \(formatSeconds(engine.minimum))  \(fixed(gemm.flops / engine.median / 1e9, 1)) GFLOP/s")
        print("   speedup (median / median): \(fixed(naive.median / engine.median, 1))x")
        print("   max error: max|y − naive| / max|naive| = \(error)")
        #if DEBUG
        print("   (debug build: timings are not meaningful; use `swift run -c release pointwise demo`)")
        #endif
    }

}
