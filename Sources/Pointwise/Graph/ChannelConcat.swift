/// Parallel branches on one input, their outputs concatenated along channels with no copy:
/// x: [N, H, W, C] -> [N, H', W', C₁ + … + C_b].
///
/// Branch i's last layer writes straight into channels [offset_i, offset_i + C_i) of the
/// output, with the output's total channel count as its row stride (for a convolution, the
/// GEMM's ldc), so there is no concat buffer and no copy.
public final class ChannelConcat: Layer {
    public let branches: [Layer]
    private var prepared: (input: [Int], output: [Int], offsets: [Int])?

    public init(_ branches: [Layer]) {
        precondition(!branches.isEmpty, "ChannelConcat needs at least one branch")
        self.branches = branches
    }

    /// Branch output shapes, checked to agree on N, H and W, and each branch's channel offset.
    private func plan(_ shape: [Int]) throws -> (output: [Int], offsets: [Int]) {
        let shapes = try branches.map { try $0.outputShape(forInput: shape) }
        var offsets: [Int] = []
        var channels = 0
        for (index, branchShape) in shapes.enumerated() {
            guard branchShape.count == 4, branchShape.dropLast() == shapes[0].dropLast() else {
                throw PointwiseError.shapeMismatch(
                    what: "output shape of concat branch \(index + 1) (all branches must agree on N, H, W)",
                    expected: "[" + shapes[0].dropLast().map(String.init).joined(separator: ", ") + ", C]",
                    actual: describe(branchShape))
            }
            offsets.append(channels)
            channels += branchShape[3]
        }
        return (Array(shapes[0].dropLast()) + [channels], offsets)
    }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        return try plan(shape).output
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        for branch in branches { try branch.prepare(forInput: shape) }
        let (output, offsets) = try plan(shape)
        prepared = (shape, output, offsets)
        return output
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride: Int) {
        let offsets = prepared!.offsets
        for (branch, offset) in zip(branches, offsets) {
            branch.run(x, into: y + offset, outputRowStride: outputRowStride)
        }
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        for branch in branches { try branch.summarize(inputShape: inputShape, into: &rows) }
    }

    public var sublayers: [Layer] { branches }

    public func addMemoryUse(to use: inout MemoryUse) {
        for branch in branches { branch.addMemoryUse(to: &use) }
    }
}
