import CBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The linked BLAS library and the state it runs in.
///
/// The first use of Pointwise's GEMM (or of `BLASRuntime.shared`) checks that
/// OpenBLAS runs kernels that fit the CPU and re-selects them if not; see
/// `CoreSelection`. Nothing is needed from the user.
public struct BLASRuntime: Sendable {
    /// `openblas_get_config()`: version and build options, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...".
    public let config: String
    /// What Pointwise did about the kernel choice at start-up.
    public let coreSelection: CoreSelection
    /// The SIMD features of this CPU.
    public let cpuFeatures: CPUFeatures

    /// Performed once, on first use, before any BLAS call Pointwise makes.
    public static let shared = BLASRuntime()

    /// `openblas_get_corename()`: the kernel set running now ("SkylakeX", "Haswell", "Prescott", ...).
    public var coreName: String { String(cString: openblas_get_corename()) }

    /// Threads Pointwise's layers run on (the caller included). Starts at the thread count
    /// OpenBLAS chose (the number of cores, or `OPENBLAS_NUM_THREADS`).
    public var threadCount: Int { ThreadPool.size }

    /// Sets the threads Pointwise's layers split their work across. OpenBLAS itself stays
    /// single-threaded (see `ThreadPool`): don't combine this with parallel loops of your own
    /// on more threads than cores.
    public func setThreadCount(_ count: Int) throws {
        guard count >= 1 else {
            throw PointwiseError.invalidArgument(name: "thread count", value: "\(count)", requirement: "≥ 1")
        }
        _ = ThreadPool.resize(count)
    }

    /// Runs `body` with layers limited to at most `threads` threads (scoped to the current task).
    public func withThreadLimit<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        try ThreadPool.$limit.withValue(max(1, threads)) { try body() }
    }

    /// `openblas_get_num_threads()`: OpenBLAS's own threads, 1 while Pointwise runs (it parallelises
    /// above BLAS). Only direct `GEMM.multiply` calls use more if you raise it.
    public var openBLASThreadCount: Int { Int(openblas_get_num_threads()) }

    /// `openblas_set_num_threads(n)`: for direct `GEMM.multiply` calls (the benchmark's bare-SGEMM
    /// ceiling). Set it back to 1 before running layers on more than one Pointwise thread.
    public func setOpenBLASThreadCount(_ count: Int) throws {
        guard count >= 1 else {
            throw PointwiseError.invalidArgument(name: "OpenBLAS thread count", value: "\(count)", requirement: "≥ 1")
        }
        openblas_set_num_threads(Int32(clamping: count))
    }

    private init() {
        cpuFeatures = .current
        coreSelection = Self.selectCore(features: cpuFeatures)
        config = String(cString: openblas_get_config()).trimmingTrailingWhitespace()  // names the core: read after selection
        // Pointwise takes over OpenBLAS's thread count and runs OpenBLAS on one thread.
        _ = ThreadPool.resize(Int(openblas_get_num_threads()))
        openblas_set_num_threads(1)
    }

    /// Re-selects OpenBLAS's core when `CoreSelection.preferredCore` asks for it.
    ///
    /// `gotoblas_dynamic_quit` / `gotoblas_dynamic_init` (DYNAMIC_ARCH builds only,
    /// hence dlsym) re-read `OPENBLAS_CORETYPE`; the variable is set for that call
    /// only and removed afterwards, so child processes see the user's environment.
    static func selectCore(features: CPUFeatures) -> CoreSelection {
        let before = String(cString: openblas_get_corename())
        let entryPoints = DynamicCoreEntryPoints.lookUp()
        let user = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        let (target, reason) = CoreSelection.preferredCore(
            current: before, features: features, userCoreType: user, canReselect: entryPoints != nil)
        guard let target, let entryPoints else { return .kept(core: before, reason: reason) }
        reselect(core: target, using: entryPoints)
        let after = String(cString: openblas_get_corename())
        return after.lowercased() == target.lowercased()
            ? .switched(from: before, to: after)
            : .failed(from: before, requested: target, got: after)
    }

    /// Re-initialises OpenBLAS with the named core (`nil`: OpenBLAS's own choice) and
    /// returns the core now running. A diagnostic: call it before the first use of
    /// `shared` to reproduce, on a CPU OpenBLAS knows, the 'Prescott' fallback that
    /// `shared` then corrects (`pointwise info --start-from-core Prescott`). Does
    /// nothing on a BLAS without DYNAMIC_ARCH. Not safe while other threads call BLAS.
    @discardableResult
    public static func forceCore(_ name: String?) -> String {
        if let entryPoints = DynamicCoreEntryPoints.lookUp() {
            reselect(core: name, using: entryPoints)
        }
        return String(cString: openblas_get_corename())
    }

    private static func reselect(core: String?, using entryPoints: DynamicCoreEntryPoints) {
        let previous = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        if let core { setenv("OPENBLAS_CORETYPE", core, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        let threads = openblas_get_num_threads()
        entryPoints.quit()
        entryPoints.initialize()
        openblas_set_num_threads(threads)
        if let previous { setenv("OPENBLAS_CORETYPE", previous, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
    }
}

/// OpenBLAS's `gotoblas_dynamic_quit` / `gotoblas_dynamic_init`, present only in DYNAMIC_ARCH builds.
private struct DynamicCoreEntryPoints {
    let quit: @convention(c) () -> Void
    let initialize: @convention(c) () -> Void

    static func lookUp() -> DynamicCoreEntryPoints? {
        #if os(Linux)
        let handle = UnsafeMutableRawPointer(bitPattern: 0) // RTLD_DEFAULT
        #else
        let handle = UnsafeMutableRawPointer(bitPattern: -2) // RTLD_DEFAULT on Darwin
        #endif
        guard let quit = dlsym(handle, "gotoblas_dynamic_quit"),
              let initialize = dlsym(handle, "gotoblas_dynamic_init") else { return nil }
        return DynamicCoreEntryPoints(
            quit: unsafeBitCast(quit, to: (@convention(c) () -> Void).self),
            initialize: unsafeBitCast(initialize, to: (@convention(c) () -> Void).self))
    }
}
