/// Element-wise passes applied to a GEMM's output in place.
enum Epilogue {
    /// y[m, c] += bias[c] for each of `rows` rows of `columns` values, rows `rowStride` apart.
    static func addBias(_ bias: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>,
                        rows: Int, columns: Int, rowStride: Int) {
        for m in 0..<rows {
            let row = y + m * rowStride
            for c in 0..<columns { row[c] += bias[c] }
        }
    }
}
