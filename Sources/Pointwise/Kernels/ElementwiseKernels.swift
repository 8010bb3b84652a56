import CKernels

/// y = activation(x), same logical shape; any layouts (in place when y's memory is x's).
/// Blocks of the loop go to `pw_activation_rows`.
final class ActivationKernel: Kernel {
    let activation: Activation
    let input: Operand
    let output: Operand
    let loop: ElementwiseLoop

    init(_ activation: Activation, input: Operand, output: Operand) {
        self.activation = activation
        self.input = input
        self.output = output
        loop = ElementwiseLoop(shape: output.shape, operandStrides: [output.strides, input.strides])
    }

    var lowering: String { "\(activation) (C kernel)" }

    func run(_ frame: Frame) {
        Self.applyLoop(loop, activation, x: frame.float(input), y: frame.float(output), isa: frame.isa)
    }
}

/// y = activation(a op b) with NumPy broadcasting, any layouts; broadcast operands read with
/// stride 0. Blocks go to `pw_binary` (per-channel and scalar broadcasts are its fast paths).
final class BinaryKernel: Kernel {
    let op: BinaryOperator
    let activation: Activation
    let a: Operand
    let b: Operand
    let output: Operand
    let loop: ElementwiseLoop

    init(_ op: BinaryOperator, activation: Activation, a: Operand, b: Operand, output: Operand) {
        self.op = op
        self.activation = activation
        self.a = a
        self.b = b
        self.output = output
        loop = ElementwiseLoop(shape: output.shape, operandStrides: [
            output.strides,
            Broadcasting.strides(of: a.shape, a.strides, broadcastTo: output.shape),
            Broadcasting.strides(of: b.shape, b.strides, broadcastTo: output.shape),
        ])
    }

    var lowering: String { "\(op.rawValue)" + (activation == .identity ? "" : " + \(activation)") + " (C kernel)" }

    func run(_ frame: Frame) {
        Self.apply(op, activation, loop, y: frame.float(output), a: frame.float(a), b: frame.float(b), isa: frame.isa)
    }

    static func apply(_ op: BinaryOperator, _ activation: Activation, _ loop: ElementwiseLoop, y: UnsafeMutablePointer<Float>,
                      a: UnsafePointer<Float>, b: UnsafePointer<Float>, isa: KernelISA) {
        let block = loop.block
        let parameters = activation.kernelValue
        if block.step.allSatisfy({ $0 == 0 || $0 == 1 }) && block.step[0] == 1 && block.ld.allSatisfy({ $0 >= 0 }) {
            loop.forEachBlock { o, i, j in
                pw_binary(isa.kernelValue, op.kernelValue, block.rows, block.columns,
                          a + i, block.ld[1], block.step[1], b + j, block.ld[2], block.step[2],
                          y + o, block.ld[0], parameters)
            }
        } else {
            loop.forEachBlock { o, i, j in
                for r in 0..<block.rows {
                    for c in 0..<block.columns {
                        let result = op.apply(Double(a[i + r * block.ld[1] + c * block.step[1]]),
                                              Double(b[j + r * block.ld[2] + c * block.step[2]]))
                        y[o + r * block.ld[0] + c * block.step[0]] = Float(activation.apply(result))
                    }
                }
            }
        }
    }
}

/// y = activation(x₁ + … + xₙ) with broadcasting: the first two added into y, then each further
/// one added onto y in place; the activation with the last addition.
final class SumKernel: Kernel {
    let activation: Activation
    let inputs: [Operand]
    let output: Operand
    let loops: [ElementwiseLoop]

    init(activation: Activation, inputs: [Operand], output: Operand) {
        self.activation = activation
        self.inputs = inputs
        self.output = output
        func strides(_ o: Operand) -> [Int] { Broadcasting.strides(of: o.shape, o.strides, broadcastTo: output.shape) }
        if inputs.count == 1 {
            loops = [ElementwiseLoop(shape: output.shape, operandStrides: [output.strides, strides(inputs[0])])]
        } else {
            loops = [ElementwiseLoop(shape: output.shape, operandStrides: [output.strides, strides(inputs[0]), strides(inputs[1])])]
                + inputs.dropFirst(2).map { ElementwiseLoop(shape: output.shape, operandStrides: [output.strides, output.strides, strides($0)]) }
        }
    }

    var lowering: String { "Sum of \(inputs.count)" + (activation == .identity ? "" : " + \(activation)") + " (C kernel)" }

    func run(_ frame: Frame) {
        let y = frame.float(output)
        if inputs.count == 1 {
            ActivationKernel.applyLoop(loops[0], activation, x: frame.float(inputs[0]), y: y, isa: frame.isa)
            return
        }
        for (index, loop) in loops.enumerated() {
            let last = index == loops.count - 1
            let a = index == 0 ? UnsafePointer(frame.float(inputs[0])) : UnsafePointer(y)
            let b = frame.float(inputs[index == 0 ? 1 : index + 1])
            BinaryKernel.apply(.add, last ? activation : .identity, loop, y: y, a: a, b: b, isa: frame.isa)
        }
    }
}

extension ActivationKernel {
    /// `activation` over a two-operand loop (output first), element by element where strides demand it.
    static func applyLoop(_ loop: ElementwiseLoop, _ activation: Activation, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                          isa: KernelISA) {
        let block = loop.block
        let parameters = activation.kernelValue
        if block.step[0] == 1 && (block.step[1] == 1) {
            loop.forEachBlock { o, i in
                pw_activation_rows(isa.kernelValue, x + i, block.ld[1], y + o, block.ld[0], block.rows, block.columns, parameters)
            }
        } else {
            loop.forEachBlock { o, i in
                for r in 0..<block.rows {
                    for c in 0..<block.columns {
                        y[o + r * block.ld[0] + c * block.step[0]] = activation.apply(x[i + r * block.ld[1] + c * block.step[1]])
                    }
                }
            }
        }
    }
}

