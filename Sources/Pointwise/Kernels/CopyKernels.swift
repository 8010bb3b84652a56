import CKernels

/// Copies a tensor between two memory layouts: y[index] = x[index] for every logical index, where
/// x and y have any strides (NCHW ↔ NHWC conversion, Reshape or Flatten of an NHWC map into
/// NCHW order, Transpose, Slice, a concat member copied into its slice, a graph output).
/// Contiguous runs are copied with memcpy, 2-D transposes (NCHW ↔ NHWC) with the blocked
/// `pw_transpose`, anything else element by element.
struct StridedCopy: Sendable, Equatable {
    let loop: ElementwiseLoop

    /// `shape` is the logical shape copied; strides are in elements.
    init(shape: [Int], destinationStrides: [Int], sourceStrides: [Int]) {
        loop = ElementwiseLoop(shape: shape, operandStrides: [destinationStrides, sourceStrides])
    }

    /// A transpose when the innermost two dimensions are swapped between the operands:
    /// y rows of `columns` contiguous values read from x columns `ld` apart.
    private var isTranspose: Bool {
        let b = loop.block
        return loop.extents.count >= 2 && b.step[0] == 1 && b.ld[1] == 1 && b.step[1] != 1
    }

    func run(from x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>) {
        let b = loop.block
        if b.step[0] == 1 && b.step[1] == 1 {
            loop.forEachBlock { o, i in
                if b.rows == 1 || (b.ld[0] == b.columns && b.ld[1] == b.columns) {
                    (y + o).update(from: x + i, count: b.rows * b.columns)
                } else {
                    for r in 0..<b.rows { (y + o + r * b.ld[0]).update(from: x + i + r * b.ld[1], count: b.columns) }
                }
            }
        } else if isTranspose && b.step[1] > 0 && b.ld[0] > 0 {
            // y[r·ld₀ + c] = x[c·step₁ + r]: x is a columns×rows matrix with rows step₁ apart.
            loop.forEachBlock { o, i in
                pw_transpose(1, b.columns, b.rows, x + i, b.step[1], 0, y + o, b.ld[0], 0)
            }
        } else {
            loop.forEachBlock { o, i in
                for r in 0..<b.rows {
                    for c in 0..<b.columns { y[o + r * b.ld[0] + c * b.step[0]] = x[i + r * b.ld[1] + c * b.step[1]] }
                }
            }
        }
    }
}

/// A step that copies one operand into another of the same logical shape (see `StridedCopy`):
/// layout conversions, copies made by Reshape/Flatten/Transpose/Slice, concat members that could
/// not be written in place, graph outputs.
final class CopyKernel: Kernel {
    let input: Operand
    let output: Operand
    /// Element offsets added to the input (Slice's start) and the output (a concat member's slice).
    let inputOffset: Int
    let outputOffset: Int
    let copy: StridedCopy
    let what: String

    /// Copies the output's logical shape. `inputStrides` read the input in the output's logical
    /// index order (a Transpose passes permuted strides, a Slice strides times steps with
    /// `inputOffset` at its start).
    init(_ what: String, input: Operand, output: Operand, inputStrides: [Int]? = nil, inputOffset: Int = 0, outputOffset: Int = 0) {
        self.what = what
        self.input = input
        self.output = output
        self.inputOffset = inputOffset
        self.outputOffset = outputOffset
        copy = StridedCopy(shape: output.shape, destinationStrides: output.strides, sourceStrides: inputStrides ?? input.strides)
    }

    var lowering: String { what }

    func run(_ frame: Frame) {
        guard copy.loop.count > 0 else { return }
        copy.run(from: frame.float(input) + inputOffset, to: frame.float(output) + outputOffset)
    }
}

/// Gather with plan-time indices along one axis: one strided copy per index.
final class GatherKernel: Kernel {
    let input: Operand
    let output: Operand
    /// For index k: (input offset, output offset) of its slab.
    let slabs: [(Int, Int)]
    let copy: StridedCopy

