import CKernels

/// Which SGEMM a GEMM-lowered layer calls.
public enum GEMMKernel: String, Sendable, Hashable {
    /// `cblas_sgemm` (OpenBLAS), with the epilogue as a second pass over the output.
    case openBLAS = "OpenBLAS"
    /// `pw_gemm_packed`: weights packed once into 16-column panels, A read in place, bias,
    /// residual and activation applied in registers (see `PackedGEMM`).
    case packed
}

/// SGEMM on weights packed once (at plan time) into panels of 16 columns (C kernel `pw_gemm_packed`).
///
/// C[M×N] = act(residual + A[M×K]·B[K×N] + bias), A row-major with lda (an NHWC map, an
/// im2col tile), C row-major with ldc (a channel slice of a concat output). OpenBLAS packs both
/// operands on every call; that costs as much as the arithmetic when K or N is 16…64 (MobileNets'
/// thin 1x1 layers) or when M is small and the weights large (ResNet's 7×7 layers repack up to
/// 9 MiB per call). Here the weights are packed once and A is not packed at all.
enum PackedGEMM {
    /// B (K×N row-major, or N×K when `transposed`) → panels (`pw_gemm_pack_b`).
    static func pack(_ b: UnsafePointer<Float>, k: Int, n: Int, ldb: Int, transposed: Bool = false) -> FloatBuffer {
        let buffer = FloatBuffer(count: pw_gemm_packed_floats(k, n))
        pw_gemm_pack_b(k, n, b, ldb, transposed ? 1 : 0, buffer.pointer)
        return buffer
    }

    /// Rows 0..<m of C, columns `columns` (its lower bound a multiple of 16).
    @inline(__always)
    static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>,
                         columns: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?,
                         residual: UnsafePointer<Float>?, ldr: Int, activation: Activation, isa: KernelISA) {
        if let trace = GEMMTrace.current {
            trace.append(GEMMCall(m: m, n: columns.count, k: k, lda: lda, ldb: n, ldc: ldc, transposeA: false, transposeB: false,
                                  alpha: 1, beta: residual == nil ? 0 : 1, a: UInt(bitPattern: a), b: UInt(bitPattern: packed),
                                  c: UInt(bitPattern: c + columns.lowerBound), kernel: .packed))
        }
        pw_gemm_packed(isa.kernelValue, m, n, k, a, lda, packed, columns.lowerBound, columns.upperBound, c, ldc,
                       bias, residual, ldr, activation.kernelValue)
    }

    /// The implicit-GEMM convolution (`pw_conv_implicit_packed`): output rows `rows` (of all images'
    /// N·H' rows, `rowsPerImage` per image) of `width` pixels, pixel (y, x) at c + (y·width + x)·ldc;
    /// A's row for it the segments a + (y / rowsPerImage)·imageStride + (y % rowsPerImage)·rowStride
    /// + x·pixelStride + offsets[s] ..< + length; B = `packed` (K = offsets.count·length).
    @inline(__always)
    static func convolve(rows: Range<Int>, rowsPerImage: Int, width: Int, n: Int, a: UnsafePointer<Float>, imageStride: Int,
                         rowStride: Int, pixelStride: Int, offsets: UnsafeBufferPointer<Int>, length: Int,
                         packed: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?,
                         residual: UnsafePointer<Float>?, ldr: Int, activation: Activation, isa: KernelISA) {
        if let trace = GEMMTrace.current {
            let first = rows.lowerBound
            trace.append(GEMMCall(m: rows.count * width, n: n, k: offsets.count * length, lda: pixelStride, ldb: n, ldc: ldc,
                                  transposeA: false, transposeB: false, alpha: 1, beta: residual == nil ? 0 : 1,
                                  a: UInt(bitPattern: a + first / rowsPerImage * imageStride + first % rowsPerImage * rowStride),
                                  b: UInt(bitPattern: packed), c: UInt(bitPattern: c + first * width * ldc), kernel: .packed,
                                  segments: offsets.count))
        }
        pw_conv_implicit_packed(isa.kernelValue, rows.lowerBound, rows.count, rowsPerImage, width, n, a, imageStride, rowStride,
                                pixelStride, offsets.baseAddress, offsets.count, length, packed, c, ldc, bias, residual, ldr,
                                activation.kernelValue)
    }
}
