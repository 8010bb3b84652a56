#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a graph node by node with naive reference operators on natural-layout (NCHW) data,
/// accumulating in Double: the oracle the compiled engine is tested against, and the evaluator
/// constant folding uses. It shares no code with the kernels (only the shape rules of
/// `ShapeInference`). Slow by design.
public enum ReferenceInterpreter {
    /// Runs `graph` on `inputs` (by input name, in logical NCHW order whatever the inputs' declared
    /// layouts) and returns every graph output by name, in logical order.
    public static func run(_ graph: Graph, inputs: [String: TensorValue]) throws -> [String: TensorValue] {
        var values: [ValueID: TensorValue] = graph.initializers
        for input in graph.inputs {
            let name = graph[input.value].name
            guard let value = inputs[name] else {
                throw PointwiseError.invalidArgument(name: "input '\(name)'", value: "missing", requirement: "given")
            }
            values[input.value] = value
        }
        for node in graph.nodes {
            let data = node.inputs.map { $0.flatMap { values[$0] } }
            let outputs = try evaluate(node, inputs: data, shapes: data.map { $0?.shape })
            for (id, value) in zip(node.outputs, outputs) { values[id] = value }
        }
        var result: [String: TensorValue] = [:]
        for output in graph.outputs { result[graph[output.value].name] = values[output.value] }
        return result
    }

