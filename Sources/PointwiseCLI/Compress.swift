import ArgumentParser
import Pointwise

/// `pointwise compress <network> --energy 0.9`: low-rank factorization of every 1x1 convolution that it makes cheaper.
struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Factorize each 1x1 convolution by truncated SVD (LAPACK sgesdd) where it saves MACs, and report the cost.")

    @Argument(help: "One of: \(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var network: Network.Architecture

    @Option(help: "Share of each layer's spectral energy Σσ² to keep, in (0, 1].")
    var energy: Double = 0.9

    @Option(help: "Trained weights (safetensors state_dict); default: seeded random weights.")
    var weights: String?

    @Option(help: "Seed of the random input the outputs are compared on.")
    var seed: UInt64 = 1

    func validate() throws {
        guard energy > 0, energy <= 1 else { throw ValidationError("--energy must be in (0, 1], got \(energy)") }
    }

    func run() throws {
        let model = try weights.map { try Network.load(network, weights: $0) }
            ?? Network.build(network, parameters: RandomParameters(seed: 0))
        let x = try Tensor(randomUniform: [1, 224, 224, 3], seed: seed)
        let original = try model.session(inputRank: 4)
        let before = try original(x)
        // On the prepared graph: BatchNorm is folded, so the weights factorized are the ones that run.
        var graph = original.prepared
        let decisions = try LowRankFactorization.compress(&graph, energy: energy, inputShapes: [[1, 3, 224, 224]])
        let compressed = try InferenceSession(graph)
        let after = try compressed(x)

        print("\(model.name), 1x1 convolutions factorized at energy \(energy) (\(weights ?? "seeded random weights"))")
        let header = ["layer", "Cin→Cout", "rank", "MACs before", "MACs after", "params before", "params after", "weight error"]
        var table = [header]
        for d in decisions {
            table.append([d.name, "\(d.inChannels)→\(d.outChannels)",
                          d.rank.map(String.init) ?? "kept (r=\(d.requestedRank))",
                          grouped(d.macsBefore), grouped(d.macsAfter), grouped(d.parametersBefore), grouped(d.parametersAfter),
                          d.rank == nil ? "0" : String(format3(d.weightError))])
        }
        var widths = header.map(\.count)
        for row in table { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for (index, row) in table.enumerated() {
            print(row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 || i == 1 ? cell + pad : pad + cell
            }.joined(separator: "  "))
            if index == 0 { print(String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))) }
        }
        let factorized = decisions.filter { $0.rank != nil }
        let macsBefore = decisions.reduce(0) { $0 + $1.macsBefore }, macsAfter = decisions.reduce(0) { $0 + $1.macsAfter }
        let paramsBefore = decisions.reduce(0) { $0 + $1.parametersBefore }, paramsAfter = decisions.reduce(0) { $0 + $1.parametersAfter }
        let summary = ModelSummary(network: model.name, inputShape: x.shape, plan: try compressed.plan(forInput: x.shape))
        print("""

        factorized \(factorized.count) of \(decisions.count) 1x1 layers\(factorized.count < decisions.count ? " (the others would not save MACs at this energy)" : "")
        1x1 layers: MACs \(grouped(macsBefore)) -> \(grouped(macsAfter)) (\(fixed(100 * Double(macsAfter) / Double(max(macsBefore, 1)), 1))%), \
        parameters \(grouped(paramsBefore)) -> \(grouped(paramsAfter)) (\(fixed(100 * Double(paramsAfter) / Double(max(paramsBefore, 1)), 1))%)
        network: \(grouped(summary.totalMACs + macsBefore - macsAfter)) -> \(grouped(summary.totalMACs)) MACs
        output on a seeded 224x224 input: relative error ‖y′ − y‖/‖y‖ = \(format3(relativeError(after, before))), \
        max|y′ − y|/max|y| = \(format3(try Reference.normalizedError(after, before)))
        """)
    }

    private func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        var difference = 0.0, norm = 0.0
        for (u, v) in zip(a.scalars, b.scalars) {
            difference += (Double(u) - Double(v)) * (Double(u) - Double(v))
            norm += Double(v) * Double(v)
        }
        return (difference / norm).squareRoot()
    }

    private func grouped(_ value: Int) -> String {
        var digits = String(value), result = ""
        while digits.count > 3 { result = "," + digits.suffix(3) + result; digits.removeLast(3) }
        return digits + result
    }
}
