import FuzzSupport
import Pointwise

/// A small graph decoded from the fuzzer's bytes with `GraphBuilder` (inputs of any rank, then a
/// handful of nodes of every `Operator` case whose attributes come from the bytes, absurd ones
/// included: huge or negative pads, strides, kernels, axes, groups), compiled and run once on
/// zero inputs within `FuzzLimits`. A thrown error is fine; a trap, a crash or a leak is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var reader = ByteReader(data, size)
    var decoder = GraphDecoder()
    guard let graph = decoder.decode(&reader) else { return 0 }
    compileAndRun(graph)
    return 0
}

/// Turns bytes into a graph, one choice per byte (see `ByteReader`).
struct GraphDecoder {
    let builder = GraphBuilder(name: "fuzz")
    /// Every value made so far: operands for the next nodes.
    var values: [ValueID] = []
    var constants = 0

    static let maximumNodes = 8
    /// Largest constant the decoder makes (elements).
    static let maximumConstant = 4096

    mutating func decode(_ r: inout ByteReader) -> Graph? {
        let inputCount = 1 + r.index(2)
        for i in 0..<inputCount {
            let rank = r.choice([4, 4, 4, 4, 2, 3, 1, 5, 0])
            let shape = (0..<rank).map { _ in dimension(&r) }
            let layout: Layout = rank == 4 && r.index(4) == 0 ? .nhwc : .natural
            values.append(builder.input("x\(i)", shape: shape, layout: layout))
        }
        if r.index(5) == 0 {
            // An int64 input: a plan-time value (shape, pads, axes given at run time).
            values.append(builder.input("s", shape: [.fixed(r.int(in: 0...5))], dataType: .int64))
        }
        let nodeCount = 1 + r.index(Self.maximumNodes)
        for k in 0..<nodeCount {
            guard !r.isAtEnd else { break }
            addNode(&r, name: "n\(k)")
        }
        guard let last = values.last else { return nil }
        builder.output(last, layout: r.index(4) == 0 ? .nhwc : .natural)
        if r.index(3) == 0 {
            // A second output: any value, a graph input or a constant included.
            builder.output(r.choice(values), layout: r.bool() ? .nhwc : .natural)
        }
        do {
            return try builder.build()
        } catch {
            note("build error: \(error)")
            return nil
        }
    }

    // MARK: Pieces

    /// Mostly a small extent, sometimes a symbol or an absurd number.
    func dimension(_ r: inout ByteReader) -> Dimension {
        let selector = r.byte()
        switch selector {
        case 0..<200: return .fixed(Int(selector % 6))
        case 200..<235: return .symbolic(["N", "M", "K"][Int(selector) % 3])
        default: return .fixed(r.absurdInt())
        }
    }

    /// A number in `small` most of the time, else an absurd one.
    func number(_ r: inout ByteReader, _ small: ClosedRange<Int>) -> Int {
        r.byte() < 210 ? r.int(in: small) : r.absurdInt()
    }

    func numbers(_ r: inout ByteReader, count: Int, _ small: ClosedRange<Int>) -> [Int] {
        // Usually the expected length, sometimes another one.
        let n = r.byte() < 230 ? count : r.int(in: 0...6)
        return (0..<n).map { _ in number(&r, small) }
    }

    /// An operand: usually the newest value, else any earlier one.
    func operand(_ r: inout ByteReader) -> ValueID {
        r.index(3) != 0 ? values[values.count - 1] : r.choice(values)
    }

    func activation(_ r: inout ByteReader) -> Activation {
        switch r.index(8) {
        case 0: return .relu
        case 1: return .clip(min: r.float(), max: r.float())
        case 2: return .leakyRelu(alpha: r.float())
        case 3: return .sigmoid
        case 4: return .hardSigmoid(alpha: r.float(), beta: r.float())
        case 5: return .hardSwish
        default: return .identity
        }
    }

    /// A float constant of `shape` (nil: a shape from the bytes), values from the bytes.
    mutating func floatConstant(_ r: inout ByteReader, shape: [Int]? = nil) -> ValueID? {
        let shape = shape ?? (0..<r.int(in: 0...4)).map { _ in number(&r, 0...4) }
        guard let count = elementCount(shape), count <= Self.maximumConstant else { return nil }
        let first = r.float(), step = r.float()
        let scalars = (0..<count).map { first + step * Float($0 % 5) }
        guard let tensor = try? Tensor(shape: shape, scalars: scalars) else { return nil }
        constants += 1
        return builder.constant("c\(constants)", tensor)
    }

