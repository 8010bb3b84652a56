/// The one pass over a GEMM's (or kernel's) output that applies bias and activation:
/// y[m, c] = act(y[m, c] + bias[c]), for `rows` rows of `columns` values, rows
/// `rowStride` apart. One pass instead of one per operation; each case is a plain
/// loop with comparisons (not `max`/`min`) so that LLVM vectorises it.
enum Epilogue {
    static func apply(bias: UnsafePointer<Float>?, activation: Activation,
                      to y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int) {
        switch (bias, activation) {
        case (nil, .identity):
            return
        case let (bias?, .identity):
            for m in 0..<rows { let row = y + m * rowStride; for c in 0..<columns { row[c] += bias[c] } }
        case let (bias?, .relu):
            for m in 0..<rows { let row = y + m * rowStride; for c in 0..<columns { row[c] = Activation.relu(row[c] + bias[c]) } }
        case let (bias?, .relu6):
            for m in 0..<rows { let row = y + m * rowStride; for c in 0..<columns { row[c] = Activation.relu6(row[c] + bias[c]) } }
        case (nil, .relu):
            for m in 0..<rows { let row = y + m * rowStride; for c in 0..<columns { row[c] = Activation.relu(row[c]) } }
        case (nil, .relu6):
            for m in 0..<rows { let row = y + m * rowStride; for c in 0..<columns { row[c] = Activation.relu6(row[c]) } }
        }
    }
}
