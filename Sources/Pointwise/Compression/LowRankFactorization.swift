/// Low-rank factorization of 1x1 convolutions: the bottleneck idea, derived from the weights,
/// as a rewrite of a graph.
///
/// A 1x1 convolution applies the Cout×Cin matrix W at every pixel. Its truncated SVD
/// W ≈ (U_r Σ_r)(V_rᵀ) replaces it by two 1x1 convolutions, Cin→r with weight V_rᵀ, then
/// r→Cout with weight U_r Σ_r, the original bias, residual and activation. Per pixel that costs
/// r·(Cin + Cout) multiply-accumulates instead of Cin·Cout, so it saves work only when
/// r < Cin·Cout / (Cin + Cout). By Eckart–Young the rank-r truncation is the best in
/// Frobenius norm, with relative error √(Σ_{i>r} σᵢ²) / √(Σ σᵢ²).
///
/// Works on the weights as they are in the graph: run it on a session's `prepared` graph, where
/// BatchNorm is already folded into W and the bias (exact for inference).
public enum LowRankFactorization {
    /// What factorizing one layer does, or why it was left alone.
    public struct Decision: Sendable {
        public var name: String
        public var inChannels: Int
        public var outChannels: Int
        /// Output pixels (N·H'·W') the layer runs over.
        public var pixels: Int
        /// The rank chosen, or nil when the layer is left alone.
        public var rank: Int?
        /// The rank the energy criterion asked for (equal to `rank` when applied).
        public var requestedRank: Int
        public var macsBefore: Int
        public var macsAfter: Int
        /// Weights and bias of the folded layer(s).
        public var parametersBefore: Int
        public var parametersAfter: Int
        /// ‖W − W_r‖_F / ‖W‖_F of the requested rank, measured on the reconstructed matrix.
        public var weightError: Double
        /// Share of Σ σᵢ² kept by the requested rank.
        public var energyKept: Double
    }

    /// The smallest rank r whose singular values keep at least `energy` of Σ σᵢ²
    /// (`singularValues` in decreasing order). `energy` must be in (0, 1].
    public static func rank(keeping energy: Double, of singularValues: [Float]) throws -> Int {
        guard energy > 0, energy <= 1 else {
            throw PointwiseError.invalidArgument(name: "energy", value: "\(energy)", requirement: "in (0, 1]")
        }
        let squares = singularValues.map { Double($0) * Double($0) }
        let total = squares.reduce(0, +)
        guard total > 0 else { return 1 }
        var kept = 0.0
        for (index, square) in squares.enumerated() {
            kept += square
            // A relative slack of 1e-12 absorbs rounding when energy = 1.
            if kept >= energy * total * (1 - 1e-12) { return index + 1 }
        }
        return squares.count
    }

    /// The two factors of a 1x1 weight `[Cout, Cin, 1, 1]` at `rank`: reduce `[r, Cin, 1, 1]`
    /// (V_rᵀ) and expand `[Cout, r, 1, 1]` (U_r Σ_r), with the SVD they came from.
    public static func factors(of weight: Tensor, rank: Int) throws -> (reduce: Tensor, expand: Tensor, svd: SingularValueDecomposition) {
        guard weight.rank == 4, weight.shape[2] == 1, weight.shape[3] == 1 else {
            throw PointwiseError.shapeMismatch(what: "weight for low-rank factorization ([Cout, Cin, 1, 1])",
                                               expected: "a 1x1 convolution weight", actual: describe(weight.shape))
        }
        let (cout, cin) = (weight.shape[0], weight.shape[1])
        let maximum = min(cin, cout)
        guard rank >= 1, rank <= maximum else {
            throw PointwiseError.invalidArgument(name: "rank of a \(cin)→\(cout) 1x1 convolution", value: "\(rank)",
                                                 requirement: "in 1...\(maximum) (min(Cin, Cout))")
        }
        let svd = try SingularValueDecomposition(matrix: weight.scalars, rows: cout, columns: cin)
        let reduce = try Tensor(shape: [rank, cin, 1, 1], scalars: Array(svd.vt[0..<(rank * cin)]))
        var expand = [Float](repeating: 0, count: cout * rank)
        for o in 0..<cout { for j in 0..<rank { expand[o * rank + j] = svd.u[o * maximum + j] * svd.singularValues[j] } }
        return (reduce, try Tensor(shape: [cout, rank, 1, 1], scalars: expand), svd)
    }

    /// The node of `graph` named `name`, checked to be a factorizable convolution: 1x1, groups 1,
    /// no padding (stride allowed: the first factor takes it), constant weight.
    static func eligibleConvolution(_ graph: Graph, _ index: Int) -> (ConvolutionAttributes, Tensor)? {
        let node = graph.nodes[index]
        guard case .conv(let a) = node.op, a.group == 1, a.pads.allSatisfy({ $0 == 0 }), a.autoPad == .notSet || a.autoPad == .valid,
              let weight = node.input(1).flatMap({ graph.initializers[$0]?.floatTensor }),
              weight.rank == 4, weight.shape[2] == 1, weight.shape[3] == 1
        else { return nil }
        return (a, weight)
    }