    /// An int64 constant (shapes, axes, pads, indices): rank 1 usually, absurd values included.
    mutating func intConstant(_ r: inout ByteReader, count: Int? = nil, small: ClosedRange<Int> = -2...5) -> ValueID {
        let n = count.map { r.byte() < 230 ? $0 : r.int(in: 0...6) } ?? r.int(in: 0...6)
        let scalars = (0..<n).map { _ in Int64(number(&r, small)) }
        constants += 1
        if n == 1 && r.index(4) == 0, let scalar = try? Int64Tensor(shape: [], scalars: scalars) {
            return builder.constant("i\(constants)", scalar)
        }
        return builder.constant("i\(constants)", Int64Tensor(scalars))
    }

    /// A float operand: an earlier value or a new constant.
    mutating func floatOperand(_ r: inout ByteReader, shape: [Int]? = nil) -> ValueID {
        if r.index(3) == 0, let constant = floatConstant(&r, shape: shape) { return constant }
        return operand(&r)
    }

    /// An int64 operand: usually a new constant, else an earlier value (a Shape's output, the int64 input).
    mutating func intOperand(_ r: inout ByteReader, count: Int? = nil) -> ValueID {
        r.index(4) != 0 ? intConstant(&r, count: count) : operand(&r)
    }

    /// The channels of `x` where the builder knows its shape.
    func channels(_ x: ValueID) -> Int? {
        guard let shape = builder.shape(of: x), shape.count >= 2 else { return nil }
        return shape[1]
    }

    // MARK: Nodes

