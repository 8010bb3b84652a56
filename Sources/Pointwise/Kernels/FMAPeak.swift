import CKernels

/// The core's FMA peak: GFLOP/s of 12 independent FMA chains held in registers, on the vectors of a
/// kernel ISA (`pw_fma_peak_run`). Nothing that multiplies matrices on one core can be faster, so
/// a kernel's or a network's GFLOP/s divided by this (times the threads) is how much of the
/// machine it uses. Measured rather than computed from a clock rate: a VM's core runs at whatever
/// frequency its host gives it, and on AMD's Zen 4 AVX-512 has the AVX2 rate (256-bit units).
public enum FMAPeak {
    /// Best of `rounds` runs of about `seconds` each, on the calling thread. Throws for an ISA the
    /// CPU lacks (its instructions would trap).
    public static func gigaflopsPerCore(isa: KernelISA = .best, rounds: Int = 5, seconds: Double = 0.02) throws -> Double {
        guard isa.rawValue <= KernelISA.best.rawValue else {
            throw PointwiseError.invalidArgument(name: "kernel ISA", value: "\(isa)", requirement: "one this CPU supports (up to \(KernelISA.best))")
        }
        var sink: Float = 0
        /// One run of `iterations`: its FLOPs and seconds.
        func run(_ iterations: Int) -> (flops: Double, seconds: Double) {
            let start = ExecutionPlan.now()
            let flops = pw_fma_peak_run(isa.kernelValue, iterations, &sink)
            return (flops, ExecutionPlan.now() - start)
        }
        // As many iterations as take `seconds` (doubling from 64 Ki, at most 2³⁰).
        var iterations = 1 << 16
        while iterations < 1 << 30, run(iterations).seconds < seconds { iterations *= 2 }
        var best = 0.0
        for _ in 0..<max(1, rounds) {
            let (flops, elapsed) = run(iterations)
            if elapsed > 0 { best = max(best, flops / elapsed / 1e9) }
        }
        return best
    }
}