    /// The outputs of `node` for `inputs` (nil: absent or unknown input), shapes given for every
    /// present input (`Shape` needs only its input's shape).
    static func evaluate(_ node: Node, inputs: [TensorValue?], shapes: [[Int]?]) throws -> [TensorValue] {
        func float(_ i: Int) throws -> Tensor {
            guard i < inputs.count, let tensor = inputs[i]?.floatTensor else {
                throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)): input \(i) is missing or not float32")
            }
            return tensor
        }
        func optionalFloat(_ i: Int) throws -> Tensor? { i < inputs.count && inputs[i] != nil ? try float(i) : nil }
        func value(_ i: Int) throws -> TensorValue {
            guard i < inputs.count, let value = inputs[i] else {
                throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)): input \(i) is missing")
            }
            return value
        }
        let inferred = try ShapeInference.infer(node.op, shapes: shapes, types: inputs.map { $0?.dataType }, data: inputs)
        let outputShape = inferred[0].shape

        switch node.op {
        case .conv(let a):
            return [.float32(try conv(float(0), weight: float(1), bias: optionalFloat(2), a, residual: a.hasResidual ? value(3) : nil))]

        case .depthwiseChain(let a):
            typealias Slot = DepthwiseChainAttributes
            // The stages one after the other, each as its Conv.
            let x = try float(0)
            let expanded = try a.expand.map { try conv(x, weight: float(Slot.expandWeight), bias: optionalFloat(Slot.expandBias), $0, residual: nil) } ?? x
            let filtered = try conv(expanded, weight: float(Slot.depthwiseWeight), bias: optionalFloat(Slot.depthwiseBias), a.depthwise, residual: nil)
            return [.float32(try conv(filtered, weight: float(Slot.projectWeight), bias: optionalFloat(Slot.projectBias), a.project,
                                      residual: a.project.hasResidual ? value(Slot.residual) : nil))]

        case .gemm(let a):
            return [.float32(try gemm(float(0), float(1), optionalFloat(2), a))]

        case .matMul:
            return [.float32(try matMul(float(0), float(1), outputShape: outputShape))]

        case .batchNormalization(let epsilon, let activation):
            let x = try float(0)
            let (scale, bias, mean, variance) = (try float(1).scalars, try float(2).scalars, try float(3).scalars, try float(4).scalars)
            let channels = x.shape[1], inner = x.shape[2...].reduce(1, *)
            var y = x
            for i in 0..<x.count {
                let c = (i / inner) % channels
                let normalized = (Double(x.scalars[i]) - Double(mean[c])) / (Double(variance[c]) + Double(epsilon)).squareRoot()
                y.scalars[i] = Float(activation.apply(normalized * Double(scale[c]) + Double(bias[c])))
            }
            return [.float32(y)]

        case .lrn(let a):
            let x = try float(0)
            let (n, c, inner) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
            var y = x
            let below = (a.size - 1) / 2, above = a.size - 1 - below
            for b in 0..<n {
                for ch in 0..<c {
                    for p in 0..<inner {
                        var sum = 0.0
                        for k in max(0, ch - below)...min(c - 1, ch + above) {
                            let v = Double(x.scalars[(b * c + k) * inner + p]); sum += v * v
                        }
                        let index = (b * c + ch) * inner + p
                        y.scalars[index] = Float(Double(x.scalars[index]) / pow(Double(a.bias) + Double(a.alpha) / Double(a.size) * sum, Double(a.beta)))
                    }
                }
            }
            return [.float32(y)]

        case .activation(let activation):
            return [.float32(map(try float(0), activation))]

        case .clip:
            let low = try optionalFloat(1)?.scalars.first ?? -.infinity
            let high = try optionalFloat(2)?.scalars.first ?? .infinity
            return [.float32(map(try float(0), .clip(min: low, max: high)))]

        case .binary(let op, let activation):
            return [try elementwise(op, value(0), value(1), activation: activation)]

        case .sum(let activation):
            var total = try value(0)
            for i in 1..<inputs.count { total = try elementwise(.add, total, value(i), activation: .identity) }
            if inputs.count == 1 { total = .float32(try Tensor(shape: outputShape, scalars: try float(0).scalars)) }
            return [.float32(map(total.floatTensor!, activation))]

        case .maxPool(let a), .averagePool(let a):
            return [.float32(try pool(float(0), a, isMax: { if case .maxPool = node.op { return true }; return false }()))]

        case .globalAveragePool, .globalMaxPool:
            let x = try float(0)
            let (n, c, inner) = (x.shape[0], x.shape[1], x.shape[2...].reduce(1, *))
            var y = try Tensor(zeros: outputShape)
            let isMax = node.op == .globalMaxPool
            for i in 0..<(n * c) {
                let window = x.scalars[(i * inner)..<((i + 1) * inner)].map(Double.init)
                y.scalars[i] = Float(isMax ? nanMax(window) : window.reduce(0, +) / Double(inner))
            }
            return [.float32(y)]

        case .concat(let axis):
            return [try concat(inputs.map { $0! }, axis: ShapeInference.normalizedAxis(axis, rank: outputShape.count, what: "axis"), outputShape: outputShape)]

        case .flatten, .reshape, .squeeze, .unsqueeze, .identity:
            return [try reshaped(value(0), outputShape)]

        case .transpose(let permutation):
            let x = try value(0)
            let perm = try ShapeInference.transposePermutation(permutation, rank: x.shape.count)
            let inputStrides = Broadcasting.strides(x.shape)
            return [try gathered(x, outputShape) { index in zip(perm, index).reduce(0) { $0 + inputStrides[$1.0] * $1.1 } }]

        case .pad(let a):
            let x = try float(0)
            let pads = try ShapeInference.padAmounts(a, data: inputs, rank: x.rank)
            let constant = try a.value ?? optionalFloat(2)?.scalars.first ?? 0
            let strides = Broadcasting.strides(x.shape)
            let rank = x.rank
            var y = try Tensor(zeros: outputShape)
            forEachIndex(outputShape) { flat, index in
                var offset = 0
                for d in 0..<rank {
                    var i = index[d] - pads[d]
                    let size = x.shape[d]
                    if i < 0 || i >= size {
                        switch a.mode {
                        case .constant: y.scalars[flat] = constant; return
                        case .edge: i = min(max(i, 0), size - 1)
                        case .reflect:
                            let period = 2 * (size - 1)
                            if period == 0 { i = 0 } else {
                                i = ((i % period) + period) % period
                                if i >= size { i = period - i }
                            }
                        }
                    }
                    offset += i * strides[d]
                }
                y.scalars[flat] = x.scalars[offset]
            }
            return [.float32(y)]

        case .softmax(let axis, let flattensTo2D):
            let x = try float(0)
            let a = try ShapeInference.normalizedAxis(axis, rank: x.rank, what: "Softmax axis")
            var y = x
            // Groups of `length` elements `step` apart: the softmax axis, or (opset < 13) everything from it on.
            let (outer, length, step): (Int, Int, Int) = flattensTo2D
                ? (x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *), 1)
                : (x.shape[..<a].reduce(1, *) * x.shape[(a + 1)...].reduce(1, *), x.shape[a], x.shape[(a + 1)...].reduce(1, *))
            for group in 0..<outer {
                let base = flattensTo2D ? group * length : (group / step) * length * step + group % step
                let row = (0..<length).map { Double(x.scalars[base + $0 * step]) }
                let largest = row.max() ?? 0
                let exps = row.map { exp($0 - largest) }
                let total = exps.reduce(0, +)
                for i in 0..<length { y.scalars[base + i * step] = Float(exps[i] / total) }
            }
            return [.float32(y)]

        case .constant(let value):
            return [value]

        case .shape(let start, let end):
            let shape = shapes[0]!
            let (begin, stop) = ShapeInference.shapeRange(rank: shape.count, start: start, end: end)
            return [.int64(Int64Tensor(Array(shape[begin..<max(begin, stop)])))]

        case .gather(let axis):
            let x = try value(0)
            guard let indices = inputs.count > 1 ? inputs[1]?.integers : nil else {
                throw PointwiseError.invalidGraph("node '\(node.name)' (Gather): indices missing or not int64")
            }
            let a = try ShapeInference.normalizedAxis(axis, rank: x.shape.count, what: "Gather axis")
            let size = x.shape[a]
            // (indices in range: checked by ShapeInference.infer above)
            let inner = x.shape[(a + 1)...].reduce(1, *)
            let indexCount = indices.count
            return [try gathered(x, outputShape) { index in
                // Output index = outer · indexCount · inner + k · inner + i
                var flat = 0
                for (d, i) in index.enumerated() { flat = flat * outputShape[d] + i }
                let i = flat % inner, k = (flat / inner) % indexCount, o = flat / (inner * indexCount)
                let source = indices[k] < 0 ? indices[k] + size : indices[k]
                return (o * size + source) * inner + i
            }]

        case .cast(let to):
            let x = try value(0)
            switch (x, to) {
            case (.float32, .float32), (.int64, .int64): return [x]
            case (.int64(let t), .float32): return [.float32(try Tensor(shape: t.shape, scalars: t.scalars.map { Float($0) }))]
            case (.float32(let t), .int64):
                // Float → int64 truncates toward zero; NaN and out-of-range values are an error, not a trap.
                let converted = try t.scalars.map { v -> Int64 in
                    guard v.isFinite, abs(v) < 9.2e18 else {
                        throw PointwiseError.invalidArgument(name: "Cast to int64", value: "\(v)", requirement: "a finite value in the int64 range")
                    }
                    return Int64(v)
                }
                return [.int64(try Int64Tensor(shape: t.shape, scalars: converted))]
            }

        case .slice(let a):
            let x = try value(0)
            let ranges = try ShapeInference.sliceRanges(a, data: inputs, present: { $0 < inputs.count && inputs[$0] != nil }, shape: x.shape)
            let strides = Broadcasting.strides(x.shape)
            return [try gathered(x, outputShape) { index in
                zip(index, ranges).enumerated().reduce(0) { $0 + ($1.element.1.start + $1.element.0 * $1.element.1.step) * strides[$1.offset] }
            }]

        case .constantOfShape(let fill):
            let count = outputShape.reduce(1, *)
            switch fill {
            case .int64(let t)?: return [.int64(try Int64Tensor(shape: outputShape, scalars: Array(repeating: t.scalars.first ?? 0, count: count)))]
            case .float32(let t)?: return [.float32(try Tensor(shape: outputShape, scalars: Array(repeating: t.scalars.first ?? 0, count: count)))]
            case nil: return [.float32(try Tensor(zeros: outputShape))]
            }
        }
    }

    // MARK: Helpers

    /// Conv on an NCHW tensor: Double-accumulating `Reference.conv2D`, then the fused residual and activation.
    static func conv(_ x: Tensor, weight w: Tensor, bias: Tensor?, _ a: ConvolutionAttributes, residual: TensorValue?) throws -> Tensor {
        let g = try WindowGeometry(inputHeight: x.shape[2], inputWidth: x.shape[3], kernel: [w.shape[2], w.shape[3]],
                                   strides: a.strides, dilations: a.dilations, pads: a.pads, autoPad: a.autoPad, what: "Conv")
        var y = try Reference.conv2D(Tensor(nchw: x), weight: w, bias: bias, stride: g.stride,
                                     padding: g.padding, dilation: g.dilation, groups: a.group).nchw()
        if let residual { y = try elementwise(.add, .float32(y), residual, activation: .identity).floatTensor! }
        return map(y, a.activation)
    }

    static func map(_ x: Tensor, _ activation: Activation) -> Tensor {
        if activation == .identity { return x }
        var y = x
        for i in 0..<y.count { y.scalars[i] = activation.apply(x.scalars[i]) }
        return y
    }

    /// max that returns NaN if any value is NaN (PyTorch's max pooling).
    static func nanMax(_ values: [Double]) -> Double {
        if values.contains(where: \.isNaN) { return .nan }
        return values.max() ?? -.infinity
    }

    /// Calls `body(flat, index)` for every multi-index of `shape` in row-major order.
    static func forEachIndex(_ shape: [Int], _ body: (Int, [Int]) -> Void) {
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<count {
            body(flat, index)
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    /// A tensor of `shape` whose element at each index is `x`'s element at flat `source(index)`.
    static func gathered(_ x: TensorValue, _ shape: [Int], _ source: ([Int]) -> Int) throws -> TensorValue {
        switch x {
        case .float32(let t):
            var y = try Tensor(zeros: shape)
            forEachIndex(shape) { flat, index in y.scalars[flat] = t.scalars[source(index)] }
            return .float32(y)
        case .int64(let t):
            var scalars = [Int64](repeating: 0, count: shape.reduce(1, *))
            forEachIndex(shape) { flat, index in scalars[flat] = t.scalars[source(index)] }
            return .int64(try Int64Tensor(shape: shape, scalars: scalars))
        }
    }

    static func reshaped(_ x: TensorValue, _ shape: [Int]) throws -> TensorValue {
        switch x {
        case .float32(let t): return .float32(try Tensor(shape: shape, scalars: t.scalars))
        case .int64(let t): return .int64(try Int64Tensor(shape: shape, scalars: t.scalars))
        }
    }

    /// a op b with broadcasting, float32 or int64 (both the same type), then the activation (float only).
    static func elementwise(_ op: BinaryOperator, _ a: TensorValue, _ b: TensorValue, activation: Activation) throws -> TensorValue {
        let shape = try Broadcasting.shape([a.shape, b.shape])
        let sa = Broadcasting.strides(of: a.shape, Broadcasting.strides(a.shape), broadcastTo: shape)
        let sb = Broadcasting.strides(of: b.shape, Broadcasting.strides(b.shape), broadcastTo: shape)
        func offset(_ strides: [Int], _ index: [Int]) -> Int { zip(strides, index).reduce(0) { $0 + $1.0 * $1.1 } }
        switch (a, b) {
        case (.float32(let x), .float32(let z)):
            var y = try Tensor(zeros: shape)
            forEachIndex(shape) { flat, index in
                y.scalars[flat] = Float(activation.apply(op.apply(Double(x.scalars[offset(sa, index)]), Double(z.scalars[offset(sb, index)]))))
            }
            return .float32(y)
        case (.int64(let x), .int64(let z)):
            var scalars = [Int64](repeating: 0, count: shape.reduce(1, *))
            var failure: (Int64, Int64)?
            forEachIndex(shape) { flat, index in
                let (l, r) = (x.scalars[offset(sa, index)], z.scalars[offset(sb, index)])
                if let v = op.apply(l, r) { scalars[flat] = v } else { failure = (l, r) }
            }
            if let (l, r) = failure {
                throw PointwiseError.invalidArgument(name: "int64 \(op.rawValue) of \(l) and \(r)", value: "overflow or division by zero",
                                                     requirement: "a result in the int64 range")
            }
            return .int64(try Int64Tensor(shape: shape, scalars: scalars))
        default:
            throw PointwiseError.shapeMismatch(what: "\(op.rawValue) operand types", expected: "\(a.dataType)", actual: "\(b.dataType)")
        }
    }

    static func concat(_ inputs: [TensorValue], axis: Int, outputShape: [Int]) throws -> TensorValue {
        let outer = outputShape[..<axis].reduce(1, *)
        let inner = outputShape[(axis + 1)...].reduce(1, *)
        switch inputs[0] {
        case .float32:
            var scalars: [Float] = []
            scalars.reserveCapacity(outputShape.reduce(1, *))
            for o in 0..<outer {
                for input in inputs {
                    let block = input.shape[axis] * inner
                    scalars += input.floatTensor!.scalars[(o * block)..<((o + 1) * block)]
                }
            }
            return .float32(try Tensor(shape: outputShape, scalars: scalars))
        case .int64:
            var scalars: [Int64] = []
            for o in 0..<outer {
                for input in inputs {
                    guard let t = input.int64Tensor else { throw PointwiseError.invalidGraph("Concat of mixed data types") }
                    let block = input.shape[axis] * inner
                    scalars += t.scalars[(o * block)..<((o + 1) * block)]
                }
            }
            return .int64(try Int64Tensor(shape: outputShape, scalars: scalars))
        }
    }

    static func gemm(_ a: Tensor, _ b: Tensor, _ c: Tensor?, _ attributes: GemmAttributes) throws -> Tensor {
        let (m, k) = attributes.transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let n = attributes.transposeB ? b.shape[0] : b.shape[1]
        var y = try Tensor(zeros: [m, n])
        let cStrides = c.map { Broadcasting.strides(of: $0.shape, Broadcasting.strides($0.shape), broadcastTo: [m, n]) }
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let av = attributes.transposeA ? a.scalars[p * m + i] : a.scalars[i * k + p]
                    let bv = attributes.transposeB ? b.scalars[j * k + p] : b.scalars[p * n + j]
                    sum += Double(av) * Double(bv)
                }
                var value = Double(attributes.alpha) * sum
                if let c, let s = cStrides { value += Double(attributes.beta) * Double(c.scalars[i * s[0] + j * s[1]]) }
                y.scalars[i * n + j] = Float(attributes.activation.apply(value))
            }
        }
        return y
    }

    static func matMul(_ a: Tensor, _ b: Tensor, outputShape: [Int]) throws -> Tensor {
        let a2 = a.rank == 1 ? [1] + a.shape : a.shape
        let b2 = b.rank == 1 ? b.shape + [1] : b.shape
        let (m, k, n) = (a2[a2.count - 2], a2[a2.count - 1], b2[b2.count - 1])
        let batch = try Broadcasting.shape([Array(a2.dropLast(2)), Array(b2.dropLast(2))])
        let aStrides = Broadcasting.strides(of: Array(a2.dropLast(2)), Broadcasting.strides(Array(a2.dropLast(2))), broadcastTo: batch)
        let bStrides = Broadcasting.strides(of: Array(b2.dropLast(2)), Broadcasting.strides(Array(b2.dropLast(2))), broadcastTo: batch)
        var scalars = [Float](repeating: 0, count: batch.reduce(1, *) * m * n)
        forEachIndex(batch) { flat, index in
            let aBase = zip(aStrides, index).reduce(0) { $0 + $1.0 * $1.1 } * m * k
            let bBase = zip(bStrides, index).reduce(0) { $0 + $1.0 * $1.1 } * k * n
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += Double(a.scalars[aBase + i * k + p]) * Double(b.scalars[bBase + p * n + j]) }
                    scalars[(flat * m + i) * n + j] = Float(sum)
                }
            }
        }
        return try Tensor(shape: outputShape, scalars: scalars)
    }

    /// Max or average pooling on NCHW, from the definition: each window position, padding excluded
    /// from the max and counted per `countIncludePad` for the average (within the padded extent).
    static func pool(_ x: Tensor, _ a: PoolingAttributes, isMax: Bool) throws -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let g = try WindowGeometry(inputHeight: h, inputWidth: w, kernel: a.kernelShape, strides: a.strides, dilations: a.dilations,
                                   pads: a.pads, autoPad: a.autoPad, ceilMode: a.ceilMode, what: isMax ? "MaxPool" : "AveragePool")
        let (oh, ow) = (g.height.outputSize, g.width.outputSize)
        var y = try Tensor(zeros: [n, c, oh, ow])
        for plane in 0..<(n * c) {
            for i in 0..<oh {
                for j in 0..<ow {
                    var window: [Double] = []
                    var padded = 0
                    for kh in 0..<a.kernelShape[0] {
                        let ih = i * g.stride.height - g.height.padBegin + kh * g.dilation.height
                        for kw in 0..<a.kernelShape[1] {
                            let iw = j * g.stride.width - g.width.padBegin + kw * g.dilation.width
                            if ih >= -g.height.padBegin && ih < h + g.height.padEnd && iw >= -g.width.padBegin && iw < w + g.width.padEnd { padded += 1 }
                            if ih >= 0 && ih < h && iw >= 0 && iw < w { window.append(Double(x.scalars[(plane * h + ih) * w + iw])) }
                        }
                    }
                    let value = isMax ? nanMax(window) : window.reduce(0, +) / Double(a.countIncludePad ? padded : window.count)
                    y.scalars[(plane * oh + i) * ow + j] = Float(value)
                }
            }
        }
        return y
    }
}
