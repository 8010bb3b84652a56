import ArgumentParser
import Foundation
import Pointwise

/// `pointwise info`: what BLAS runs, with which kernels, on how many threads.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the BLAS library, its kernels, threads and CPU features.")

    @Option(help: ArgumentHelp("Re-initialise OpenBLAS with this core first, to reproduce its fallback on an unknown CPU (e.g. Prescott).", visibility: .hidden))
    var startFromCore: String?

    func run() throws {
        if let startFromCore { BLASRuntime.forceCore(startFromCore) }
        let blas = BLASRuntime.shared
        print("BLAS config:    \(blas.config)")
        print("BLAS core:      \(blas.coreName)")
        switch blas.coreSelection {
        case let .kept(core, reason):
            print("Core selection: kept OpenBLAS's choice \(core) (\(reason))")
        case let .switched(from, to):
            print("Core selection: switched \(from) -> \(to) (OpenBLAS did not recognise this CPU)")
        case let .failed(from, requested, got):
            print("Core selection: asked for \(requested) instead of \(from), OpenBLAS runs \(got)")
        }
        print("Threads:        \(blas.threadCount) (Pointwise splits each layer; OpenBLAS runs \(blas.openBLASThreadCount) thread inside each part)")
        print("CPU features:   \(blas.cpuFeatures.simdSummary.joined(separator: " "))")
        print("AVX2+FMA: \(blas.cpuFeatures.hasAVX2 ? "yes" : "no"), AVX-512: \(blas.cpuFeatures.hasAVX512 ? "yes" : "no")")
        let requested = ProcessInfo.processInfo.environment["POINTWISE_ISA"].map { " (POINTWISE_ISA=\($0))" } ?? ""
        print("Kernel ISA:     \(KernelISA.best)\(requested)")
        let peak = try FMAPeak.gigaflopsPerCore()
        print("FMA peak:       \(String(format: "%.1f", peak)) GFLOP/s per core (\(KernelISA.best) FMAs in registers, measured: the ceiling of any kernel)")
        print("CPU model:      \(CPUFeatures.modelName)")
    }
}
