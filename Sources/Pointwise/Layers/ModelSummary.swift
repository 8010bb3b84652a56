/// A plan's steps and totals, as `pointwise summary` prints them: each node after the passes,
/// what it fused, the GEMM it lowers to, and the planned memory.
public struct ModelSummary: Sendable {
    public let network: String
    public let inputShape: [Int]
    public let rows: [LayerSummary]
    /// Bytes of the arena (activations and workspaces, shared by liveness) and of packed weights.
    public let arenaBytes: Int
    public let weightBytes: Int
    /// The most bytes alive at one step: the least any arena could be.
    public let peakLiveBytes: Int
    /// Steps of the plan (a fused depthwise chain is one step and several rows).
    public let stepCount: Int

    public init(network: String, inputShape: [Int], plan: ExecutionPlan) {
        self.network = network
        self.inputShape = inputShape
        arenaBytes = plan.memory.arenaBytes
        weightBytes = plan.weightBytes
        peakLiveBytes = plan.memory.peakLiveBytes
        stepCount = plan.steps.count
        rows = plan.steps.flatMap { step -> [LayerSummary] in
            if let chain = step.kernel as? DepthwiseChainKernel, case .depthwiseChain(let a)? = step.node?.op {
                return Self.stages(of: chain, a, step: step)
            }
            let shape = InferenceSession.physical(step.outputShape, step.outputLayout)
            var row = LayerSummary(name: step.name, kind: .other(step.node?.op.typeName ?? "Copy"), outputShape: shape,
                                   layout: step.outputShape.count == 4 ? step.outputLayout : .natural,
                                   parameters: step.node?.parameterCount ?? 0, weights: 0, macs: step.kernel.macs,
                                   gemm: "", lowering: step.kernel.lowering, fused: step.node?.fusedNodes ?? [])
            switch step.kernel {
            case let conv as ConvolutionKernel:
                let g = conv.geometry
                row.kind = .convolution(kernel: g.kernel, groups: g.groups, depthwise: conv.kernelLowering == .depthwise)
                row.weights = g.outChannels * g.reductionPerGroup
                let (m, k, n) = conv.gemmShape
                row.gemm = conv.kernelLowering == .depthwise ? "depthwise" : "\(m)×\(k)×\(n)" + (g.groups > 1 ? " ×\(g.groups)" : "")
            case let winograd as WinogradKernel:
                row.kind = .convolution(kernel: 3, groups: 1, depthwise: false)
                row.weights = winograd.outChannels * winograd.inChannels * 9
                row.gemm = "\(winograd.tiles)×\(winograd.inChannels)×\(winograd.outChannels) ×\(winograd.alpha * winograd.alpha)"
            case let gemm as GemmKernel:
                row.kind = .linear
                row.weights = gemm.constantB != nil || gemm.packedB != nil ? gemm.k * gemm.n : 0
                row.gemm = "\(gemm.m)×\(gemm.k)×\(gemm.n)"
            case let matMul as MatMulKernel:
                row.kind = .linear
                row.weights = matMul.constantB.map(\.count) ?? 0
                row.gemm = "\(matMul.foldedM)×\(matMul.k)×\(matMul.n)" + (matMul.batches.count > 1 ? " ×\(matMul.batches.count)" : "")
            case let pool as PoolKernel:
                row.kind = .pool((pool.isMax ? "MaxPool " : "AvgPool ") + "\(pool.window.kernel)/\(pool.window.stride.height)")
            case let pool as GlobalPoolKernel:
                row.kind = .pool(pool.isMax ? "GlobalMaxPool" : "GlobalAvgPool")
            default:
                break
            }
            return [row]
        }
    }

    /// A fused depthwise chain as one row per stage (so the 1x1 and depthwise shares still add up):
    /// the first holds the step's name, lowering and fused nodes; the others say where they run.
    private static func stages(of chain: DepthwiseChainKernel, _ a: DepthwiseChainAttributes, step: ExecutionPlan.Step) -> [LayerSummary] {
        let g = chain.depthwise
        let (n, h, w) = (chain.batch, chain.height, chain.width)
        let (oh, ow) = (chain.outputHeight, chain.outputWidth)
        let (c, e, m) = (chain.inChannels, chain.expanded, chain.outChannels)
        let macs = chain.stageMACs
        var rows: [LayerSummary] = []
        let counts = a.parameterCounts
        func row(_ stage: String, kind: LayerSummary.Kind, shape: [Int], weights: Int, macs: Int, gemm: String) {
            let index = rows.count
            rows.append(LayerSummary(name: index == 0 ? step.name : "\(step.name) · \(stage)", kind: kind, outputShape: shape, layout: .nhwc,
                                     parameters: index < counts.count ? counts[index] : 0, weights: weights, macs: macs, gemm: gemm,
                                     lowering: index == 0 ? chain.lowering : "\(stage), in the fused step above",
                                     fused: index == 0 ? step.node?.fusedNodes ?? [] : []))
        }
        if a.expand != nil {
            row("expand", kind: .convolution(kernel: 1, groups: 1, depthwise: false), shape: [n, h, w, e], weights: e * c,
                macs: macs.expand, gemm: "\(n * h * w)×\(c)×\(e)")
        }
        row("depthwise", kind: .convolution(kernel: g.kernel, groups: e, depthwise: true), shape: [n, oh, ow, e],
            weights: e * g.kernel.height * g.kernel.width, macs: macs.depthwise, gemm: "depthwise")
        row("project", kind: .convolution(kernel: 1, groups: 1, depthwise: false), shape: [n, oh, ow, m], weights: m * e,
            macs: macs.project, gemm: "\(n * oh * ow)×\(e)×\(m)")
        return rows
    }