/// Inference BatchNormalization not folded into a convolution: y = activation(x·scale + shift)
/// per channel, scale = γ/√(var + ε), shift = β − mean·scale (in Double, rounded once).
/// NHWC [N, C, H, W] (pixel rows) or natural [N, C] (rows of C).
final class ChannelAffineKernel: Kernel, ParallelWork {
    let scale: FloatBuffer
    let shift: FloatBuffer
    let activation: Activation
    let input: Operand
    let output: Operand
    let rows: Int
    let channels: Int
    /// BatchNorm's scale, bias, mean and variance given at run time (ONNX's node tests):
    /// scale and shift computed into the workspace on each run.
    let runtimeParameters: [Operand]?
    let epsilon: Float

    init(scale: [Float], shift: [Float], activation: Activation, input: Operand, output: Operand) {
        self.scale = FloatBuffer(scale)
        self.shift = FloatBuffer(shift)
        self.activation = activation
        self.input = input
        self.output = output
        channels = scale.count
        rows = input.count / max(scale.count, 1)
        runtimeParameters = nil
        epsilon = 0
    }

    init(epsilon: Float, parameters: [Operand], activation: Activation, input: Operand, output: Operand) {
        scale = FloatBuffer([])
        shift = FloatBuffer([])
        self.activation = activation
        self.input = input
        self.output = output
        channels = input.shape[1]
        rows = input.count / max(channels, 1)
        runtimeParameters = parameters
        self.epsilon = epsilon
    }

    var workspaceBytes: Int { runtimeParameters == nil ? 0 : 2 * channels * MemoryLayout<Float>.stride }

    /// Whether the input is an NCHW map with H·W > 1 left in natural layout, which LayoutAssignment
    /// does only when C = 1: then every element is a row of one channel (dense, checked by KernelFactory).
    static func isSingleChannelMap(_ input: Operand) -> Bool {
        input.layout != .nhwc && input.shape.count == 4 && input.shape[2] * input.shape[3] > 1
    }

    /// Distance between rows of `channels` values: NHWC pixels; [N, C] rows (or [N, C, 1, 1]); or 1
    /// for a single-channel NCHW map.
    var rowStrides: (Int, Int) {
        if input.layout == .nhwc { return (input.pixelStride, output.pixelStride) }
        if Self.isSingleChannelMap(input) { return (1, 1) }
        return (input.strides[0], output.strides[0])
    }

    private struct Job {
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let isa: KernelISA
        let scale: UnsafePointer<Float>
        let shift: UnsafePointer<Float>
    }

    var lowering: String { "channel affine" + (activation == .identity ? "" : " + \(activation)") + " (C kernel)" }
    var weightBytes: Int { scale.byteCount + shift.byteCount }

    func run(_ frame: Frame) {
        var (scalePointer, shiftPointer) = (UnsafePointer(scale.pointer), UnsafePointer(shift.pointer))
        if let p = runtimeParameters {
            let (gamma, beta, mean, variance) = (frame.float(p[0]), frame.float(p[1]), frame.float(p[2]), frame.float(p[3]))
            let s = frame.floatWorkspace(), t = s + channels
            for c in 0..<channels {
                let factor = Double(gamma[c]) / (Double(variance[c]) + Double(epsilon)).squareRoot()
                s[c] = Float(factor)
                t[c] = Float(Double(beta[c]) - Double(mean[c]) * factor)
            }
            (scalePointer, shiftPointer) = (UnsafePointer(s), UnsafePointer(t))
        }
        let parts = ThreadPool.parts(rows: rows, macs: rows * channels / 4, minimumRows: 16)
        var job = Job(x: frame.float(input), y: frame.float(output), isa: frame.isa, scale: scalePointer, shift: shiftPointer)
        withUnsafePointer(to: &job) { ThreadPool.run(parts: parts, self, context: UnsafeRawPointer($0)) }
    }

    func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer) {
        let job = context.assumingMemoryBound(to: Job.self).pointee
        let band = ThreadPool.range(part, of: parts, count: rows)
        guard !band.isEmpty else { return }
        let (ldx, ldy) = rowStrides
        pw_channel_affine(job.isa.kernelValue, band.count, channels, job.x + band.lowerBound * ldx, ldx,
                          job.scale, job.shift, job.y + band.lowerBound * ldy, ldy, activation.kernelValue)
    }
}

extension BinaryOperator {
    var kernelValue: pw_binary_op {
        switch self {
        case .add: return PW_ADD
        case .sub: return PW_SUB
        case .mul: return PW_MUL
        case .div: return PW_DIV
        }
    }
}

/// ONNX Clip with min and max given at run time: read on each run, then the clip activation.
final class ClipKernel: Kernel {
    let input: Operand
    let output: Operand
    let minimum: Operand?
    let maximum: Operand?
    let loop: ElementwiseLoop

    init(input: Operand, output: Operand, minimum: Operand?, maximum: Operand?) {
        self.input = input
        self.output = output
        self.minimum = minimum
        self.maximum = maximum
        loop = ElementwiseLoop(shape: output.shape, operandStrides: [output.strides, input.strides])
    }

    var lowering: String { "Clip (run-time bounds, C kernel)" }

    func run(_ frame: Frame) {
        let low = minimum.map { frame.float($0).pointee } ?? -.infinity
        let high = maximum.map { frame.float($0).pointee } ?? .infinity
        ActivationKernel.applyLoop(loop, .clip(min: low, max: high), x: frame.float(input), y: frame.float(output), isa: frame.isa)
    }
}
