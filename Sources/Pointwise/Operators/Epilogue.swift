import CKernels
import Dispatch

/// The one pass over a GEMM's output that applies bias and activation:
/// y[m, c] = act(y[m, c] + bias[c]), for `rows` rows of `columns` values, rows
/// `rowStride` apart; one pass instead of one per operation (C kernel, see `KernelISA`).
///
/// When BLAS runs on several threads the GEMM before it does too, and a one-thread
/// epilogue would then cost a large share of a cheap GEMM (K = 64, say): large outputs
/// are split across the same number of threads.
enum Epilogue {
    /// Below this many elements one thread is faster than waking another.
    static let parallelThreshold = 1 << 16

    static func apply(bias: UnsafePointer<Float>?, activation: Activation,
                      to y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int) {
        _ = KernelISA.initialized
        if bias == nil && activation == .identity { return }
        let threads = rows * columns >= parallelThreshold ? min(BLASRuntime.threadCountCache, rows) : 1
        if threads <= 1 {
            pw_bias_activation(y, rows, columns, rowStride, bias, activation.kernelValue)
            return
        }
        let chunk = (rows + threads - 1) / threads
        let shared = SharedPointers(y: y, bias: bias)  // each part writes its own rows
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            let first = part * chunk
            let count = min(chunk, rows - first)
            if count > 0 {
                pw_bias_activation(shared.y + first * rowStride, count, columns, rowStride, shared.bias, activation.kernelValue)
            }
        }
    }

    /// The buffers the parts share; they write disjoint rows.
    private struct SharedPointers: @unchecked Sendable {
        let y: UnsafeMutablePointer<Float>
        let bias: UnsafePointer<Float>?
    }
}
