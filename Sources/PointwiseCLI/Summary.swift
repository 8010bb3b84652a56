import ArgumentParser
import Pointwise

extension Network.Architecture: ExpressibleByArgument {}

/// `pointwise summary <network>`: per-layer shapes, parameters, MACs and the GEMM each convolution lowers to.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a network's layers: output shape, parameters, MACs, the GEMM each convolution lowers to.")

    @Argument(help: "One of: \(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var network: Network.Architecture

    @Option(help: "Batch size of the input.")
    var batch: Int = 1

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1, got \(batch)") }
    }

    func run() throws {
        let model = try Network.build(network, parameters: RandomParameters(seed: 0))
        let shape = [batch, 224, 224, 3]
        print(try model.summary(inputShape: shape).render())
        _ = try model.prepare(forInput: shape)
        let memory = model.memoryUse
        func mib(_ bytes: Int) -> String { fixed(Double(bytes) / 1_048_576, 1) + " MiB" }
        print("memory at batch \(batch): \(mib(memory.totalBytes)) = packed weights \(mib(memory.weightBytes)) "
              + "+ activation buffers \(mib(memory.activationBytes)) + im2col workspaces \(mib(memory.workspaceBytes)) "
              + "(input and output tensors not included)")
    }
}
