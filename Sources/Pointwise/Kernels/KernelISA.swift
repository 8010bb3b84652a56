import CKernels
import Foundation

/// The instruction set the C kernels run with: the widest this CPU and
/// OS support. `CKernels` holds each kernel compiled for AVX-512, AVX2 + FMA and portable C;
/// Swift code itself is compiled for the baseline ISA. The choice is passed with every call,
/// so a scoped override (tests check each variant) never affects other threads.
public enum KernelISA: Int, Sendable, CaseIterable, CustomStringConvertible {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    /// The widest ISA the CPU supports, or narrower if the environment asks: `POINTWISE_ISA=avx2`
    /// (or `portable`) runs an AVX-512 machine's kernels as an AVX2-only machine would (with
    /// `OPENBLAS_CORETYPE=Haswell` for OpenBLAS's). An unknown value is reported and ignored.
    public static let best: KernelISA = {
        #if arch(x86_64)
        let features = CPUFeatures.current
        let hardware: KernelISA = features.hasAVX512 ? .avx512 : features.hasAVX2 ? .avx2 : .portable
        #else
        let hardware = KernelISA.portable
        #endif
        guard let requested = ProcessInfo.processInfo.environment["POINTWISE_ISA"] else { return hardware }
        guard let isa = ["portable": KernelISA.portable, "avx2": .avx2, "avx512": .avx512][requested.lowercased()] else {
            FileHandle.standardError.write(Data("POINTWISE_ISA=\(requested) ignored: expected portable, avx2 or avx512\n".utf8))
            return hardware
        }
        return isa.rawValue <= hardware.rawValue ? isa : hardware
    }()

    @TaskLocal static var override: KernelISA?

    /// The ISA layers use in the current task: `best`, unless overridden by `with(_:_:)`.
    public static var current: KernelISA { override ?? best }

    /// Runs `body` with layers in this task using `isa` (which the CPU must support).
    public static func with<R>(_ isa: KernelISA, _ body: () throws -> R) throws -> R {
        guard isa.rawValue <= best.rawValue else {
            throw PointwiseError.invalidArgument(name: "kernel ISA", value: "\(isa)", requirement: "one this CPU supports (up to \(best))")
        }
        return try $override.withValue(isa) { try body() }
    }

    var kernelValue: pw_isa { pw_isa(rawValue: UInt32(rawValue)) }

    public var description: String { ["portable C", "AVX2+FMA", "AVX-512"][rawValue] }
}

extension Activation {
    /// The C kernels' description of this activation.
    var kernelValue: pw_activation {
        switch self {
        case .identity: return pw_activation(kind: PW_IDENTITY, alpha: 0, beta: 0)
        case .relu: return pw_activation(kind: PW_RELU, alpha: 0, beta: 0)
        case .clip(let low, let high): return pw_activation(kind: PW_CLIP, alpha: low, beta: high)
        case .leakyRelu(let alpha): return pw_activation(kind: PW_LEAKY_RELU, alpha: alpha, beta: 0)
        case .sigmoid: return pw_activation(kind: PW_SIGMOID, alpha: 0, beta: 0)
        case .hardSigmoid(let alpha, let beta): return pw_activation(kind: PW_HARD_SIGMOID, alpha: alpha, beta: beta)
        case .hardSwish: return pw_activation(kind: PW_HARD_SWISH, alpha: 0, beta: 0)
        }
    }
}