    /// Parameters as PyTorch counts them (`sum(p.numel() for p in model.parameters())`).
    public var totalParameters: Int { rows.reduce(0) { $0 + $1.parameters } }
    public var totalMACs: Int { rows.reduce(0) { $0 + $1.macs } }
    public var pointwiseMACs: Int { rows.filter(\.isPointwise).reduce(0) { $0 + $1.macs } }
    public var pointwiseParameters: Int { rows.filter(\.isPointwise).reduce(0) { $0 + $1.parameters } }
    /// Convolution and linear weights, without biases or BatchNorm (MobileNet's Table 2 counts these).
    public var totalWeights: Int { rows.reduce(0) { $0 + $1.weights } }
    public var pointwiseWeights: Int { rows.filter(\.isPointwise).reduce(0) { $0 + $1.weights } }

    public var pointwiseMACShare: Double { Double(pointwiseMACs) / Double(max(totalMACs, 1)) }
    public var pointwiseParameterShare: Double { Double(pointwiseParameters) / Double(max(totalParameters, 1)) }
    public var pointwiseWeightShare: Double { Double(pointwiseWeights) / Double(max(totalWeights, 1)) }

    /// The table as text.
    public func render() -> String {
        let header = ["step", "kind", "fused", "output", "params", "MACs", "GEMM M×K×N", "lowering"]
        let table = rows.map { row in
            [row.name, row.kindDescription, row.fused.isEmpty ? "" : "+" + row.fused.count.description,
             describe(row.outputShape) + (row.layout == .nhwc ? " NHWC" : ""),
             Self.grouped(row.parameters), Self.grouped(row.macs), row.gemm, row.lowering]
        }
        var widths = header.map(\.count)
        for line in table { for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func format(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return (i == 4 || i == 5) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingWhitespace()
        }
        var lines = ["\(network), input \(describe(inputShape)), \(stepCount) steps after the passes", format(header),
                     String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))]
        lines += table.map(format)
        lines.append("")
        lines.append("total parameters: \(Self.grouped(totalParameters)) (PyTorch's count: conv/linear weights and biases, BatchNorm weight and bias)")
        lines.append("total MACs:       \(Self.grouped(totalMACs)) (\(Self.fixed(Double(totalMACs) / 1e9, 3)) G)")
        lines.append("1x1 convolutions: \(Self.fixed(pointwiseMACShare * 100, 2))% of MACs, \(Self.fixed(pointwiseParameterShare * 100, 2))% of parameters, "
                     + "\(Self.fixed(pointwiseWeightShare * 100, 2))% of conv/linear weights (no biases or BN, as MobileNet's Table 2 counts)")
        lines.append("memory: arena \(Self.mebibytes(arenaBytes)) (activations and workspaces, shared by liveness; at least \(Self.mebibytes(peakLiveBytes)) is live at the peak step) "
                     + "+ packed weights \(Self.mebibytes(weightBytes)); input and output not included")
        return lines.joined(separator: "\n")
    }

    static func grouped(_ value: Int) -> String {
        var digits = String(value.magnitude)
        var result = ""
        while digits.count > 3 {
            result = "," + digits.suffix(3) + result
            digits.removeLast(3)
        }
        return (value < 0 ? "-" : "") + digits + result
    }

    static func mebibytes(_ bytes: Int) -> String { fixed(Double(bytes) / 1_048_576, 1) + " MiB" }

    /// `value` with `digits` decimals; non-finite values as "nan"/"inf" (never a trap).
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        guard abs(value) < 1e15 else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let whole = (rounded / scale).rounded(.down)
        var fraction = String(Int(rounded - whole * scale))
        while fraction.count < digits { fraction = "0" + fraction }
        return (value < 0 && rounded > 0 ? "-" : "") + String(Int(whole)) + (digits > 0 ? "." + fraction : "")
    }
}
