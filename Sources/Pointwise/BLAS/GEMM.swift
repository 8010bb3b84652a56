import CBLAS

/// The arguments of one `cblas_sgemm(CblasRowMajor, ...)` call.
///
/// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, all row-major, with
/// leading dimensions (row strides, in elements) `lda`, `ldb`, `ldc`. A leading
/// dimension larger than the row width lets a GEMM read or write a channel
/// slice of a wider NHWC tensor in place.
public struct GEMMCall: Sendable, Equatable, CustomStringConvertible {
    public var m: Int
    public var n: Int
    public var k: Int
    public var lda: Int
    public var ldb: Int
    public var ldc: Int
    public var transposeA: Bool
    public var transposeB: Bool
    public var alpha: Float
    public var beta: Float
    /// Addresses of A, B and C, so tests can prove that no operand was copied.
    public var a: UInt
    public var b: UInt
    public var c: UInt
    /// Which SGEMM ran: for `.packed`, B is the K×N weight matrix in 16-column panels (`b` the
    /// panels' address, `ldb` the matrix's full width N, as OpenBLAS would be called on it).
    public var kernel: GEMMKernel = .openBLAS
    /// The implicit GEMM's A (a convolution's input read in place): each row is this many segments
    /// of K/segments floats at fixed offsets from the row's start, rows lda apart. 1: plain rows.
    public var segments: Int = 1

    /// 2·m·n·k floating-point operations.
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }

    public var description: String {
        (kernel == .packed ? "packed sgemm" : "sgemm") + " M=\(m) N=\(n) K=\(k) lda=\(lda) ldb=\(ldb) ldc=\(ldc)"
            + (segments > 1 ? " A rows in \(segments) segments" : "")
            + (transposeA ? " A^T" : "") + (transposeB ? " B^T" : "")
    }
}

/// Single-precision GEMM on row-major matrices: the one place Pointwise calls `cblas_sgemm`.
public enum GEMM {
    /// `cblas_sgemm(CblasRowMajor, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)`.
    ///
    /// Validates sizes and leading dimensions first and throws on bad ones, so a
    /// mistake never reaches BLAS (whose `xerbla` only prints and returns).
    /// The buffers must hold the matrices their leading dimensions describe.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) throws {
        for (name, value) in [("m", m), ("n", n), ("k", k)] where value < 1 {
            throw PointwiseError.invalidArgument(name: "GEMM \(name)", value: "\(value)", requirement: "≥ 1")
        }
        for (name, value, minimum) in [("lda", lda, transposeA ? m : k),
                                       ("ldb", ldb, transposeB ? k : n),
                                       ("ldc", ldc, n)] where value < minimum {
            throw PointwiseError.invalidArgument(name: "GEMM \(name)", value: "\(value)", requirement: "≥ \(minimum)")
        }
        for (name, value) in [("m", m), ("n", n), ("k", k), ("lda", lda), ("ldb", ldb), ("ldc", ldc)]
        where value > Int(Int32.max) {
            throw PointwiseError.invalidArgument(name: "GEMM \(name)", value: "\(value)", requirement: "≤ \(Int32.max) (32-bit BLAS interface)")
        }
        sgemm(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA,
              b: b, ldb: ldb, transposeB: transposeB, c: c, ldc: ldc, alpha: alpha, beta: beta)
    }

    /// Unchecked: for operators whose shapes were validated when they were built.
    @inline(__always)
    static func sgemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        assert(m > 0 && n > 0 && k > 0 && lda >= (transposeA ? m : k) && ldb >= (transposeB ? k : n) && ldc >= n)
        _ = BLASRuntime.shared  // kernel selection happens before the first BLAS call
        if let trace = GEMMTrace.current {
            trace.append(GEMMCall(m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
                                  transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta,
                                  a: UInt(bitPattern: a), b: UInt(bitPattern: b), c: UInt(bitPattern: c)))
        }
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
