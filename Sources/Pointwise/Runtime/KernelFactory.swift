/// Makes the kernel that runs one node of a planned graph, with its operands' memory views;
/// nil for a node the placement made unnecessary (a view, an eliminated concat).
struct KernelFactory {
    let graph: Graph
    let layouts: [Layout]
    let placement: BufferPlacement
    let options: CompileOptions
    /// Every value a kernel reads or writes through the pointer table.
    let referenced = ReferencedValues()

    final class ReferencedValues {
        var values = Set<ValueID>()
    }

    func operand(_ value: ValueID) -> Operand {
        referenced.values.insert(value)
        let view = placement.view(of: value, graph: graph, layouts: layouts)
        return Operand(slot: value.index, shape: graph[value].shape ?? [], strides: view.strides, layout: layouts[value.index])
    }

    private func constant(_ value: ValueID?) -> Tensor? { value.flatMap { graph.initializers[$0]?.floatTensor } }

    /// A Conv's geometry from its attributes, its input's (NCHW) and weight's shapes.
    private func convolutionGeometry(_ a: ConvolutionAttributes, input: [Int], weight: [Int], what: String) throws -> ConvolutionGeometry {
        let window = try WindowGeometry(inputHeight: input[2], inputWidth: input[3], kernel: [weight[2], weight[3]],
                                        strides: a.strides, dilations: a.dilations, pads: a.pads, autoPad: a.autoPad, what: what)
        return try ConvolutionGeometry(inChannels: input[1], outChannels: weight[0], kernel: window.kernel,
                                       stride: window.stride, padding: window.padding, dilation: window.dilation, groups: a.group)
    }

    private func unsupported(_ node: Node, _ why: String) -> PointwiseError {
        .unsupportedNodes(["'\(node.name)' (\(node.op.typeName)): \(why)"])
    }