    /// Replaces convolution node `name` by its two factors at `rank`.
    public static func factorize(_ graph: inout Graph, node name: String, rank: Int) throws {
        guard let index = graph.nodes.firstIndex(where: { $0.name == name }) else {
            throw PointwiseError.invalidArgument(name: "node for low-rank factorization", value: "'\(name)'", requirement: "a node of '\(graph.name)'")
        }
        guard let (attributes, weight) = eligibleConvolution(graph, index) else {
            throw PointwiseError.invalidArgument(name: "node for low-rank factorization", value: "'\(name)' (\(graph.nodes[index].op.typeName))",
                                                 requirement: "a 1x1 convolution with groups 1, no padding and a constant weight")
        }
        let (reduce, expand, _) = try factors(of: weight, rank: rank)
        replace(&graph, index, attributes, reduce, expand)
    }

    private static func replace(_ graph: inout Graph, _ index: Int, _ attributes: ConvolutionAttributes, _ reduce: Tensor, _ expand: Tensor) {
        let node = graph.nodes[index]
        let rank = reduce.shape[0]
        let reduceWeight = graph.addInitializer(graph.uniqueValueName("\(node.name).reduce.weight"), .float32(reduce))
        let expandWeight = graph.addInitializer(graph.uniqueValueName("\(node.name).expand.weight"), .float32(expand))
        let hidden = graph.addValue(graph.uniqueValueName("\(node.name).reduce"))
        var first = ConvolutionAttributes(strides: attributes.strides)
        first.dilations = attributes.dilations
        var second = attributes
        second.kernelShape = [1, 1]
        second.strides = [1, 1]
        let reduceNode = Node(name: "\(node.name).reduce", op: .conv(first), inputs: [node.inputs[0], reduceWeight], outputs: [hidden],
                              parameterCount: reduce.count)
        var inputs: [ValueID?] = [hidden, expandWeight, node.input(2)]
        if attributes.hasResidual { inputs.append(node.input(3)) }
        let expandNode = Node(name: "\(node.name).expand", op: .conv(second), inputs: inputs, outputs: node.outputs,
                              parameterCount: expand.count + (node.input(2).flatMap { graph.initializers[$0]?.count } ?? 0),
                              fusedNodes: node.fusedNodes)
        graph.nodes.replaceSubrange(index...index, with: [reduceNode, expandNode])
        _ = rank
    }

    /// Factorizes every eligible 1x1 convolution of `graph` at the smallest rank keeping `energy`
    /// of its spectrum, where that saves multiply-accumulates; leaves the rest untouched. Returns
    /// one decision per eligible convolution, in order. `inputShapes` give the pixel counts.
    public static func compress(_ graph: inout Graph, energy: Double, inputShapes: [[Int]]) throws -> [Decision] {
        guard energy > 0, energy <= 1 else {
            throw PointwiseError.invalidArgument(name: "energy", value: "\(energy)", requirement: "in (0, 1]")
        }
        var shaped = graph
        try shaped.bindInputShapes(inputShapes)
        try ShapeInference().run(on: &shaped)
        var decisions: [Decision] = []
        var index = 0
        while index < graph.nodes.count {
            defer { index += 1 }
            guard let (attributes, weight) = eligibleConvolution(graph, index) else { continue }
            let node = graph.nodes[index]
            let output = shaped.value(named: graph[node.output].name).flatMap { shaped[$0].shape } ?? []
            let pixels = output.count == 4 ? output[0] * output[2] * output[3] : 0
            let (cout, cin) = (weight.shape[0], weight.shape[1])
            let svd = try SingularValueDecomposition(matrix: weight.scalars, rows: cout, columns: cin)
            let rank = try Self.rank(keeping: energy, of: svd.singularValues)
            let (reduce, expand, _) = try factors(of: weight, rank: rank)
            let saves = rank * (cin + cout) < cin * cout
            let bias = node.input(2) == nil ? 0 : cout
            var decision = Decision(
                name: node.name, inChannels: cin, outChannels: cout, pixels: pixels, rank: saves ? rank : nil,
                requestedRank: rank, macsBefore: pixels * cin * cout, macsAfter: pixels * cin * cout,
                parametersBefore: cin * cout + bias, parametersAfter: cin * cout + bias,
                weightError: relativeError(weight.scalars, reduce: reduce, expand: expand),
                energyKept: energyKept(svd.singularValues, rank: rank))
            if saves {
                decision.macsAfter = pixels * rank * (cin + cout)
                decision.parametersAfter = rank * (cin + cout) + bias
                replace(&graph, index, attributes, reduce, expand)
                index += 1  // skip the expand factor just inserted
            }
            decisions.append(decision)
        }
        return decisions
    }

    /// ‖W − expand·reduce‖_F / ‖W‖_F, in Double.
    static func relativeError(_ w: [Float], reduce: Tensor, expand: Tensor) -> Double {
        let (r, cin, cout) = (reduce.shape[0], reduce.shape[1], expand.shape[0])
        var difference = 0.0, norm = 0.0
        for o in 0..<cout {
            for i in 0..<cin {
                var product = 0.0
                for j in 0..<r { product += Double(expand.scalars[o * r + j]) * Double(reduce.scalars[j * cin + i]) }
                let original = Double(w[o * cin + i])
                difference += (original - product) * (original - product)
                norm += original * original
            }
        }
        return norm == 0 ? 0 : (difference / norm).squareRoot()
    }

    static func energyKept(_ singularValues: [Float], rank: Int) -> Double {
        let squares = singularValues.map { Double($0) * Double($0) }
        let total = squares.reduce(0, +)
        return total == 0 ? 1 : squares.prefix(rank).reduce(0, +) / total
    }
}
