/// The loop nest of an element-wise operation over operands with arbitrary strides (layouts,
/// channel slices, broadcast dimensions with stride 0), reduced at plan time to as few
/// dimensions as possible: size-1 dimensions dropped, dimensions ordered by the first operand's
/// (the output's) memory order, neighbours merged where every operand is contiguous across them.
/// The innermost two dimensions then make one 2-D block (rows × columns) for a C kernel call.
struct ElementwiseLoop: Sendable, Equatable {
    /// Extent of each loop dimension, outermost first.
    let extents: [Int]
    /// strides[operand][dimension], in elements; operand 0 is the output.
    let strides: [[Int]]

    /// `shape` is the logical shape iterated; `operandStrides[i]` operand i's strides for it
    /// (0 where it broadcasts).
    init(shape: [Int], operandStrides: [[Int]]) {
        var dims = shape.indices.filter { shape[$0] != 1 }
        // Outermost first in the output's memory order (ties: logical order).
        dims.sort { a, b in
            let (sa, sb) = (abs(operandStrides[0][a]), abs(operandStrides[0][b]))
            return sa != sb ? sa > sb : a < b
        }
        var extents: [Int] = []
        var strides = [[Int]](repeating: [], count: operandStrides.count)
        for d in dims {
            // Merge into the previous dimension when, for every operand, stepping the previous
            // dimension once equals stepping this one extent times.
            if let last = extents.indices.last,
               operandStrides.indices.allSatisfy({ strides[$0][last] == operandStrides[$0][d] * shape[d] }) {
                extents[last] *= shape[d]
                for o in operandStrides.indices { strides[o][last] = operandStrides[o][d] }
                continue
            }
            extents.append(shape[d])
            for o in operandStrides.indices { strides[o].append(operandStrides[o][d]) }
        }
        if extents.isEmpty {
            extents = [1]
            for o in strides.indices { strides[o] = [0] }
        }
        self.extents = extents
        self.strides = strides
    }

    var count: Int { extents.reduce(1, *) }

    /// The innermost block: rows × columns, and each operand's row stride (ld) and column step.
    var block: (rows: Int, columns: Int, ld: [Int], step: [Int]) {
        let last = extents.count - 1
        let columns = extents[last]
        let rows = last >= 1 ? extents[last - 1] : 1
        return (rows, columns, strides.map { last >= 1 ? $0[last - 1] : 0 }, strides.map { $0[last] })
    }

    /// Dimensions outside the block.
    var outerDimensions: Int { max(0, extents.count - 2) }

    /// Calls `body(offset₀, offset₁)` with the element offsets of the first two operands at the
    /// start of every block (two-operand operations).
    func forEachBlock(_ body: (Int, Int) -> Void) {
        func visit(_ d: Int, _ o0: Int, _ o1: Int) {
            if d == outerDimensions { body(o0, o1); return }
            for i in 0..<extents[d] { visit(d + 1, o0 + i * strides[0][d], o1 + i * strides[1][d]) }
        }
        visit(0, 0, 0)
    }

    /// Calls `body(offset₀, offset₁, offset₂)` at the start of every block (three operands).
    func forEachBlock(_ body: (Int, Int, Int) -> Void) {
        func visit(_ d: Int, _ o0: Int, _ o1: Int, _ o2: Int) {
            if d == outerDimensions { body(o0, o1, o2); return }
            for i in 0..<extents[d] {
                visit(d + 1, o0 + i * strides[0][d], o1 + i * strides[1][d], o2 + i * strides[2][d])
            }
        }
        visit(0, 0, 0, 0)
    }
}