    func make(_ node: Node, index: Int) throws -> (any Kernel)? {
        if placement.noOps.contains(index) { return nil }
        for input in node.presentInputs where graph[input].dataType == .int64 && graph.initializers[input] == nil {
            if case .gather = node.op, input == node.input(1) { continue }
            throw unsupported(node, "int64 input '\(graph[input].name)' is computed from run-time data; int64 values must be known when the model is planned (shapes, constants, int64 graph inputs)")
        }
        for output in node.outputs where graph[output].dataType == .int64 {
            throw unsupported(node, "its int64 output '\(graph[output].name)' depends on run-time float data")
        }
        // Outputs with no elements: nothing to compute, nothing to write (kernels assume at least one
        // row: a MatMul of zero batches would still write one M×N block).
        if node.outputs.allSatisfy({ (graph[$0].shape ?? [1]).contains(0) }) { return nil }
        let y = operand(node.output)
        func x(_ slot: Int) throws -> Operand {
            guard let value = node.input(slot) else { throw unsupported(node, "input \(slot) is missing") }
            return operand(value)
        }
        switch node.op {
        case .conv(let a):
            // Weights and bias are normally constants (packed now); given at run time they are packed on each run.
            let weight = constant(node.input(1))
            guard let weightValue = node.input(1), let weightShape = graph[weightValue].shape, weightShape.count == 4 else {
                throw unsupported(node, "the weight's shape is unknown")
            }
            let runtimeWeight = weight == nil ? try x(1) : nil
            let runtimeBias = node.input(2) != nil && constant(node.input(2)) == nil ? try x(2) : nil
            let input = try x(0)
            let geometry = try convolutionGeometry(a, input: input.shape, weight: weightShape, what: "Conv '\(node.name)'")
            let residual = a.hasResidual ? try x(3) : nil
            let bias = constant(node.input(2))
            let threads = options.threads ?? ThreadPool.size
            let winogradApplies = options.kernelPath == .lowered && weight != nil && runtimeBias == nil && WinogradKernel.applies(to: geometry)
            func make(_ choice: ConvolutionChoice?, note: String? = nil) -> any Kernel {
                if let weight, let tile = choice.map(\.winogradTile) ?? (winogradApplies ? WinogradKernel.tile(for: options.convolutionAlgorithm, geometry: geometry, output: y.shape) : nil), tile > 0 {
                    return WinogradKernel(tile: tile, weight: weight, bias: bias, padding: geometry.padding, activation: a.activation,
                                          input: input, output: y, residual: residual, gemmKernel: choice?.gemm ?? options.gemmKernel,
                                          note: note, threads: threads)
                }
                return ConvolutionKernel(geometry: geometry, weight: weight, bias: bias, activation: a.activation,
                                         input: input, output: y, residual: residual,
                                         runtimeWeight: runtimeWeight, runtimeBias: runtimeBias, path: options.kernelPath,
                                         gemmKernel: choice?.gemm ?? options.gemmKernel, note: note,
                                         workspaceLimit: max(options.workspaceLimit / MemoryLayout<Float>.stride, 1),
                                         implicitGEMM: options.convolutionAlgorithm != .im2col, threads: threads)
            }
            // Depthwise and other grouped layers have one candidate (OpenBLAS, no Winograd): nothing to measure.
            let packable = options.kernelPath == .lowered && weight != nil && geometry.groups == 1 && KernelISA.best != .portable
            let planner = ConvolutionPlanner(options: options, threads: threads)
            let candidates = planner.candidates(geometry: geometry, output: y.shape, winogradApplies: winogradApplies, packable: packable)
            if candidates.count > 1,
               let (choice, note) = planner.choose(key: planner.key(geometry: geometry, input: input, output: y, residual: residual != nil, activation: a.activation),
                                                   candidates: candidates, operands: [input, y] + (residual.map { [$0] } ?? []),
                                                   make: { make($0) }) {
                return make(choice, note: note)
            }
            return make(nil)

        case .depthwiseChain(let a):
            // The fusion pass admits constant weights only.
            typealias Slot = DepthwiseChainAttributes
            let input = try x(0)
            guard let depthwiseWeight = constant(node.input(Slot.depthwiseWeight)), let projectWeight = constant(node.input(Slot.projectWeight)),
                  a.expand == nil || constant(node.input(Slot.expandWeight)) != nil, depthwiseWeight.shape.count == 4
            else { throw unsupported(node, "a depthwise chain's weights must be constants") }
            // The depthwise stage reads the expanded map: the input's batch and size, the weight's channels.
            let expandedShape = [input.shape[0], depthwiseWeight.shape[0], input.shape[2], input.shape[3]]
            let geometry = try convolutionGeometry(a.depthwise, input: expandedShape, weight: depthwiseWeight.shape,
                                                   what: "Conv '\(node.name)' (depthwise stage)")
            // Each part (thread) has its scratch bands: together within the workspace limit.
            let threads = max(options.threads ?? ThreadPool.size, 1)
            return DepthwiseChainKernel(attributes: a, depthwise: geometry,
                                        expandWeight: a.expand == nil ? nil : constant(node.input(Slot.expandWeight)),
                                        expandBias: constant(node.input(Slot.expandBias)), depthwiseWeight: depthwiseWeight,
                                        depthwiseBias: constant(node.input(Slot.depthwiseBias)), projectWeight: projectWeight,
                                        projectBias: constant(node.input(Slot.projectBias)), input: input, output: y,
                                        residual: a.project.hasResidual ? try x(Slot.residual) : nil, threads: threads,
                                        bandBudget: min(DepthwiseChainKernel.bandBudget, max(options.workspaceLimit / threads, 1)))

        case .gemm(let a):
            let bConstant = constant(node.input(1))
            let runtimeC = node.input(2) != nil && constant(node.input(2)) == nil ? try x(2) : nil
            return GemmKernel(a, a: try x(0), b: bConstant == nil ? try x(1) : nil, constantB: bConstant, c: constant(node.input(2)),
                              runtimeC: runtimeC, output: y, path: options.kernelPath)

        case .matMul:
            let bConstant = constant(node.input(1))
            return MatMulKernel(a: try x(0), b: bConstant == nil ? try x(1) : nil, constantB: bConstant, output: y)

        case .batchNormalization(let epsilon, let activation):
            guard y.shape.count == 4 || y.shape.count == 2 else {
                throw unsupported(node, "BatchNormalization of a rank-\(y.shape.count) tensor (supported: [N, C, H, W] and [N, C])")
            }
            // An NCHW map left in natural layout (C = 1, see LayoutAssignment) runs as rows of one channel.
            let bnInput = try x(0)
            if ChannelAffineKernel.isSingleChannelMap(bnInput) {
                guard bnInput.shape[1] == 1, bnInput.isDenseNatural, y.isDenseNatural else {
                    throw unsupported(node, "BatchNormalization of a strided NCHW view \(describe(bnInput.shape))")
                }
            }
            let parameters = (1...4).map { constant(node.input($0)) }
            guard parameters.allSatisfy({ $0 != nil }) else {
                // Given at run time: scale and shift are computed on each run.
                return ChannelAffineKernel(epsilon: epsilon, parameters: try (1...4).map(x), activation: activation, input: try x(0), output: y)
            }
            let statistics = try BatchNormParameters(weight: parameters[0]!.scalars, bias: parameters[1]!.scalars,
                                                     runningMean: parameters[2]!.scalars, runningVar: parameters[3]!.scalars, eps: epsilon)
            let (scale, shift) = statistics.scaleAndShift
            return ChannelAffineKernel(scale: scale.map(Float.init), shift: shift.map(Float.init), activation: activation,
                                       input: try x(0), output: y)

        case .lrn(let a):
            return LRNKernel(a, input: try x(0), output: y)

        case .activation(let activation):
            return ActivationKernel(activation, input: try x(0), output: y)

        case .clip:
            // min and max given at run time (constants were turned into a clip activation).
            return ClipKernel(input: try x(0), output: y, minimum: node.input(1).map(operand), maximum: node.input(2).map(operand))

        case .binary(let op, let activation):
            return BinaryKernel(op, activation: activation, a: try x(0), b: try x(1), output: y)

        case .sum(let activation):
            return SumKernel(activation: activation, inputs: try node.inputs.indices.map(x), output: y)

        case .maxPool(let a), .averagePool(let a):
            guard y.shape.count == 4 else { throw unsupported(node, "pooling of a rank-\(y.shape.count) tensor (2-D pooling only)") }
            let input = try x(0)
            let window = try WindowGeometry(inputHeight: input.shape[2], inputWidth: input.shape[3], kernel: a.kernelShape, strides: a.strides,
                                            dilations: a.dilations, pads: a.pads, autoPad: a.autoPad, ceilMode: a.ceilMode,
                                            what: "\(node.op.typeName) '\(node.name)'")
            let isMax: Bool = { if case .maxPool = node.op { return true }; return false }()
            return PoolKernel(isMax: isMax, countIncludePad: a.countIncludePad, window: window, input: input, output: y)

        case .globalAveragePool, .globalMaxPool:
            guard y.shape.count == 4 else { throw unsupported(node, "global pooling of a rank-\(y.shape.count) tensor (2-D only)") }
            return GlobalPoolKernel(isMax: node.op == .globalMaxPool, input: try x(0), output: y)

        case .concat(let axis):
            // The members not written in place are copied into their slices.
            let a = try ShapeInference.normalizedAxis(axis, rank: y.shape.count, what: "Concat axis")
            let inPlace = placement.inPlaceConcatInputs[index] ?? []
            var start = 0
            var copies: [CopyKernel] = []
            for (slot, value) in node.inputs.enumerated() {
                guard let value else { continue }
                let member = operand(value)
                defer { start += member.shape[a] }
                if inPlace.contains(slot) { continue }
                let slice = Operand(slot: y.slot, shape: member.shape, strides: y.strides, layout: y.layout)
                copies.append(CopyKernel("concat copy", input: member, output: slice, outputOffset: start * y.strides[a]))
            }
            return SequenceKernel(copies, what: "concat (\(copies.count) of \(node.presentInputs.count) inputs copied)")

        case .flatten, .reshape, .squeeze, .unsqueeze, .identity, .cast:
            // Not an alias: the element order changes (an NHWC map read in NCHW order, or a layout conversion).
            let input = try x(0)
            let what = input.layout == y.layout ? "\(node.op.typeName) copy" : "\(input.layout.rawValue) → \(y.layout.rawValue)"
            if input.shape == y.shape { return CopyKernel(what, input: input, output: y) }
            // Walk the input's logical indices; the output's memory is that logical order (dense natural).
            guard y.isDenseNatural else { throw unsupported(node, "a reshape into a strided tensor") }
            return CopyKernel(what, input: input,
                              output: Operand(slot: y.slot, shape: input.shape, strides: Broadcasting.strides(input.shape), layout: .natural))

        case .transpose(let permutation):
            let input = try x(0)
            let perm = try ShapeInference.transposePermutation(permutation, rank: input.shape.count)
            return CopyKernel("transpose", input: input, output: y, inputStrides: perm.map { input.strides[$0] })

        case .slice(let a):
            let input = try x(0)
            let ranges = try ShapeInference.sliceRanges(a, data: node.inputs.map { $0.flatMap { graph.initializers[$0] } },
                                                        present: { node.input($0) != nil }, shape: input.shape)
            let offset = zip(ranges, input.strides).reduce(0) { $0 + $1.0.start * $1.1 }
            return CopyKernel("slice", input: input, output: y, inputStrides: zip(ranges, input.strides).map { $0.step * $1 },
                              inputOffset: offset)

        case .gather(let axis):
            guard let indices = node.input(1).flatMap({ graph.initializers[$0]?.integers }) else {
                throw unsupported(node, "Gather's indices must be known when the model is planned")
            }
            let input = try x(0)
            guard input.isDenseNatural && y.isDenseNatural else { throw unsupported(node, "Gather of a strided tensor") }
            let a = try ShapeInference.normalizedAxis(axis, rank: input.shape.count, what: "Gather axis")
            // (indices were checked against the axis by ShapeInference, which saw them as plan-time data)
            return GatherKernel(axis: a, indices: indices, input: input, output: y)

        case .pad(let a):
            let input = try x(0)
            let pads = try ShapeInference.padAmounts(a, data: node.inputs.map { $0.flatMap { graph.initializers[$0] } }, rank: input.shape.count)
            let value = a.value ?? constant(node.input(2))?.scalars.first ?? 0
            let runtimeValue = a.value == nil && node.input(2) != nil && constant(node.input(2)) == nil ? try x(2) : nil
            return PadKernel(mode: a.mode, value: value, runtimeValue: runtimeValue, pads: pads, input: input, output: y)

        case .softmax(let axis, let flattensTo2D):
            let input = try x(0)
            let a = try ShapeInference.normalizedAxis(axis, rank: input.shape.count, what: "Softmax axis")
            guard input.isDenseNatural && y.isDenseNatural else { throw unsupported(node, "Softmax of a strided tensor") }
            return SoftmaxKernel(axis: a, flattensTo2D: flattensTo2D, input: input, output: y)

        case .constantOfShape(let value):
            // Too large to fold (a weight made of one value): filled on each run.
            guard graph[node.output].dataType == .float32 else { throw unsupported(node, "an int64 ConstantOfShape too large to fold") }
            return FillKernel(value: value?.floatTensor?.scalars.first ?? 0, output: y)

        case .constant, .shape:
            throw unsupported(node, "a plan-time value that could not be computed")
        }
    }
}

/// Several kernels run one after another as one step (a concat's member copies).
final class SequenceKernel: Kernel {
    let kernels: [CopyKernel]
    let what: String

    init(_ kernels: [CopyKernel], what: String) {
        self.kernels = kernels
        self.what = what
    }

    var lowering: String { what }

    func run(_ frame: Frame) {
        for kernel in kernels { kernel.run(frame) }
    }
}
