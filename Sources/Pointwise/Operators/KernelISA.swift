import CKernels

/// The instruction set the C kernels (epilogue, depthwise) run with: the widest this CPU
/// and OS support, chosen on first use. `CKernels` holds each kernel compiled for AVX-512,
/// AVX2 + FMA and portable C; Swift code itself is compiled for the baseline ISA.
public enum KernelISA: Int, Sendable, CaseIterable, CustomStringConvertible {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    /// The widest ISA the CPU supports.
    public static let best: KernelISA = {
        #if arch(x86_64)
        let features = CPUFeatures.current
        return features.hasAVX512 ? .avx512 : features.hasAVX2 ? .avx2 : .portable
        #else
        return .portable
        #endif
    }()

    /// Selected once, before the first kernel runs.
    static let initialized: Void = { _ = pw_set_isa(pw_isa(rawValue: UInt32(best.rawValue))) }()

    /// The ISA in use now.
    public static var current: KernelISA {
        _ = initialized
        return KernelISA(rawValue: Int(pw_get_isa().rawValue)) ?? .portable
    }

    /// Forces an ISA (tests use it to check every variant against the reference). Asking for one
    /// the CPU lacks is refused; returns the ISA in use afterwards.
    @discardableResult
    public static func use(_ isa: KernelISA) throws -> KernelISA {
        _ = initialized
        guard isa.rawValue <= best.rawValue else {
            throw PointwiseError.invalidArgument(name: "kernel ISA", value: "\(isa)", requirement: "one this CPU supports (up to \(best))")
        }
        return KernelISA(rawValue: Int(pw_set_isa(pw_isa(rawValue: UInt32(isa.rawValue))).rawValue)) ?? .portable
    }

    public var description: String { ["portable C", "AVX2+FMA", "AVX-512"][rawValue] }
}

extension Activation {
    var kernelValue: pw_activation {
        switch self {
        case .identity: return PW_IDENTITY
        case .relu: return PW_RELU
        case .relu6: return PW_RELU6
        }
    }
}