    init(axis: Int, indices: [Int], input: Operand, output: Operand) {
        self.input = input
        self.output = output
        // Output shape: input[..<axis] + indicesShape + input[(axis+1)...]; treat the indices as one
        // flattened axis of length indices.count at position `axis` of the output.
        let outer = Array(input.shape[..<axis]), inner = Array(input.shape[(axis + 1)...])
        let slabShape = outer + inner
        let inputSlab = Array(input.strides[..<axis]) + Array(input.strides[(axis + 1)...])
        // The output viewed as outer + [indices.count] + inner, dense natural.
        let viewed = outer + [indices.count] + inner
        let outputStrides = Broadcasting.strides(viewed)
        let outputSlab = Array(outputStrides[..<axis]) + Array(outputStrides[(axis + 1)...])
        copy = StridedCopy(shape: slabShape, destinationStrides: outputSlab, sourceStrides: inputSlab)
        let size = input.shape[axis]
        slabs = indices.enumerated().map { k, index in
            ((index < 0 ? index + size : index) * input.strides[axis], k * outputStrides[axis])
        }
    }

    var lowering: String { "gather \(slabs.count) slabs" }

    func run(_ frame: Frame) {
        let x = frame.float(input), y = frame.float(output)
        for (from, to) in slabs { copy.run(from: x + from, to: y + to) }
    }
}

/// Pad: constant (fill, then copy the input into the interior), edge or reflect (each output
/// element reads its mirrored or clamped input element). Negative pads crop.
final class PadKernel: Kernel {
    let mode: PadAttributes.Mode
    let value: Float
    let pads: [Int]
    let input: Operand
    let output: Operand
    /// Constant mode: the interior copy (cropped input into the padded output).
    let interior: StridedCopy?
    let interiorInputOffset: Int
    let interiorOutputOffset: Int
    let fillLoop: ElementwiseLoop

    /// The constant given at run time (a graph input), read on each run.
    let runtimeValue: Operand?

    init(mode: PadAttributes.Mode, value: Float, runtimeValue: Operand? = nil, pads: [Int], input: Operand, output: Operand) {
        self.mode = mode
        self.value = value
        self.runtimeValue = runtimeValue
        self.pads = pads
        self.input = input
        self.output = output
        let rank = input.shape.count
        // The interior: output indices [max(begin, 0), …) map to input indices [max(−begin, 0), …).
        var shape: [Int] = [], inputOffset = 0, outputOffset = 0
        for d in 0..<rank {
            let begin = pads[d], end = pads[d + rank]
            let skipInput = max(-begin, 0), skipOutput = max(begin, 0)
            shape.append(max(0, input.shape[d] - skipInput - max(-end, 0)))
            inputOffset += skipInput * input.strides[d]
            outputOffset += skipOutput * output.strides[d]
        }
        interior = mode == .constant ? StridedCopy(shape: shape, destinationStrides: output.strides, sourceStrides: input.strides) : nil
        interiorInputOffset = inputOffset
        interiorOutputOffset = outputOffset
        fillLoop = ElementwiseLoop(shape: output.shape, operandStrides: [output.strides, output.strides])
    }

    var lowering: String { "pad (\(mode.rawValue))" }

    func run(_ frame: Frame) {
        let x = frame.float(input), y = frame.float(output)
        if let interior {
            let value = runtimeValue.map { frame.float($0).pointee } ?? self.value
            let b = fillLoop.block
            fillLoop.forEachBlock { o, _ in
                for r in 0..<b.rows { for c in 0..<b.columns { y[o + r * b.ld[0] + c * b.step[0]] = value } }
            }
            if interior.loop.count > 0 { interior.run(from: x + interiorInputOffset, to: y + interiorOutputOffset) }
            return
        }
        // Edge / reflect: walk every output index.
        let rank = output.shape.count
        let count = output.count
        guard count > 0 else { return }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: rank) { index in
            index.initialize(repeating: 0)
            for _ in 0..<count {
                var source = 0, target = 0
                for d in 0..<rank {
                    let size = input.shape[d]
                    var i = index[d] - pads[d]
                    if mode == .edge {
                        i = min(max(i, 0), size - 1)
                    } else if size == 1 {
                        i = 0
                    } else {
                        let period = 2 * (size - 1)
                        i = ((i % period) + period) % period
                        if i >= size { i = period - i }
                    }
                    source += i * input.strides[d]
                    target += index[d] * output.strides[d]
                }
                y[target] = x[source]
                var d = rank - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < output.shape[d] { break }
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }
}

/// Fills its output with one value (a ConstantOfShape too large to fold into a constant).
final class FillKernel: Kernel {
    let value: Float
    let output: Operand

    init(value: Float, output: Operand) {
        self.value = value
        self.output = output
    }

    var lowering: String { "fill with \(value)" }

    func run(_ frame: Frame) {
        frame.float(output).update(repeating: value, count: output.count)
    }
}
