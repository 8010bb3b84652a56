/// The translation of each ai.onnx operator, with the attribute changes between opsets.
extension GraphImport {
    mutating func translate(_ node: Onnx_NodeProto, index: Int) {
        let name = node.name.isEmpty ? "\(node.opType)_\(index)" : node.name
        let domain = node.domain.isEmpty ? "ai.onnx" : node.domain
        let label = "node '\(name)' (\(node.opType), domain \(domain), opset \(opset))"
        guard domain == "ai.onnx" else {
            problems.append("\(label): the domain \(domain) is not supported (ai.onnx only)")
            return
        }
        var attributes = ONNXAttributes(node, name: name, directory: directory)
        let inputs: [ValueID?] = node.input.map { $0.isEmpty ? nil : value($0) }
        let outputNames = node.output
        let problemCount = problems.count
        translate(node.opType, name: name, inputs: inputs, outputs: outputNames, attributes: &attributes)
        for problem in attributes.problems { problems.append("\(label): \(problem)") }
        for attribute in attributes.unread { problems.append("\(label): attribute \(attribute) is not supported") }
        // Problems recorded by the translation itself name the node already; keep the order.
        _ = problemCount
    }

    /// Outputs `0..<count` of a node; later outputs (optional ones: Dropout's mask, MaxPool's
    /// indices, BatchNorm's training statistics) must be absent or unused (checked once every
    /// node is read).
    private mutating func outputs(_ names: [String], used count: Int, _ attributes: inout ONNXAttributes, what: String) -> [ValueID] {
        for extra in names.dropFirst(count) where !extra.isEmpty {
            optionalOutputs.append((extra, "node '\(attributes.nodeName)'", what))
        }
        return names.prefix(count).map { value($0) }
    }

