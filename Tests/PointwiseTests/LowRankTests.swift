import Testing
@testable import Pointwise

@Suite("Low-rank factorization (LAPACK sgesdd)")
struct LowRankTests {
    /// A graph of one 1x1 convolution with bias, ReLU and stride 2, Cin = 24, Cout = 16, named "layer".
    func layer(seed: UInt64 = 1, inChannels: Int = 24, outChannels: Int = 16, stride: Int = 2) throws -> (Conv2D, Graph) {
        let conv = try Conv2D(inChannels: inChannels, outChannels: outChannels, kernel: 1, stride: Size2D(stride),
                              weight: Tensor(randomUniform: [outChannels, inChannels, 1, 1], seed: seed),
                              bias: Tensor(randomUniform: [outChannels], seed: seed + 1), activation: .relu, name: "layer")
        return (conv, try conv.session(inputRank: 4).prepared)
    }

    @Test("the SVD reconstructs its matrix, with singular values in decreasing order")
    func svd() throws {
        let (m, n) = (7, 11)
        let a = try Tensor(randomUniform: [m * n], seed: 3).scalars
        let svd = try SingularValueDecomposition(matrix: a, rows: m, columns: n)
        #expect(zip(svd.singularValues, svd.singularValues.dropFirst()).allSatisfy { $0 >= $1 })
        var worst = 0.0
        for i in 0..<m { for j in 0..<n {
            var sum = 0.0
            for k in 0..<m { sum += Double(svd.u[i * m + k]) * Double(svd.singularValues[k]) * Double(svd.vt[k * n + j]) }
            worst = max(worst, abs(sum - Double(a[i * n + j])))
        } }
        // Float32 LAPACK: backward-stable, error ~ n·2⁻²⁴·‖A‖ (‖A‖ ≈ 5 here).
        #expect(worst < 1e-5)
        expectError("SVD matrix must be finite, got a NaN or infinite entry") {
            _ = try SingularValueDecomposition(matrix: [1, .nan, 0, 1], rows: 2, columns: 2)
        }
        expectError("SVD matrix element count for 2x3", "expected 6, got 4") {
            _ = try SingularValueDecomposition(matrix: [1, 2, 3, 4], rows: 2, columns: 3)
        }
    }

