/// Which OpenBLAS kernel set ("core") Pointwise asks for, and why.
///
/// Debian's OpenBLAS 0.3.21 picks its kernels from a table of CPU models it
/// knows. On a CPU newer than that table (for example Intel Xeon family 6
/// model 207) it falls back to 'Prescott', SSE3 kernels about 4.5x slower than
/// the AVX-512 ones the CPU can run. This type decides, from facts alone, whether
/// to ask OpenBLAS for a better core; `BLASRuntime` carries the decision out.
public enum CoreSelection: Sendable, Equatable {
    /// OpenBLAS's own choice was kept.
    case kept(core: String, reason: String)
    /// OpenBLAS was re-initialised with a core that fits the CPU.
    case switched(from: String, to: String)
    /// A switch was attempted but OpenBLAS reports another core afterwards.
    case failed(from: String, requested: String, got: String)

    /// Cores whose SGEMM kernels use AVX-512 (names as `openblas_get_corename` reports them).
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
    /// Cores whose SGEMM kernels use at least AVX2 + FMA ('Zen' runs the Haswell kernels).
    static let avx2Cores: Set<String> = avx512Cores.union(["haswell", "zen"])

    /// The core to request, or `nil` with the reason to keep the current one.
    ///
    /// - Never requests a core the CPU lacks: SkylakeX only with AVX-512 F/CD/BW/DQ/VL,
    ///   Haswell only with AVX2 + FMA.
    /// - Never overrides a user's `OPENBLAS_CORETYPE`.
    /// - Does nothing when the BLAS cannot re-select its core (not OpenBLAS, or an
    ///   OpenBLAS built without DYNAMIC_ARCH).
    static func preferredCore(current: String, features: CPUFeatures,
                              userCoreType: String?, canReselect: Bool) -> (core: String?, reason: String) {
        if let userCoreType, !userCoreType.isEmpty {
            return (nil, "OPENBLAS_CORETYPE=\(userCoreType) set by the user")
        }
        guard canReselect else {
            return (nil, "this BLAS cannot re-select its kernels (no gotoblas_dynamic_init)")
        }
        let core = current.lowercased()
        if features.hasAVX512 {
            return avx512Cores.contains(core) ? (nil, "already AVX-512") : ("SkylakeX", "CPU has AVX-512")
        }
        if features.hasAVX2 {
            return avx2Cores.contains(core) ? (nil, "already AVX2") : ("Haswell", "CPU has AVX2 + FMA")
        }
        return (nil, "CPU has neither AVX2 nor AVX-512")
    }
}