    private mutating func translate(_ op: String, name: String, inputs: [ValueID?], outputs names: [String],
                                    attributes a: inout ONNXAttributes) {
        func input(_ i: Int) -> ValueID? { i < inputs.count ? inputs[i] : nil }
        func single() -> [ValueID] { outputs(names, used: 1, &a, what: "a second output") }
        func autoPad() -> AutoPad {
            let text = a.string("auto_pad") ?? "NOTSET"
            guard let mode = AutoPad(rawValue: text) else {
                a.unsupported("attribute auto_pad = '\(text)' is not supported (NOTSET, SAME_UPPER, SAME_LOWER, VALID)")
                return .notSet
            }
            return mode
        }
        /// The spatial rank of a convolution or pool: from kernel_shape, the weight, or the input.
        func spatialRank(kernel: [Int]?, weight: ValueID?) -> Int? {
            if let kernel { return kernel.count }
            if let rank = knownRank(weight) { return rank - 2 }
            if let rank = knownRank(input(0)) { return rank - 2 }
            return nil
        }
        let parameterCount = inputs.compactMap { $0.flatMap { graph.initializers[$0]?.count } }

        switch op {
        case "Conv":
            let kernel = a.ints("kernel_shape")
            let rank = spatialRank(kernel: kernel, weight: input(1)) ?? 2
            guard rank == 2 || rank == 1 else {
                a.unsupported("a \(rank)-D convolution (kernel_shape \(kernel.map(describe) ?? "?")) is not supported (1-D and 2-D only)")
                return
            }
            var attributes = ConvolutionAttributes(kernelShape: kernel, strides: a.ints("strides") ?? Array(repeating: 1, count: rank),
                                                   dilations: a.ints("dilations") ?? Array(repeating: 1, count: rank),
                                                   pads: a.ints("pads") ?? Array(repeating: 0, count: 2 * rank),
                                                   autoPad: autoPad(), group: a.int("group", default: 1))
            let y = single()
            let count = parameterCount.reduce(0, +)
            if rank == 2 {
                emit(name, .conv(attributes), Array(inputs.prefix(3)), y, parameterCount: count)
                return
            }
            // 1-D: [N, C, L] runs as [N, C, 1, L] with a 1×k kernel.
            attributes.kernelShape = kernel.map { [1] + $0 }
            attributes.strides = [1] + attributes.strides
            attributes.dilations = [1] + attributes.dilations
            attributes.pads = attributes.pads.count == 2 ? [0, attributes.pads[0], 0, attributes.pads[1]] : attributes.pads
            guard let x = input(0), let w = input(1) else { a.unsupported("missing inputs"); return }
            let x4 = fresh("\(name).input_2d")
            emit("\(name).unsqueeze_input", .unsqueeze(axes: [2]), [x], [x4])
            let w4: ValueID
            if case .float32(let weight)? = graph.initializers[w], weight.rank == 3, let reshaped = try? Tensor(shape: [weight.shape[0], weight.shape[1], 1, weight.shape[2]], scalars: weight.scalars) {
                w4 = constant("\(graph[w].name).2d", .float32(reshaped))
            } else {
                w4 = fresh("\(name).weight_2d")
                emit("\(name).unsqueeze_weight", .unsqueeze(axes: [2]), [w], [w4])
            }
            let y4 = fresh("\(name).output_2d")
            emit(name, .conv(attributes), [x4, w4, input(2)], [y4], parameterCount: count)
            emit("\(name).squeeze_output", .squeeze(axes: [2]), [y4], y)

        case "BatchNormalization":
            let epsilon = a.float("epsilon", default: 1e-5)
            a.ignore("momentum")  // running-statistics update: training only
            if opset < 6 { a.ignore("consumed_inputs") }
            if opset < 9, a.int("spatial", default: 1) != 1 { a.unsupported("attribute spatial = 0 (per-activation statistics) is not supported") }
            if opset < 7, a.int("is_test", default: 0) != 1 { a.unsupported("attribute is_test = 0 (training mode) is not supported") }
            if opset >= 14, a.int("training_mode", default: 0) != 0 { a.unsupported("attribute training_mode = 1 is not supported (inference only)") }
            let y = outputs(names, used: 1, &a, what: "training statistics")
            let count = [1, 2].compactMap { input($0).flatMap { graph.initializers[$0]?.count } }.reduce(0, +)
            emit(name, .batchNormalization(epsilon: epsilon, activation: .identity), Array(inputs.prefix(5)), y, parameterCount: count)

        case "Relu", "Sigmoid", "HardSwish", "LeakyRelu", "HardSigmoid":
            if opset < 6 { a.ignore("consumed_inputs") }
            let activation: Activation
            switch op {
            case "Relu": activation = .relu
            case "Sigmoid": activation = .sigmoid
            case "HardSwish": activation = .hardSwish
            case "LeakyRelu": activation = .leakyRelu(alpha: a.float("alpha", default: 0.01))
            default: activation = .hardSigmoid(alpha: a.float("alpha", default: 0.2), beta: a.float("beta", default: 0.5))
            }
            emit(name, .activation(activation), [input(0)], single())

        case "Clip":
            if opset < 11 {
                if opset < 6 { a.ignore("consumed_inputs") }
                let low = a.float("min", default: -.greatestFiniteMagnitude), high = a.float("max", default: .greatestFiniteMagnitude)
                emit(name, .activation(.clip(min: low, max: high)), [input(0)], single())
            } else {
                emit(name, .clip, Array(inputs.prefix(3)), single())
            }

        case "Add", "Sub", "Mul", "Div":
            let binary = BinaryOperator(rawValue: op)!
            var b = input(1)
            if opset < 7 {
                if opset < 6 { a.ignore("consumed_inputs") }
                // Legacy broadcasting: B's dimensions line up with A's starting at `axis`.
                if a.int("broadcast", default: 0) == 1, let axis = a.int("axis"), let bValue = b {
                    guard let rankA = knownRank(input(0)), let data = graph.initializers[bValue] else {
                        a.unsupported("legacy broadcast with axis \(axis) needs A's rank and a constant B")
                        return
                    }
                    let start = axis < 0 ? axis + rankA : axis
                    guard start >= 0, start <= rankA - data.shape.count else {
                        a.unsupported("legacy broadcast axis \(axis): B's shape \(describe(data.shape)) does not fit in A's rank \(rankA) from there")
                        return
                    }
                    let shape = Array(repeating: 1, count: start) + data.shape + Array(repeating: 1, count: rankA - start - data.shape.count)
                    switch data {
                    case .float32(let t): if let r = try? Tensor(shape: shape, scalars: t.scalars) { b = constant("\(graph[bValue].name).aligned", .float32(r)) }
                    case .int64(let t): if let r = try? Int64Tensor(shape: shape, scalars: t.scalars) { b = constant("\(graph[bValue].name).aligned", .int64(r)) }
                    }
                }
            }
            emit(name, .binary(binary, activation: .identity), [input(0), b], single())

        case "Sum":
            if opset < 6 { a.ignore("consumed_inputs") }
            emit(name, .sum(activation: .identity), inputs, single())

        case "MaxPool", "AveragePool":
            guard let kernel = a.ints("kernel_shape") else { a.unsupported("attribute kernel_shape is missing"); return }
            let rank = kernel.count
            guard rank == 2 || rank == 1 else {
                a.unsupported("\(rank)-D pooling (kernel_shape \(describe(kernel))) is not supported (1-D and 2-D only)")
                return
            }
            var attributes = PoolingAttributes(kernelShape: kernel, strides: a.ints("strides") ?? Array(repeating: 1, count: rank),
                                               dilations: a.ints("dilations") ?? Array(repeating: 1, count: rank),
                                               pads: a.ints("pads") ?? Array(repeating: 0, count: 2 * rank), autoPad: autoPad(),
                                               ceilMode: a.int("ceil_mode", default: 0) != 0)
            let isMax = op == "MaxPool"
            if isMax {
                if a.int("storage_order", default: 0) != 0 { a.unsupported("attribute storage_order = 1 is not supported") }
            } else {
                attributes.countIncludePad = a.int("count_include_pad", default: 0) != 0
            }
            let y = outputs(names, used: 1, &a, what: "MaxPool's indices")
            if rank == 2 {
                emit(name, isMax ? .maxPool(attributes) : .averagePool(attributes), [input(0)], y)
                return
            }
            attributes.kernelShape = [1] + attributes.kernelShape
            attributes.strides = [1] + attributes.strides
            attributes.dilations = [1] + attributes.dilations
            attributes.pads = attributes.pads.count == 2 ? [0, attributes.pads[0], 0, attributes.pads[1]] : attributes.pads
            let x4 = fresh("\(name).input_2d"), y4 = fresh("\(name).output_2d")
            emit("\(name).unsqueeze_input", .unsqueeze(axes: [2]), [input(0)], [x4])
            emit(name, isMax ? .maxPool(attributes) : .averagePool(attributes), [x4], [y4])
            emit("\(name).squeeze_output", .squeeze(axes: [2]), [y4], y)

        case "GlobalAveragePool", "GlobalMaxPool":
            emit(name, op == "GlobalAveragePool" ? .globalAveragePool : .globalMaxPool, [input(0)], single())

        case "LRN":
            guard let size = a.int("size") else { a.unsupported("attribute size is missing"); return }
            emit(name, .lrn(LRNAttributes(size: size, alpha: a.float("alpha", default: 1e-4), beta: a.float("beta", default: 0.75),
                                          bias: a.float("bias", default: 1))), [input(0)], single())

        case "Concat":
            guard let axis = a.int("axis") ?? (opset < 4 ? 1 : nil) else { a.unsupported("attribute axis is missing"); return }
            emit(name, .concat(axis: axis), inputs, single())

        case "Flatten":
            emit(name, .flatten(axis: a.int("axis", default: 1)), [input(0)], single())

        case "Reshape":
            if opset < 5 {
                if opset < 6 { a.ignore("consumed_inputs") }
                guard let shape = a.longs("shape") else { a.unsupported("attribute shape is missing"); return }
                emit(name, .reshape(allowZero: false), [input(0), constant("\(name).shape", .int64(Int64Tensor(shape)))], single())
            } else {
                emit(name, .reshape(allowZero: a.int("allowzero", default: 0) != 0), [input(0), input(1)], single())
            }

        case "Transpose":
            emit(name, .transpose(permutation: a.ints("perm")), [input(0)], single())

        case "Squeeze", "Unsqueeze":
            let axes = opset < 13 ? a.longs("axes") : nil
            let axesInput = opset < 13 ? nil : input(1)
            if op == "Unsqueeze" && axes == nil && axesInput == nil { a.unsupported("axes are missing"); return }
            emit(name, op == "Squeeze" ? .squeeze(axes: axes) : .unsqueeze(axes: axes), [input(0), axesInput], single())

        case "Identity":
            emit(name, .identity, [input(0)], single())

        case "Dropout":
            // Inference: the identity. The mask output, training mode and the seed only matter in training.
            if opset < 7 { a.ignore("is_test") }
            if opset < 6 { a.ignore("consumed_inputs") }
            a.ignore("ratio")
            a.ignore("seed")
            if let training = input(2), graph.initializers[training]?.doubles.first != 0 {
                a.unsupported("input training_mode must be a constant false (inference only)")
                return
            }
            emit(name, .identity, [input(0)], outputs(names, used: 1, &a, what: "Dropout's mask"))

        case "Pad":
            let mode = a.string("mode") ?? "constant"
            guard let padMode = PadAttributes.Mode(rawValue: mode) else {
                a.unsupported("attribute mode = '\(mode)' is not supported (constant, reflect, edge)")
                return
            }
            if opset < 11 {
                guard let pads = a.ints(opset < 2 ? "paddings" : "pads") else { a.unsupported("attribute pads is missing"); return }
                emit(name, .pad(PadAttributes(mode: padMode, pads: pads, value: a.float("value", default: 0))), [input(0)], single())
            } else {
                emit(name, .pad(PadAttributes(mode: padMode)), Array(inputs.prefix(4)), single())
            }

        case "Gemm":
            if opset < 7 { a.ignore("broadcast") }  // C broadcasts as NumPy does either way for the shapes it allows
            let attributes = GemmAttributes(alpha: a.float("alpha", default: 1), beta: a.float("beta", default: 1),
                                            transposeA: a.int("transA", default: 0) != 0, transposeB: a.int("transB", default: 0) != 0)
            emit(name, .gemm(attributes), Array(inputs.prefix(3)), single(),
                 parameterCount: [1, 2].compactMap { input($0).flatMap { graph.initializers[$0]?.count } }.reduce(0, +))

        case "MatMul":
            emit(name, .matMul, Array(inputs.prefix(2)), single(), parameterCount: input(1).flatMap { graph.initializers[$0]?.count } ?? 0)

        case "Softmax":
            emit(name, .softmax(axis: a.int("axis", default: opset < 13 ? 1 : -1), flattensTo2D: opset < 13), [input(0)], single())

        case "Constant":
            // Exactly one of these holds the value (value_int is an INT, value_ints INTS).
            let forms = ["value", "value_float", "value_floats", "value_int", "value_ints", "sparse_value", "value_string", "value_strings"]
            let given = forms.filter { a.has($0) }
            guard given.count == 1 else {
                a.unsupported(given.isEmpty ? "no value" : "\(given.count) values (\(given.joined(separator: ", "))); a Constant has exactly one")
                for form in given { a.ignore(form) }
                return
            }
            let data: TensorValue?
            switch given[0] {
            case "value": data = a.tensor("value")
            case "value_float": data = a.float("value_float").flatMap { try? Tensor(shape: [], scalars: [$0]) }.map { .float32($0) }
            case "value_floats": data = a.floats("value_floats").flatMap { try? Tensor(shape: [$0.count], scalars: $0) }.map { .float32($0) }
            case "value_int": data = a.long("value_int").flatMap { try? Int64Tensor(shape: [], scalars: [Int64($0)]) }.map { .int64($0) }
            case "value_ints": data = a.longs("value_ints").map { .int64(Int64Tensor($0)) }
            default:
                a.unsupported("\(given[0]) is not supported (sparse tensors and strings)")
                a.ignore(given[0])
                return
            }
            guard let data, let output = names.first, !output.isEmpty else { return }
            let id = value(output)
            graph[id].dataType = data.dataType
            graph[id].shape = data.shape
            emit(name, .constant(data), [], [id])

        case "Shape":
            emit(name, .shape(start: a.int("start", default: 0), end: a.int("end")), [input(0)], single())

        case "Gather":
            emit(name, .gather(axis: a.int("axis", default: 0)), Array(inputs.prefix(2)), single())

        case "Cast":
            let to = a.int("to") ?? -1
            switch Onnx_TensorProto.DataType(rawValue: to) {
            case .float?: emit(name, .cast(to: .float32), [input(0)], single())
            case .int64?: emit(name, .cast(to: .int64), [input(0)], single())
            default: a.unsupported("attribute to = \(to) (\(Onnx_TensorProto.DataType(rawValue: to).map { "\($0)" } ?? "unknown")) is not supported (float32 and int64 only)")
            }

        case "Slice":
            if opset < 10 {
                emit(name, .slice(SliceAttributes(starts: a.longs("starts"), ends: a.longs("ends"), axes: a.longs("axes"))), [input(0)], single())
            } else {
                emit(name, .slice(SliceAttributes()), Array(inputs.prefix(5)), single())
            }

        case "ConstantOfShape":
            emit(name, .constantOfShape(a.has("value") ? a.tensor("value") : nil), [input(0)], single())

        default:
            a.unsupported("the operator \(op) is not supported")
            for attribute in a.unread { a.ignore(attribute) }  // one problem for the node is enough
        }
    }
}
