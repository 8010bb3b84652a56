/// The one pass over a GEMM's (or kernel's) output that applies bias and activation:
/// y[m, c] = act(y[m, c] + bias[c]), for `rows` rows of `columns` values, rows
/// `rowStride` apart. One pass instead of one per operation.
enum Epilogue {
    static func apply(bias: UnsafePointer<Float>?, activation: Activation,
                      to y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int) {
        switch (bias, activation) {
        case (nil, .identity):
            return
        case let (bias?, .identity):
            for m in 0..<rows { let row = y + m * rowStride; for c in 0..<columns { row[c] += bias[c] } }
        case let (bias?, .relu):
            for m in 0..<rows { let row = y + m * rowStride; for c in 0..<columns { row[c] = max(row[c] + bias[c], 0) } }
        case let (bias?, .relu6):
            for m in 0..<rows { let row = y + m * rowStride; for c in 0..<columns { row[c] = min(max(row[c] + bias[c], 0), 6) } }
        case (nil, _):
            for m in 0..<rows { let row = y + m * rowStride; for c in 0..<columns { row[c] = activation.apply(row[c]) } }
        }
    }
}