    @Test("at full rank the factorized pair reproduces the layer (≤ 1e-5): two GEMMs, the first with the stride")
    func fullRank() throws {
        let (conv, graph) = try layer()
        let x = try Tensor(randomUniform: [2, 9, 7, 24], seed: 5)
        let before = try conv(x)
        var factorized = graph
        try LowRankFactorization.factorize(&factorized, node: "layer", rank: 16)
        #expect(factorized.nodeList == ["layer.reduce: Conv(x, layer.reduce.weight) -> layer.reduce",
                                        "layer.expand: Conv(layer.reduce, layer.expand.weight, layer.bias) -> layer.act"])
        let (after, calls) = try recordGEMMs { try InferenceSession(factorized)(x) }
        #expect(calls.map { [$0.m, $0.k, $0.n] } == [[2 * 5 * 4, 24, 16], [2 * 5 * 4, 16, 16]])
        // Two Float32 GEMMs instead of one, through an orthogonal change of basis: error ~ K·2⁻²⁴.
        #expect(try Reference.normalizedError(after, before) <= 1e-5)
    }

    @Test("the weight error of a rank-r truncation is √(Σ_{i>r} σᵢ²)/√(Σ σᵢ²) (Eckart–Young)", arguments: [1, 3, 8, 12, 16])
    func eckartYoung(rank: Int) throws {
        let weight = try Tensor(randomUniform: [16, 24, 1, 1], seed: 7)
        let (reduce, expand, svd) = try LowRankFactorization.factors(of: weight, rank: rank)
        let squares = svd.singularValues.map { Double($0) * Double($0) }
        let predicted = (squares.dropFirst(rank).reduce(0, +) / squares.reduce(0, +)).squareRoot()
        let measured = LowRankFactorization.relativeError(weight.scalars, reduce: reduce, expand: expand)
        #expect(abs(measured - predicted) <= 1e-4)
    }

    @Test("rank by energy: the smallest rank keeping the share of Σσ²")
    func rankForEnergy() throws {
        let sigma: [Float] = [4, 2, 1, 1]  // squares 16, 4, 1, 1 of 22
        #expect(try LowRankFactorization.rank(keeping: 16.0 / 22, of: sigma) == 1)
        #expect(try LowRankFactorization.rank(keeping: 0.8, of: sigma) == 2)
        #expect(try LowRankFactorization.rank(keeping: 21.0 / 22, of: sigma) == 3)
        #expect(try LowRankFactorization.rank(keeping: 1, of: sigma) == 4)
    }

    @Test("a layer where factorization would not save MACs is left alone; an exactly low-rank one is factorized exactly")
    func compressChoosesLayers() throws {
        // 64→64 of exact rank 2 (W = A·B), followed by a 16→16 layer whose full rank never saves (r·32 ≥ 256 needs r ≥ 8).
        let a = try Tensor(randomUniform: [64, 2], seed: 1), b = try Tensor(randomUniform: [2, 64], seed: 2)
        var w = [Float](repeating: 0, count: 64 * 64)
        for o in 0..<64 { for i in 0..<64 { w[o * 64 + i] = a.scalars[o * 2] * b.scalars[i] + a.scalars[o * 2 + 1] * b.scalars[64 + i] } }
        let lowRank = try Conv2D(inChannels: 64, outChannels: 64, kernel: 1, weight: Tensor(shape: [64, 64, 1, 1], scalars: w), name: "low")
        let squeeze = try Conv2D(inChannels: 64, outChannels: 16, kernel: 1, weight: Tensor(randomUniform: [16, 64, 1, 1], seed: 3), name: "squeeze")
        let narrow = try Conv2D(inChannels: 16, outChannels: 16, kernel: 1, weight: Tensor(randomUniform: [16, 16, 1, 1], seed: 4), name: "narrow")
        let model = try Sequential([lowRank, squeeze, narrow])
        let x = try Tensor(randomUniform: [1, 6, 6, 64], seed: 5)
        let before = try model(x)
        var graph = try model.session(inputRank: 4).prepared
        let decisions = try LowRankFactorization.compress(&graph, energy: 0.999, inputShapes: [[1, 64, 6, 6]])
        let byName = Dictionary(decisions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["low"]?.rank == 2)
        #expect(byName["low"]?.macsAfter == 36 * 2 * 128 && byName["low"]?.macsBefore == 36 * 64 * 64)
        #expect(byName["narrow"]?.rank == nil, "16→16 at full rank would cost more")
        #expect(byName["squeeze"]?.rank == nil, "a random 64→16 matrix needs nearly full rank at 99.9% energy")
        #expect(graph.nodes.map(\.name) == ["low.reduce", "low.expand", "squeeze", "narrow"])
        let after = try InferenceSession(graph)(x)
        #expect(try Reference.normalizedError(after, before) <= 1e-4)
    }

    @Test("a factorized layer keeps writing into its concat slice (zero-copy concat still holds)")
    func factorizedInsideConcat() throws {
        let parameters = RandomParameters(seed: 9)
        let block = try InceptionModule(parameters, prefix: "m", inChannels: 32, ch1x1: 24, ch3x3Reduce: 8, ch3x3: 8,
                                        ch5x5Reduce: 4, ch5x5: 4, poolProjection: 4)
        let x = try Tensor(randomUniform: [1, 5, 5, 32], seed: 2)
        let before = try block(x)
        var graph = try block.session(inputRank: 4).prepared
        try LowRankFactorization.factorize(&graph, node: "m.branch1.conv", rank: 24)
        let session = try InferenceSession(graph)
        var y = try Tensor(zeros: before.shape)
        let (_, calls) = try recordGEMMs { try session.run(x, into: &y) }
        let base = y.scalars.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(calls.contains { $0.c == base && $0.ldc == 40 && $0.k == 24 && $0.n == 24 }, "expand factor writes channels 0..<24")
        #expect(try Reference.normalizedError(y, before) <= 1e-5)
    }

    @Test("bad input names the value: rank 0, rank above min(Cin, Cout), energy outside (0, 1], a layer that is not 1x1")
    func badInput() throws {
        let weight = try Tensor(randomUniform: [16, 24, 1, 1], seed: 1)
        expectError("rank of a 24→16 1x1 convolution", "in 1...16 (min(Cin, Cout)), got 0") {
            _ = try LowRankFactorization.factors(of: weight, rank: 0)
        }
        expectError("rank of a 24→16", "in 1...16", "got 17") { _ = try LowRankFactorization.factors(of: weight, rank: 17) }
        expectError("energy must be in (0, 1], got 0.0") { _ = try LowRankFactorization.rank(keeping: 0, of: [1]) }
        var (_, graph) = try layer()
        expectError("energy must be in (0, 1], got 1.5") {
            _ = try LowRankFactorization.compress(&graph, energy: 1.5, inputShapes: [[1, 24, 4, 4]])
        }
        let spatial = try Conv2D(inChannels: 8, outChannels: 8, kernel: 3, padding: 1, seed: 1)
        var spatialGraph = try Sequential([spatial]).session(inputRank: 4).prepared
        expectError("node for low-rank factorization must be a 1x1 convolution with groups 1", "got 'conv' (Conv)") {
            try LowRankFactorization.factorize(&spatialGraph, node: "conv", rank: 2)
        }
        expectError("node for low-rank factorization must be a node of", "got 'nothing'") {
            try LowRankFactorization.factorize(&spatialGraph, node: "nothing", rank: 2)
        }
    }
}