    mutating func addNode(_ r: inout ByteReader, name: String) {
        var outputType = DataType.float32
        let op: Operator
        var inputs: [ValueID?]
        switch r.index(28) {
        case 0:
            let x = operand(&r)
            let group = number(&r, 1...3)
            let outputChannels = number(&r, 0...4), kernel = [number(&r, 1...3), number(&r, 1...3)]
            let perGroup = channels(x).map { group > 0 && $0 % group == 0 ? $0 / group : $0 } ?? number(&r, 0...4)
            let weight = r.index(5) == 0 ? operand(&r) : floatConstant(&r, shape: [outputChannels, perGroup] + kernel) ?? operand(&r)
            let bias: ValueID? = r.bool() ? floatOperand(&r, shape: [outputChannels]) : nil
            var attributes = ConvolutionAttributes(
                kernelShape: r.index(3) == 0 ? numbers(&r, count: 2, 1...3) : (r.bool() ? kernel : nil),
                strides: numbers(&r, count: 2, 1...3), dilations: numbers(&r, count: 2, 1...2),
                pads: numbers(&r, count: 4, 0...2), autoPad: r.choice([.notSet, .notSet, .sameUpper, .sameLower, .valid]),
                group: group, activation: activation(&r))
            inputs = [x, weight, bias]
            if r.index(6) == 0 {
                attributes.hasResidual = true
                inputs.append(operand(&r))
            }
            op = .conv(attributes)
        case 1:
            let a = operand(&r)
            let b = floatOperand(&r, shape: [number(&r, 0...5), number(&r, 0...5)])
            let c: ValueID? = r.bool() ? floatOperand(&r) : nil
            op = .gemm(GemmAttributes(alpha: r.float(), beta: r.float(), transposeA: r.bool(), transposeB: r.bool(),
                                      activation: activation(&r)))
            inputs = [a, b, c]
        case 2:
            inputs = [operand(&r), floatOperand(&r)]
            op = .matMul
        case 3:
            let x = operand(&r)
            let c = channels(x) ?? number(&r, 0...4)
            inputs = [x] + (0..<4).map { _ in floatOperand(&r, shape: r.index(6) == 0 ? [number(&r, 0...4)] : [c]) }
            op = .batchNormalization(epsilon: r.float(), activation: activation(&r))
        case 4:
            inputs = [operand(&r)]
            op = .lrn(LRNAttributes(size: number(&r, 1...5), alpha: r.float(), beta: r.float(), bias: r.float()))
        case 5:
            inputs = [operand(&r)]
            op = .activation(activation(&r))
        case 6:
            inputs = [operand(&r)] + (1...2).map { _ in r.bool() ? floatOperand(&r, shape: r.bool() ? [] : [1]) : nil }
            op = .clip
        case 7:
            inputs = [operand(&r), floatOperand(&r)]
            op = .binary(r.choice(BinaryOperator.allCases), activation: activation(&r))
        case 8:
            inputs = (0..<r.int(in: 1...3)).map { _ in floatOperand(&r) }
            op = .sum(activation: activation(&r))
        case 9, 10:
            let isMax = r.bool()
            inputs = [operand(&r)]
            let attributes = PoolingAttributes(
                kernelShape: numbers(&r, count: 2, 1...3), strides: numbers(&r, count: 2, 1...3),
                dilations: numbers(&r, count: 2, 1...2), pads: numbers(&r, count: 4, 0...2),
                autoPad: r.choice([.notSet, .notSet, .sameUpper, .sameLower, .valid]), ceilMode: r.bool(),
                countIncludePad: r.bool())
            op = isMax ? .maxPool(attributes) : .averagePool(attributes)
        case 11:
            inputs = [operand(&r)]
            op = r.bool() ? .globalAveragePool : .globalMaxPool
        case 12:
            inputs = (0..<r.int(in: 1...3)).map { _ in operand(&r) }
            op = .concat(axis: number(&r, -2...3))
        case 13:
            inputs = [operand(&r)]
            op = .flatten(axis: number(&r, -2...4))
        case 14:
            inputs = [operand(&r), intOperand(&r)]
            op = .reshape(allowZero: r.bool())
        case 15:
            inputs = [operand(&r)]
            op = .transpose(permutation: r.bool() ? nil : numbers(&r, count: r.int(in: 0...5), 0...4))
        case 16:
            let axes: [Int]? = r.bool() ? numbers(&r, count: r.int(in: 0...2), -2...3) : nil
            inputs = [operand(&r), axes == nil && r.bool() ? intOperand(&r) : nil]
            op = .squeeze(axes: axes)
        case 17:
            let axes: [Int]? = r.bool() ? numbers(&r, count: r.int(in: 0...2), -2...4) : nil
            inputs = [operand(&r), axes == nil ? intOperand(&r) : nil]
            op = .unsqueeze(axes: axes)
        case 18:
            inputs = [operand(&r)]
            op = .identity
        case 19:
            let mode = r.choice([PadAttributes.Mode.constant, .reflect, .edge])
            let x = operand(&r)
            if r.bool() {
                inputs = [x]
                op = .pad(PadAttributes(mode: mode, pads: numbers(&r, count: 8, -1...2), value: r.float()))
            } else {
                inputs = [x, intOperand(&r, count: 8), r.bool() ? floatOperand(&r, shape: []) : nil,
                          r.index(3) == 0 ? intOperand(&r) : nil]
                op = .pad(PadAttributes(mode: mode))
            }
        case 20:
            inputs = [operand(&r)]
            op = .softmax(axis: number(&r, -2...3), flattensTo2D: r.bool())
        case 21:
            inputs = []
            if r.bool(), let constant = floatConstant(&r), case let tensor? = constantTensor(constant) {
                op = .constant(.float32(tensor))
            } else {
                let scalars = (0..<r.int(in: 0...6)).map { _ in Int64(r.absurdInt()) }
                op = .constant(.int64(Int64Tensor(scalars)))
                outputType = .int64
            }
        case 22:
            inputs = [operand(&r)]
            op = .shape(start: number(&r, -3...4), end: r.bool() ? number(&r, -3...5) : nil)
            outputType = .int64
        case 23:
            inputs = [operand(&r), intOperand(&r)]
            op = .gather(axis: number(&r, -2...3))
        case 24:
            inputs = [operand(&r)]
            outputType = r.bool() ? .int64 : .float32
            op = .cast(to: outputType)
        case 25:
            let x = operand(&r)
            if r.bool() {
                let count = r.int(in: 0...4)
                inputs = [x]
                op = .slice(SliceAttributes(starts: numbers(&r, count: count, -3...4), ends: numbers(&r, count: count, -3...5),
                                            axes: r.bool() ? numbers(&r, count: count, -3...3) : nil))
            } else {
                let count = r.int(in: 0...4)
                inputs = [x, intOperand(&r, count: count), intOperand(&r, count: count),
                          r.bool() ? intOperand(&r, count: count) : nil, r.bool() ? intOperand(&r, count: count) : nil]
                op = .slice(SliceAttributes())
            }
        case 26:
            inputs = [intOperand(&r)]
            let value: TensorValue?
            switch r.index(3) {
            case 0: value = nil
            case 1: value = .float32(try! Tensor(shape: [1], scalars: [r.float()]))
            default:
                value = .int64(Int64Tensor([Int64(r.absurdInt())]))
                outputType = .int64
            }
            op = .constantOfShape(value)
        default:
            // A constant node's worth of int64 arithmetic: shapes computed at plan time.
            inputs = [intOperand(&r), intOperand(&r)]
            op = .binary(r.choice(BinaryOperator.allCases), activation: .identity)
            outputType = .int64
        }
        let outputs = r.index(16) == 0 ? 2 : 1
        values += builder.node(op, inputs, name: name, outputs: outputs, outputType: outputType)
    }

    /// The float data of a constant the decoder made.
    func constantTensor(_ id: ValueID) -> Tensor? {
        builder.graph.initializers[id]?.floatTensor
    }
}
