/// Per-layer table and totals of a network, as `pointwise summary` prints them.
public struct ModelSummary: Sendable {
    public let network: String
    public let inputShape: [Int]
    public let rows: [LayerSummary]

    /// Parameters as PyTorch counts them (`sum(p.numel() for p in model.parameters())`).
    public var totalParameters: Int { rows.reduce(0) { $0 + $1.parameters } }
    public var totalMACs: Int { rows.reduce(0) { $0 + $1.macs } }
    public var pointwiseMACs: Int { rows.filter(\.isPointwise).reduce(0) { $0 + $1.macs } }
    public var pointwiseParameters: Int { rows.filter(\.isPointwise).reduce(0) { $0 + $1.parameters } }
    /// Convolution and linear weights, without biases or BatchNorm (MobileNet's Table 2 counts these).
    public var totalWeights: Int { rows.reduce(0) { $0 + $1.weights } }
    public var pointwiseWeights: Int { rows.filter(\.isPointwise).reduce(0) { $0 + $1.weights } }

    public var pointwiseMACShare: Double { Double(pointwiseMACs) / Double(totalMACs) }
    public var pointwiseParameterShare: Double { Double(pointwiseParameters) / Double(totalParameters) }
    public var pointwiseWeightShare: Double { Double(pointwiseWeights) / Double(totalWeights) }

    /// The table as text.
    public func render() -> String {
        let header = ["layer", "kind", "output (NHWC)", "params", "MACs", "GEMM M×K×N"]
        let table = rows.map { row in
            [row.name, row.kindDescription, describe(row.outputShape), grouped(row.parameters), grouped(row.macs), row.gemm]
        }
        var widths = header.map(\.count)
        for line in table { for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func format(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return (i == 3 || i == 4) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingWhitespace()
        }
        var lines = ["\(network), input \(describe(inputShape)) (NHWC)", format(header),
                     String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))]
        lines += table.map(format)
        lines.append("")
        lines.append("total parameters: \(grouped(totalParameters)) (PyTorch's count: conv/linear weights and biases, BatchNorm weight and bias)")
        lines.append("total MACs:       \(grouped(totalMACs)) (\(percent(Double(totalMACs) / 1e9, digits: 3)) G)")
        lines.append("1x1 convolutions: \(percent(pointwiseMACShare * 100))% of MACs, \(percent(pointwiseParameterShare * 100))% of parameters, "
                     + "\(percent(pointwiseWeightShare * 100))% of conv/linear weights (no biases or BN, as MobileNet's Table 2 counts)")
        return lines.joined(separator: "\n")
    }

    private func grouped(_ value: Int) -> String {
        var digits = String(value)
        var result = ""
        while digits.count > 3 {
            result = "," + digits.suffix(3) + result
            digits.removeLast(3)
        }
        return digits + result
    }

    private func percent(_ value: Double, digits: Int = 2) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = String(rounded)
        let decimals = text.split(separator: ".").last?.count ?? 0
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
        return text
    }
}
