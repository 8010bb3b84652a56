/// Low-rank factorization of 1x1 convolutions: the bottleneck idea, derived from the weights.
///
/// A 1x1 convolution applies the Cout×Cin matrix W at every pixel. Its truncated SVD
/// W ≈ (U_r Σ_r)(V_rᵀ) replaces it by two 1x1 convolutions, Cin→r with weight V_rᵀ, then
/// r→Cout with weight U_r Σ_r, the original bias and activation. Per pixel that costs
/// r·(Cin + Cout) multiply-accumulates instead of Cin·Cout, so it saves work only when
/// r < Cin·Cout / (Cin + Cout). By Eckart–Young the rank-r truncation is the best in
/// Frobenius norm, with relative error √(Σ_{i>r} σᵢ²) / √(Σ σᵢ²).
///
/// Works on the folded weights (BatchNorm already folded into W and the bias), which is
/// exact for inference.
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

    /// The two 1x1 convolutions (Cin→r, then r→Cout with the bias and activation) whose product
    /// is the rank-r truncation of `conv`'s folded weights, and the SVD they came from.
    public static func factors(of conv: Conv2D, rank: Int) throws
        -> (reduce: Conv2D, expand: Conv2D, svd: SingularValueDecomposition) {
        try checkEligible(conv)
        let maximum = min(conv.inChannels, conv.outChannels)
        guard rank >= 1, rank <= maximum else {
            throw PointwiseError.invalidArgument(name: "rank of \(describeLayer(conv))", value: "\(rank)",
                                                 requirement: "in 1...\(maximum) (min(Cin, Cout))")
        }
        let svd = try SingularValueDecomposition(matrix: conv.pointwiseWeightMatrix(), rows: conv.outChannels, columns: conv.inChannels)
        let (reduce, expand) = try factors(svd, rank: rank, of: conv)
        return (reduce, expand, svd)
    }

    /// Factorizes `conv` in place to `rank`: every block holding it runs the pair from now on.
    public static func factorize(_ conv: Conv2D, rank: Int) throws {
        let (reduce, expand, _) = try factors(of: conv, rank: rank)
        try conv.adopt(reduce: reduce, expand: expand)
    }

    /// Factorizes every 1x1 convolution in `layer` (a block or a network) at the smallest rank
    /// keeping `energy` of its spectrum, where that saves multiply-accumulates; leaves the rest
    /// untouched. Returns one decision per 1x1 layer considered, in order.
    public static func compress(_ layer: Layer, energy: Double, inputShape: [Int]) throws -> [Decision] {
        guard energy > 0, energy <= 1 else {
            throw PointwiseError.invalidArgument(name: "energy", value: "\(energy)", requirement: "in (0, 1]")
        }
        var rows: [LayerSummary] = []
        try layer.summarize(inputShape: inputShape, into: &rows)
        let outputShapes = Dictionary(rows.map { ($0.name, $0.outputShape) }, uniquingKeysWith: { first, _ in first })
        var decisions: [Decision] = []
        for case let conv as Conv2D in layer.allLayers where isEligible(conv) {
            guard let shape = outputShapes[conv.name] else { continue }
            let pixels = shape[0] * shape[1] * shape[2]
            let (cin, cout) = (conv.inChannels, conv.outChannels)
            let weight = conv.pointwiseWeightMatrix()
            let svd = try SingularValueDecomposition(matrix: weight, rows: cout, columns: cin)
            let rank = try Self.rank(keeping: energy, of: svd.singularValues)
            let (reduce, expand) = try factors(svd, rank: rank, of: conv)
            let saves = rank * (cin + cout) < cin * cout
            var decision = Decision(
                name: conv.name, inChannels: cin, outChannels: cout, pixels: pixels, rank: saves ? rank : nil,
                requestedRank: rank, macsBefore: pixels * cin * cout, macsAfter: pixels * cin * cout,
                parametersBefore: cin * cout + cout, parametersAfter: cin * cout + cout,
                weightError: relativeError(weight, reconstructed: reduce, expand),
                energyKept: energyKept(svd.singularValues, rank: rank))
            if saves {
                decision.macsAfter = pixels * rank * (cin + cout)
                decision.parametersAfter = rank * (cin + cout) + cout
                try conv.adopt(reduce: reduce, expand: expand)
            }
            decisions.append(decision)
        }
        return decisions
    }

    /// 1x1, ungrouped, no padding (stride allowed: the first factor takes it), not yet factorized.
    static func isEligible(_ conv: Conv2D) -> Bool {
        conv.kernel == 1 && conv.groups == 1 && conv.padding.isZero && conv.rank == nil
    }

    private static func checkEligible(_ conv: Conv2D) throws {
        guard isEligible(conv) else {
            throw PointwiseError.invalidArgument(
                name: "layer for low-rank factorization", value: describeLayer(conv),
                requirement: "a 1x1 convolution with groups 1, no padding, not already factorized")
        }
    }

    private static func describeLayer(_ conv: Conv2D) -> String {
        (conv.name.isEmpty ? "" : conv.name + " ") + "(\(conv.kernel) conv, \(conv.inChannels)→\(conv.outChannels), groups \(conv.groups)"
            + (conv.padding.isZero ? "" : ", padding \(conv.padding)") + (conv.rank.map { ", already rank \($0)" } ?? "") + ")"
    }

    /// reduce: weight V_rᵀ [r, Cin, 1, 1], stride of the original, no bias, identity;
    /// expand: weight U_r Σ_r [Cout, r, 1, 1], the original bias and activation.
    private static func factors(_ svd: SingularValueDecomposition, rank r: Int, of conv: Conv2D) throws -> (Conv2D, Conv2D) {
        let (cin, cout, k) = (conv.inChannels, conv.outChannels, min(conv.inChannels, conv.outChannels))
        let reduceWeight = Array(svd.vt[0..<(r * cin)])
        var expandWeight = [Float](repeating: 0, count: cout * r)
        for o in 0..<cout { for j in 0..<r { expandWeight[o * r + j] = svd.u[o * k + j] * svd.singularValues[j] } }
        let reduce = try Conv2D(inChannels: cin, outChannels: r, kernel: 1, stride: conv.stride,
                                weight: Tensor(shape: [r, cin, 1, 1], scalars: reduceWeight))
        let expand = try Conv2D(inChannels: r, outChannels: cout, kernel: 1,
                                weight: Tensor(shape: [cout, r, 1, 1], scalars: expandWeight),
                                bias: conv.bias.map { try Tensor(shape: [cout], scalars: $0) }, activation: conv.activation)
        return (reduce, expand)
    }

    /// ‖W − expand·reduce‖_F / ‖W‖_F, in Double.
    static func relativeError(_ w: [Float], reconstructed reduce: Conv2D, _ expand: Conv2D) -> Double {
        let (cin, r, cout) = (reduce.inChannels, reduce.outChannels, expand.outChannels)
        let a = reduce.pointwiseWeightMatrix()  // r×Cin
        let b = expand.pointwiseWeightMatrix()  // Cout×r
        var difference = 0.0, norm = 0.0
        for o in 0..<cout {
            for i in 0..<cin {
                var product = 0.0
                for j in 0..<r { product += Double(b[o * r + j]) * Double(a[j * cin + i]) }
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
