import Testing
@testable import Pointwise

@Suite("OpenBLAS core selection")
struct CoreSelectionTests {
    let avx512 = CPUFeatures(flags: ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
    let avx2 = CPUFeatures(flags: ["sse3", "avx", "avx2", "fma"])
    let sse = CPUFeatures(flags: ["sse3", "ssse3"])

    func choose(_ core: String, _ features: CPUFeatures, user: String? = nil, canReselect: Bool = true) -> String? {
        CoreSelection.preferredCore(current: core, features: features, userCoreType: user, canReselect: canReselect).core
    }

    @Test("an AVX-512 CPU running Prescott kernels gets SkylakeX")
    func prescottOnAVX512() { #expect(choose("Prescott", avx512) == "SkylakeX") }

    @Test("an AVX2-only CPU running Prescott gets Haswell, never an AVX-512 core")
    func prescottOnAVX2() {
        #expect(choose("Prescott", avx2) == "Haswell")
        #expect(choose("Sandybridge", avx2) == "Haswell")
    }

    @Test("a core that already fits is kept (including AMD's Zen and Cooperlake)")
    func fittingCoresKept() {
        for core in ["SkylakeX", "Cooperlake", "SapphireRapids"] { #expect(choose(core, avx512) == nil) }
        for core in ["Haswell", "Zen"] { #expect(choose(core, avx2) == nil) }
        // An AVX2 core on an AVX-512 CPU is upgraded.
        #expect(choose("Haswell", avx512) == "SkylakeX")
    }

    @Test("a user's OPENBLAS_CORETYPE is never overridden, even when it is slow")
    func userChoiceWins() {
        #expect(choose("Prescott", avx512, user: "Prescott") == nil)
        #expect(CoreSelection.preferredCore(current: "Prescott", features: avx512, userCoreType: "Prescott",
                                            canReselect: true).reason.contains("set by the user"))
        // An empty variable is the same as none.
        #expect(choose("Prescott", avx512, user: "") == "SkylakeX")
    }

    @Test("nothing is done on a BLAS that cannot re-select its kernels, or a CPU without AVX2")
    func nothingToDo() {
        #expect(choose("Prescott", avx512, canReselect: false) == nil)
        #expect(choose("Prescott", sse) == nil)
    }

    @Test("this process runs kernels that fit its CPU, with no environment variable set")
    func runningCoreFitsCPU() {
        let runtime = BLASRuntime.shared
        let core = runtime.coreName.lowercased()
        guard runtime.config.hasPrefix("OpenBLAS") else { return }
        if case .kept(_, let reason) = runtime.coreSelection, reason.contains("set by the user") { return }
        if runtime.cpuFeatures.hasAVX512 {
            #expect(CoreSelection.avx512Cores.contains(core), "AVX-512 CPU runs \(runtime.coreName)")
        } else if runtime.cpuFeatures.hasAVX2 {
            #expect(CoreSelection.avx2Cores.contains(core), "AVX2 CPU runs \(runtime.coreName)")
        }
    }

    @Test("threads: Pointwise takes over OpenBLAS's count and runs OpenBLAS on one thread; 0 is rejected")
    func threads() throws {
        // (Changing the count here would race with the tests running beside this one.)
        let runtime = BLASRuntime.shared
        #expect(runtime.threadCount >= 1)
        #expect(runtime.openBLASThreadCount == 1)
        try runtime.setThreadCount(runtime.threadCount)
        expectError("thread count must be ≥ 1, got 0") { try runtime.setThreadCount(0) }
        expectError("OpenBLAS thread count must be ≥ 1, got -2") { try runtime.setOpenBLASThreadCount(-2) }
        #expect(runtime.withThreadLimit(1) { ThreadPool.parts(rows: 10_000, macs: 1 << 30) } == 1)
    }
}
