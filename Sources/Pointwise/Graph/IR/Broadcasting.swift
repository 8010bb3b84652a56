/// NumPy's broadcasting rules, as ONNX uses them for element-wise operators and MatMul.
enum Broadcasting {
    /// The broadcast shape of `shapes`: aligned at the right, each dimension equal or 1.
    static func shape(_ shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var result = [Int](repeating: 1, count: rank)
        for shape in shapes {
            let offset = rank - shape.count
            for (i, d) in shape.enumerated() {
                let r = result[offset + i]
                if r == 1 { result[offset + i] = d }
                else if d != 1 && d != r {
                    throw PointwiseError.shapeMismatch(what: "broadcast of shapes \(shapes.map(describe).joined(separator: " and ")) at dimension \(offset + i)",
                                                       expected: "\(r) or 1", actual: "\(d)")
                }
            }
        }
        return result
    }

    /// Row-major strides of `shape` (in elements).
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = running
            running *= max(shape[d], 1)
        }
        return strides
    }

    /// Strides to read an operand of `shape` (with `strides`) at the indices of `output` (rank ≥ shape's):
    /// 0 on broadcast dimensions.
    static func strides(of shape: [Int], _ strides: [Int], broadcastTo output: [Int]) -> [Int] {
        let offset = output.count - shape.count
        return output.indices.map { d in
            d < offset || shape[d - offset] == 1 ? 0 : strides[d - offset]
        }
    }

    /// MatMul's output shape: rank-1 operands promoted (and the added axis removed), batch
    /// dimensions broadcast.
    static func matMulShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
        guard !a.isEmpty, !b.isEmpty else {
            throw PointwiseError.shapeMismatch(what: "MatMul operand ranks", expected: "≥ 1", actual: "\(a.count) and \(b.count)")
        }
        let a2 = a.count == 1 ? [1] + a : a
        let b2 = b.count == 1 ? b + [1] : b
        let (m, k) = (a2[a2.count - 2], a2[a2.count - 1])
        let (kb, n) = (b2[b2.count - 2], b2[b2.count - 1])
        guard k == kb else {
            throw PointwiseError.shapeMismatch(what: "MatMul inner dimensions (A \(describe(a)), B \(describe(b)))", expected: "\(k)", actual: "\(kb)")
        }
        var output = try shape([Array(a2.dropLast(2)), Array(b2.dropLast(2))]) + [m, n]
        if b.count == 1 { output.removeLast() }
        if a.count == 1 { output.remove(at: output.count - (b.count == 1 ? 1 : 2)) }
        return output
    }
}
