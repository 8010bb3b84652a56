import CKernels

/// The one pass over a GEMM's output that applies bias and activation:
/// y[m, c] = act(y[m, c] + bias[c]), for `rows` rows of `columns` values, rows
/// `rowStride` apart; one pass instead of one per operation (C kernel, see `KernelISA`).
/// Layers call it per part, right after that part's GEMM, while its output is in cache.
enum Epilogue {
    @inline(__always)
    static func apply(bias: UnsafePointer<Float>?, activation: Activation, isa: KernelISA = .current,
                      to y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int) {
        pw_bias_activation(isa.kernelValue, y, rows, columns, rowStride, bias, activation.kernelValue)
    }
}
