import CBLAS

/// The thin singular value decomposition A = U · diag(σ) · Vᵀ of a row-major m×n matrix,
/// computed by LAPACK's divide-and-conquer `sgesdd` (`LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'S', ...)`).
///
/// With k = min(m, n): `u` is m×k, `singularValues` has k values in decreasing order,
/// `vt` is k×n, all row-major. Singular values are unique; singular vectors only up to sign
/// (and within repeated values), so compare products, not the vectors themselves.
public struct SingularValueDecomposition: Sendable {
    public let rows: Int
    public let columns: Int
    public let u: [Float]
    public let singularValues: [Float]
    public let vt: [Float]

    /// Decomposes `matrix` (row-major, `rows`×`columns`). Throws on bad sizes, and turns LAPACK's
    /// `info` into errors: < 0, an illegal argument; > 0, no convergence.
    public init(matrix: [Float], rows: Int, columns: Int) throws {
        guard rows >= 1, columns >= 1 else {
            throw PointwiseError.invalidArgument(name: "SVD matrix size", value: "\(rows)x\(columns)", requirement: "at least 1x1")
        }
        guard matrix.count == rows * columns else {
            throw PointwiseError.shapeMismatch(what: "SVD matrix element count for \(rows)x\(columns)",
                                               expected: "\(rows * columns)", actual: "\(matrix.count)")
        }
        guard matrix.allSatisfy({ $0.isFinite }) else {
            throw PointwiseError.invalidArgument(name: "SVD matrix", value: "a NaN or infinite entry", requirement: "finite")
        }
        let k = min(rows, columns)
        var a = matrix  // sgesdd overwrites its input
        var s = [Float](repeating: 0, count: k)
        var u = [Float](repeating: 0, count: rows * k)
        var vt = [Float](repeating: 0, count: k * columns)
        let info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "S")), pointwise_lapack_int(rows), pointwise_lapack_int(columns),
                                  &a, pointwise_lapack_int(columns), &s, &u, pointwise_lapack_int(k), &vt, pointwise_lapack_int(columns))
        if info < 0 {
            throw PointwiseError.lapack("sgesdd: argument \(-info) had an illegal value (matrix \(rows)x\(columns))")
        }
        if info > 0 {
            throw PointwiseError.lapack("sgesdd did not converge (\(info) superdiagonals of the bidiagonal form did not reach zero)")
        }
        self.rows = rows
        self.columns = columns
        self.u = u
        self.singularValues = s
        self.vt = vt
    }
}
