import ArgumentParser
import Pointwise

extension Network.Architecture: ExpressibleByArgument {}

/// `pointwise summary <network>`: per-layer shapes, parameters, MACs and the GEMM each convolution lowers to.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a network's graph after the passes: each step, what it fused, output shape, parameters, MACs, the GEMM it lowers to, and the planned memory.")

    @Argument(help: "One of: \(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var network: Network.Architecture

    @Option(help: "Batch size of the input.")
    var batch: Int = 1

    func validate() throws {
        guard (1...65536).contains(batch) else { throw ValidationError("--batch must be in 1...65536, got \(batch)") }
    }

    func run() throws {
        let model = try Network.build(network, parameters: RandomParameters(seed: 0))
        print(try model.summary(inputShape: [batch, 224, 224, 3]).render())
    }
}
