/// Gives every value its logical (NCHW) shape and data type, from the graph inputs' shapes
/// (bound before this pass runs) and the initializers, checking each node's inputs on the way.
///
/// Shapes that depend on data (a Reshape's target computed from `Shape`, Squeeze's axes as an
/// input) are resolved by evaluating the int64 computations that lead to them with the reference
/// interpreter: the plan is specialised on those values. A shape that depends on float data
/// computed at run time cannot be planned and is an error saying which node needs it.
public struct ShapeInference: GraphPass {
    public let name = "shape inference"

    /// Data computed for plan-time values is kept only up to this many elements.
    static let propagatedElementLimit = 1 << 16

    public init() {}

    public func run(on graph: inout Graph) throws {
        var known: [ValueID: TensorValue] = graph.initializers
        for input in graph.inputs where graph[input.value].shape == nil {
            throw PointwiseError.invalidGraph("graph input '\(graph[input.value].name)' has no bound shape (declared \(input.shape.map(\.description)))")
        }
        for index in graph.nodes.indices {
            let node = graph.nodes[index]
            let shapes = node.inputs.map { $0.flatMap { graph[$0].shape } }
            for (slot, input) in node.inputs.enumerated() where input != nil && shapes[slot] == nil {
                throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)): input \(slot) '\(graph[input!].name)' has no known shape")
            }
            let types = node.inputs.map { $0.map { graph[$0].dataType } }
            let data = node.inputs.map { $0.flatMap { known[$0] } }
            let outputs: [(shape: [Int], type: DataType)]
            do {
                outputs = try Self.infer(node.op, shapes: shapes, types: types, data: data)
                // Every shape the plan will use is a valid one: counts and strides cannot overflow.
                // And at most 2³¹ − 1 elements: OpenBLAS takes 32-bit sizes, and every GEMM dimension and
                // leading dimension is at most the element count of a value it reads or writes.
                for output in outputs where try Tensor.elementCount(of: output.shape) > Int(Int32.max) {
                    throw PointwiseError.invalidArgument(name: "shape \(describe(output.shape))", value: "more than 2^31 − 1 elements",
                                                         requirement: "at most 2^31 − 1 elements per tensor (OpenBLAS's 32-bit sizes)")
                }
            } catch let error as PointwiseError {
                throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)): \(error)")
            }
            guard outputs.count >= node.outputs.count else {
                throw PointwiseError.invalidGraph("node '\(node.name)' (\(node.op.typeName)) has \(node.outputs.count) outputs; the operator gives \(outputs.count)")
            }
            for (output, inferred) in zip(node.outputs, outputs) {
                graph[output].shape = inferred.shape
                graph[output].dataType = inferred.type
            }
            // Data propagation: plan-time values (int64, or anything built only from constants) that are small.
            let allKnown = node.presentInputs.allSatisfy { known[$0] != nil }
            let isPlanTime = ConstantFolding.isPlanTimeOperator(node.op) || outputs.allSatisfy { $0.type == .int64 }
            let small = outputs.allSatisfy { $0.shape.reduce(1, *) <= Self.propagatedElementLimit }
            if small && isPlanTime && (allKnown || { if case .shape = node.op { return true }; return false }()) {
                let values = try ReferenceInterpreter.evaluate(node, inputs: data, shapes: shapes)
                for (output, value) in zip(node.outputs, values) { known[output] = value }
            }
        }
    }

    // MARK: Per operator

    /// Output shapes and types of `op` for inputs of `shapes` and `types`, with the data of the
    /// inputs known at plan time (`data`, nil where not known). Throws naming the mismatch.
    static func infer(_ op: Operator, shapes: [[Int]?], types: [DataType?], data: [TensorValue?]) throws -> [(shape: [Int], type: DataType)] {
        func shape(_ i: Int) throws -> [Int] {
            guard i < shapes.count, let s = shapes[i] else {
                throw PointwiseError.invalidArgument(name: "input \(i)", value: "missing", requirement: "present")
            }
            return s
        }
        func type(_ i: Int) -> DataType { i < types.count ? types[i] ?? .float32 : .float32 }
        func requireFloat(_ indices: [Int]) throws {
            for i in indices where i < types.count && types[i] != nil && types[i] != .float32 {
                throw PointwiseError.invalidArgument(name: "input \(i) data type", value: "\(types[i]!)", requirement: "float32")
            }
        }
        func present(_ i: Int) -> Bool { i < shapes.count && shapes[i] != nil }
        func float(_ s: [Int]) -> [(shape: [Int], type: DataType)] { [(s, .float32)] }

        switch op {
        case .conv(let a):
            try requireFloat(Array(0..<shapes.count))
            let x = try shape(0), w = try shape(1)
            guard x.count == 4 else {
                throw PointwiseError.shapeMismatch(what: "Conv input rank (2-D convolution: [N, C, H, W]; 1-D and 3-D convolutions are not supported)",
                                                   expected: "4", actual: "\(x.count) (\(describe(x)))")
            }
            guard w.count == 4 else {
                throw PointwiseError.shapeMismatch(what: "Conv weight rank ([M, C/group, kH, kW])", expected: "4", actual: "\(w.count) (\(describe(w)))")
            }
            // group comes from the file: weight[1]·group may overflow.
            let (channels, overflow) = w[1].multipliedReportingOverflow(by: max(a.group, 1))
            guard a.group >= 1, !overflow, x[1] % a.group == 0, w[0] % a.group == 0, channels == x[1] else {
                throw PointwiseError.shapeMismatch(what: "Conv channels: input C = \(x[1]), weight \(describe(w)), group \(a.group) (need C = weight[1]·group, both divisible by group)",
                                                   expected: overflow ? "C = \(w[1])·\(a.group)" : "C = \(channels)", actual: "\(x[1])")
            }
            if let kernel = a.kernelShape, kernel != [w[2], w[3]] {
                throw PointwiseError.shapeMismatch(what: "Conv kernel_shape against the weight's \(describe(w))",
                                                   expected: describe([w[2], w[3]]), actual: describe(kernel))
            }
            let geometry = try WindowGeometry(inputHeight: x[2], inputWidth: x[3], kernel: [w[2], w[3]], strides: a.strides,
                                              dilations: a.dilations, pads: a.pads, autoPad: a.autoPad, what: "Conv")
            let output = [x[0], w[0], geometry.height.outputSize, geometry.width.outputSize]
            if present(2), try shape(2) != [w[0]] {
                throw PointwiseError.shapeMismatch(what: "Conv bias shape", expected: describe([w[0]]), actual: describe(try shape(2)))
            }
            if a.hasResidual, try shape(3) != output {
                throw PointwiseError.shapeMismatch(what: "Conv residual shape", expected: describe(output), actual: describe(try shape(3)))
            }
            return float(output)

        case .depthwiseChain(let a):
            // Each stage as the Conv it was, on the previous stage's output.
            typealias Slot = DepthwiseChainAttributes
            func stage(_ attributes: ConvolutionAttributes, input: [Int]?, weight: Int, bias: Int, residual: [Int]?) throws -> [Int] {
                let stageShapes = [input, shapes.indices.contains(weight) ? shapes[weight] : nil,
                                   shapes.indices.contains(bias) ? shapes[bias] : nil] + (residual.map { [$0] } ?? [])
                return try infer(.conv(attributes), shapes: stageShapes, types: [], data: []).first!.shape
            }
            try requireFloat(Array(0..<shapes.count))
            let x = try shape(0)
            let expanded = try a.expand.map { try stage($0, input: x, weight: Slot.expandWeight, bias: Slot.expandBias, residual: nil) } ?? x
            let filtered = try stage(a.depthwise, input: expanded, weight: Slot.depthwiseWeight, bias: Slot.depthwiseBias, residual: nil)
            let output = try stage(a.project, input: filtered, weight: Slot.projectWeight, bias: Slot.projectBias,
                                   residual: a.project.hasResidual ? try shape(Slot.residual) : nil)
            return float(output)

        case .gemm(let a):
            try requireFloat(Array(0..<shapes.count))
            let sa = try shape(0), sb = try shape(1)
            guard sa.count == 2, sb.count == 2 else {
                throw PointwiseError.shapeMismatch(what: "Gemm operand ranks (A \(describe(sa)), B \(describe(sb)))", expected: "2 and 2",
                                                   actual: "\(sa.count) and \(sb.count)")
            }
            let (m, k) = a.transposeA ? (sa[1], sa[0]) : (sa[0], sa[1])
            let (kb, n) = a.transposeB ? (sb[1], sb[0]) : (sb[0], sb[1])
            guard k == kb else {
                throw PointwiseError.shapeMismatch(what: "Gemm inner dimensions (A \(describe(sa))\(a.transposeA ? "ᵀ" : ""), B \(describe(sb))\(a.transposeB ? "ᵀ" : ""))",
                                                   expected: "\(k)", actual: "\(kb)")
            }
            if present(2) {
                let c = try shape(2)
                guard c.count <= 2, try Broadcasting.shape([c, [m, n]]) == [m, n] else {
                    throw PointwiseError.shapeMismatch(what: "Gemm C shape (must broadcast to [M, N])", expected: "broadcastable to \(describe([m, n]))", actual: describe(c))
                }
            }
            return float([m, n])

        case .matMul:
            try requireFloat([0, 1])
            return float(try Broadcasting.matMulShape(try shape(0), try shape(1)))

        case .batchNormalization:
            try requireFloat(Array(0..<shapes.count))
            let x = try shape(0)
            guard x.count >= 2 else {
                throw PointwiseError.shapeMismatch(what: "BatchNormalization input rank", expected: "≥ 2 ([N, C, ...])", actual: "\(x.count)")
            }
            for i in 1...4 where try shape(i) != [x[1]] {
                throw PointwiseError.shapeMismatch(what: "BatchNormalization input \(i) shape (one value per channel)",
                                                   expected: describe([x[1]]), actual: describe(try shape(i)))
            }
            return float(x)

        case .lrn(let a):
            try requireFloat([0])
            let x = try shape(0)
            guard x.count == 4 else { throw PointwiseError.shapeMismatch(what: "LRN input rank", expected: "4 ([N, C, H, W])", actual: "\(x.count)") }
            guard a.size >= 1 else { throw PointwiseError.invalidArgument(name: "LRN size", value: "\(a.size)", requirement: "≥ 1") }
            return float(x)

        case .activation:
            try requireFloat([0])
            return float(try shape(0))

        case .clip:
            try requireFloat([0, 1, 2])
            for i in [1, 2] where present(i) {
                guard try shape(i).reduce(1, *) == 1 else { throw PointwiseError.shapeMismatch(what: "Clip \(i == 1 ? "min" : "max") (a scalar)", expected: "1 element", actual: describe(try shape(i))) }
            }
            return float(try shape(0))

        case .binary:
            let sa = try shape(0), sb = try shape(1)
            guard type(0) == type(1) else {
                throw PointwiseError.shapeMismatch(what: "operand data types", expected: "\(type(0))", actual: "\(type(1))")
            }
            return [(try Broadcasting.shape([sa, sb]), type(0))]

        case .sum:
            try requireFloat(Array(0..<shapes.count))
            guard !shapes.isEmpty else { throw PointwiseError.invalidArgument(name: "Sum inputs", value: "0", requirement: "≥ 1") }
            return float(try Broadcasting.shape(try (0..<shapes.count).map(shape)))

        case .maxPool(let a), .averagePool(let a):
            try requireFloat([0])
            let x = try shape(0)
            guard x.count == 4 else {
                throw PointwiseError.shapeMismatch(what: "\(op.typeName) input rank (2-D pooling: [N, C, H, W]; 1-D and 3-D pooling are not supported)",
                                                   expected: "4", actual: "\(x.count) (\(describe(x)))")
            }
            let g = try WindowGeometry(inputHeight: x[2], inputWidth: x[3], kernel: a.kernelShape, strides: a.strides,
                                       dilations: a.dilations, pads: a.pads, autoPad: a.autoPad, ceilMode: a.ceilMode,
                                       what: op.typeName)
            return float([x[0], x[1], g.height.outputSize, g.width.outputSize])

        case .globalAveragePool, .globalMaxPool:
            try requireFloat([0])
            let x = try shape(0)
            guard x.count >= 3 else {
                throw PointwiseError.shapeMismatch(what: "\(op.typeName) input rank", expected: "≥ 3 ([N, C, ...])", actual: "\(x.count)")
            }
            return float([x[0], x[1]] + Array(repeating: 1, count: x.count - 2))

        case .concat(let axis):
            guard !shapes.isEmpty else { throw PointwiseError.invalidArgument(name: "Concat inputs", value: "0", requirement: "≥ 1") }
            let first = try shape(0)
            let a = try normalizedAxis(axis, rank: first.count, what: "Concat axis")
            var output = first
            for i in 1..<shapes.count {
                let s = try shape(i)
                guard s.count == first.count, zip(s, first).enumerated().allSatisfy({ $0.offset == a || $0.element.0 == $0.element.1 }) else {
                    throw PointwiseError.shapeMismatch(what: "Concat input \(i) shape (all dimensions but axis \(a) must agree with input 0's \(describe(first)))",
                                                       expected: "rank \(first.count), equal off axis \(a)", actual: describe(s))
                }
                guard type(i) == type(0) else {
                    throw PointwiseError.shapeMismatch(what: "Concat input \(i) data type", expected: "\(type(0))", actual: "\(type(i))")
                }
                output[a] += s[a]
            }
            return [(output, type(0))]

        case .flatten(let axis):
            let x = try shape(0)
            let a = try normalizedAxis(axis, rank: x.count, what: "Flatten axis", allowEnd: true)
            return [([x[..<a].reduce(1, *), x[a...].reduce(1, *)], type(0))]

        case .reshape(let allowZero):
            let x = try shape(0)
            guard let target = data.count > 1 ? data[1]?.integers : nil else {
                throw PointwiseError.invalidGraph("Reshape's shape input is not known when the model is planned (it must come from constants, input shapes or int64 inputs)")
            }
            return [(try reshapedShape(x, target: target, allowZero: allowZero), type(0))]

        case .transpose(let permutation):
            let x = try shape(0)
            let perm = try transposePermutation(permutation, rank: x.count)
            return [(perm.map { x[$0] }, type(0))]

        case .squeeze(let attributeAxes):
            let x = try shape(0)
            let axes = try squeezeAxes(attributeAxes ?? (data.count > 1 ? data[1]?.integers : nil), present: present(1), shape: x)
            return [(x.enumerated().filter { !axes.contains($0.offset) }.map(\.element), type(0))]

        case .unsqueeze(let attributeAxes):
            let x = try shape(0)
            guard let axes = attributeAxes ?? (data.count > 1 ? data[1]?.integers : nil) else {
                throw PointwiseError.invalidGraph("Unsqueeze's axes input is not known when the model is planned")
            }
            return [(try unsqueezedShape(x, axes: axes), type(0))]

        case .identity:
            return [(try shape(0), type(0))]

        case .pad(let a):
            try requireFloat([0])
            let x = try shape(0)
            let pads = try padAmounts(a, data: data, rank: x.count)
            var output = x
            for d in 0..<x.count {
                output[d] = x[d] + pads[d] + pads[d + x.count]
                guard output[d] >= 0 else {
                    throw PointwiseError.invalidArgument(name: "Pad pads for axis \(d) (size \(x[d]))", value: "\(pads[d]), \(pads[d + x.count])",
                                                         requirement: "a non-negative padded size")
                }
                if a.mode == .reflect && (pads[d] >= x[d] || pads[d + x.count] >= x[d]) && (pads[d] > 0 || pads[d + x.count] > 0) {
                    throw PointwiseError.invalidArgument(name: "Pad reflect pads for axis \(d) (size \(x[d]))", value: "\(pads[d]), \(pads[d + x.count])",
                                                         requirement: "smaller than the size")
                }
                if a.mode == .edge && x[d] == 0 && (pads[d] > 0 || pads[d + x.count] > 0) {
                    throw PointwiseError.invalidArgument(name: "Pad edge on empty axis \(d)", value: "size 0", requirement: "a non-empty axis")
                }
            }
            return float(output)

        case .softmax(let axis, _):
            try requireFloat([0])
            let x = try shape(0)
            _ = try normalizedAxis(axis, rank: x.count, what: "Softmax axis")
            return float(x)

        case .constant(let value):
            return [(value.shape, value.dataType)]

        case .shape(let start, let end):
            let x = try shape(0)
            let (begin, stop) = shapeRange(rank: x.count, start: start, end: end)
            return [([max(0, stop - begin)], .int64)]

        case .gather(let axis):
            let x = try shape(0), indices = try shape(1)
            let a = try normalizedAxis(axis, rank: x.count, what: "Gather axis")
            guard type(1) == .int64 else { throw PointwiseError.invalidArgument(name: "Gather indices type", value: "\(type(1))", requirement: "int64") }
            // Known indices (constants, or run-time int64 inputs the plan is specialised on) are checked here,
            // once: the Gather kernel reads x at them without further tests.
            if data.count > 1, let known = data[1]?.integers, let bad = known.first(where: { $0 < -x[a] || $0 >= x[a] }) {
                throw PointwiseError.invalidArgument(name: "Gather index", value: "\(bad)", requirement: "in \(-x[a])..<\(x[a]) (axis \(a) of \(describe(x)))")
            }
            return [(Array(x[..<a]) + indices + Array(x[(a + 1)...]), type(0))]

        case .cast(let to):
            return [(try shape(0), to)]

        case .slice(let a):
            let x = try shape(0)
            let ranges = try sliceRanges(a, data: data, present: present, shape: x)
            return [(ranges.map(\.count), type(0))]

        case .constantOfShape(let value):
            guard let target = data.first??.integers else {
                throw PointwiseError.invalidGraph("ConstantOfShape's shape input is not known when the model is planned")
            }
            guard target.allSatisfy({ $0 >= 0 }) else {
                throw PointwiseError.invalidArgument(name: "ConstantOfShape shape", value: describe(target), requirement: "non-negative")
            }
            _ = try Tensor.elementCount(of: target)
            return [(target, value?.dataType ?? .float32)]
        }
    }

    // MARK: Shared rules (the reference interpreter and the kernels use them too)

    /// `axis` in [−rank, rank) (or up to rank with `allowEnd`), made non-negative.
    static func normalizedAxis(_ axis: Int, rank: Int, what: String, allowEnd: Bool = false) throws -> Int {
        let upper = allowEnd ? rank : rank - 1
        guard axis >= -rank && axis <= upper else {
            throw PointwiseError.invalidArgument(name: what, value: "\(axis)", requirement: "in \(-rank)...\(upper) for rank \(rank)")
        }
        return axis < 0 ? axis + rank : axis
    }

    /// ONNX Reshape: 0 copies the input's dimension (unless allowZero), one −1 is inferred.
    static func reshapedShape(_ input: [Int], target: [Int], allowZero: Bool) throws -> [Int] {
        let count = input.reduce(1, *)
        var output = target
        var inferred: Int?
        for (i, d) in target.enumerated() {
            if d == -1 {
                guard inferred == nil else {
                    throw PointwiseError.invalidArgument(name: "Reshape shape", value: describe(target), requirement: "at most one −1")
                }
                inferred = i
            } else if d == 0 && !allowZero {
                guard i < input.count else {
                    throw PointwiseError.invalidArgument(name: "Reshape shape", value: describe(target),
                                                         requirement: "0 only where the input \(describe(input)) has a dimension to copy")
                }
                output[i] = input[i]
            } else if d < 0 {
                throw PointwiseError.invalidArgument(name: "Reshape shape", value: describe(target), requirement: "dimensions ≥ −1")
            }
        }
        if let inferred {
            let known = output.enumerated().filter { $0.offset != inferred }.map(\.element)
            let product = try Tensor.elementCount(of: known)
            guard product > 0, count % product == 0 else {
                throw PointwiseError.shapeMismatch(what: "Reshape of \(describe(input)) (\(count) elements) to \(describe(target))",
                                                   expected: "a shape whose known dimensions divide \(count)", actual: describe(target))
            }
            output[inferred] = count / product
        }
        guard try Tensor.elementCount(of: output) == count else {
            throw PointwiseError.shapeMismatch(what: "Reshape of \(describe(input)) to \(describe(target))",
                                               expected: "\(count) elements", actual: "\(output.reduce(1, *)) (\(describe(output)))")
        }
        return output
    }

    static func transposePermutation(_ permutation: [Int]?, rank: Int) throws -> [Int] {
        let perm = permutation ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw PointwiseError.invalidArgument(name: "Transpose perm", value: describe(perm), requirement: "a permutation of 0..<\(rank)")
        }
        return perm
    }

    /// The axes Squeeze removes: the given ones (each of size 1), or every size-1 axis.
    static func squeezeAxes(_ axes: [Int]?, present: Bool, shape: [Int]) throws -> Set<Int> {
        guard let axes else {
            if present { throw PointwiseError.invalidGraph("Squeeze's axes input is not known when the model is planned") }
            return Set(shape.indices.filter { shape[$0] == 1 })
        }
        var result = Set<Int>()
        for axis in axes {
            let a = try normalizedAxis(axis, rank: shape.count, what: "Squeeze axis")
            guard shape[a] == 1 else {
                throw PointwiseError.shapeMismatch(what: "Squeeze axis \(axis) of \(describe(shape))", expected: "size 1", actual: "\(shape[a])")
            }
            result.insert(a)
        }
        return result
    }

    static func unsqueezedShape(_ shape: [Int], axes: [Int]) throws -> [Int] {
        let rank = shape.count + axes.count
        let normalized = try axes.map { try normalizedAxis($0, rank: rank, what: "Unsqueeze axis") }
        guard Set(normalized).count == normalized.count else {
            throw PointwiseError.invalidArgument(name: "Unsqueeze axes", value: describe(axes), requirement: "distinct")
        }
        var output: [Int] = []
        var next = shape.makeIterator()
        for d in 0..<rank { output.append(normalized.contains(d) ? 1 : next.next()!) }
        return output
    }

    /// Pad's pads, [begin₀, begin₁, …, end₀, end₁, …], from the attribute or the input; with the
    /// `axes` input (opset 18), pads for those axes only, the others 0.
    static func padAmounts(_ a: PadAttributes, data: [TensorValue?], rank: Int) throws -> [Int] {
        guard var pads = a.pads ?? (data.count > 1 ? data[1]?.integers : nil) else {
            throw PointwiseError.invalidGraph("Pad's pads input is not known when the model is planned")
        }
        if a.pads == nil, data.count > 3, let axesValue = data[3] {
            guard let axes = axesValue.integers, pads.count == 2 * axes.count else {
                throw PointwiseError.invalidArgument(name: "Pad pads for axes", value: describe(pads), requirement: "2 values per axis")
            }
            var full = [Int](repeating: 0, count: 2 * rank)
            for (i, axis) in axes.enumerated() {
                let d = try normalizedAxis(axis, rank: rank, what: "Pad axis")
                (full[d], full[d + rank]) = (pads[i], pads[i + axes.count])
            }
            pads = full
        }
        guard pads.count == 2 * rank else {
            throw PointwiseError.invalidArgument(name: "Pad pads", value: describe(pads), requirement: "\(2 * rank) values for rank \(rank)")
        }
        guard pads.allSatisfy({ $0 >= -(1 << 30) && $0 <= 1 << 30 }) else {  // (abs(Int.min) would trap)
            throw PointwiseError.invalidArgument(name: "Pad pads", value: describe(pads), requirement: "within ±2^30")
        }
        return pads
    }

    static func shapeRange(rank: Int, start: Int, end: Int?) -> (Int, Int) {
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
        return (clamp(start), clamp(end ?? rank))
    }

    /// One axis of a Slice: the indices start, start + step, … before end.
    struct SliceRange: Equatable {
        let start: Int, step: Int, count: Int
    }

    /// Slice's per-axis ranges with ONNX's clamping rules.
    static func sliceRanges(_ a: SliceAttributes, data: [TensorValue?], present: (Int) -> Bool, shape: [Int]) throws -> [SliceRange] {
        func input(_ i: Int) throws -> [Int]? {
            guard present(i) else { return nil }
            guard let values = data.count > i ? data[i]?.integers : nil else {
                throw PointwiseError.invalidGraph("Slice's input \(i) is not known when the model is planned")
            }
            return values
        }
        guard let starts = try a.starts ?? input(1), let ends = try a.ends ?? input(2) else {
            throw PointwiseError.invalidGraph("Slice needs starts and ends")
        }
        let axes = try a.axes ?? input(3) ?? Array(0..<starts.count)
        let steps = try input(4) ?? Array(repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw PointwiseError.invalidArgument(name: "Slice starts/ends/axes/steps lengths",
                                                 value: "\(starts.count)/\(ends.count)/\(axes.count)/\(steps.count)", requirement: "equal")
        }
        var ranges = shape.map { SliceRange(start: 0, step: 1, count: $0) }
        var seen = Set<Int>()
        for i in starts.indices {
            let axis = try normalizedAxis(axes[i], rank: shape.count, what: "Slice axis")
            guard seen.insert(axis).inserted else {
                throw PointwiseError.invalidArgument(name: "Slice axes", value: describe(axes), requirement: "distinct")
            }
            let step = steps[i], size = shape[axis]
            guard step != 0, step != Int.min else { throw PointwiseError.invalidArgument(name: "Slice step", value: "\(step)", requirement: "non-zero, above Int64.min") }
            var start = starts[i] < 0 ? starts[i] + size : starts[i]
            var end = ends[i] < 0 ? ends[i] + size : ends[i]
            // ⌈distance / |step|⌉ as (distance − 1) / |step| + 1: distance ≤ size, so no step (up to
            // ±(2⁶³ − 1)) can overflow it, as distance + |step| − 1 did.
            if step > 0 {
                start = min(max(start, 0), size)
                end = min(max(end, 0), size)
                ranges[axis] = SliceRange(start: start, step: step, count: end > start ? (end - start - 1) / step + 1 : 0)
            } else {
                start = min(max(start, -1), size - 1)
                end = min(max(end, -1), size - 1)
                ranges[axis] = SliceRange(start: start, step: step, count: start > end ? (start - end - 1) / -step + 1 : 0)
            }
        }
        return ranges
    }
}
