import ArgumentParser
import Pointwise

extension Network.Architecture: ExpressibleByArgument {}

/// `pointwise summary <network|model.onnx>`: the graph after the passes, with the GEMM each node lowers to.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a model's graph after the passes: each step, what it fused, output shape, parameters, MACs, the GEMM it lowers to, and the planned memory.",
        discussion: "For an ONNX model, symbolic dimensions (the batch) are bound to --batch; a model with several inputs needs fixed shapes otherwise.")

    @Argument(help: "A built-in network (\(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", "))) or an .onnx file.")
    var model: String

    @Option(help: "Batch size of the input (every symbolic dimension of an ONNX model's inputs).")
    var batch: Int = 1

    @Option(help: "The most memory the plan may take, in MiB (default: the machine's physical memory).")
    var memoryLimit: Int?

    @OptionGroup var planning: PlanningOptions

    func validate() throws {
        guard (1...65536).contains(batch) else { throw ValidationError("--batch must be in 1...65536, got \(batch)") }
        if let memoryLimit, !(1...(1 << 30)).contains(memoryLimit) { throw ValidationError("--memory-limit must be in 1...1073741824 MiB, got \(memoryLimit)") }
        guard Network.Architecture(rawValue: model) != nil || model.hasSuffix(".onnx") else {
            throw ValidationError("MODEL must be one of \(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", ")) or an .onnx file, got '\(model)'")
        }
    }

    func run() throws {
        let wisdom = try planning.load()
        let options = CompileOptions(memoryLimit: memoryLimit.map { $0 << 20 }, planning: planning.mode ?? .estimate, wisdom: wisdom)
        defer { try? planning.save(wisdom) }
        if let architecture = Network.Architecture(rawValue: model) {
            let network = try Network.build(architecture, parameters: RandomParameters(seed: 0))
            let session = try InferenceSession(network.graph(inputRank: 4), options: options)
            let shape = [batch, 224, 224, 3]
            print(ModelSummary(network: network.name, inputShape: shape, plan: try session.plan(forInput: shape)).render())
            return
        }
        let graph = try ONNXImporter.load(model)
        let session = try InferenceSession(graph, options: options)
        let shapes = graph.inputs.map { input in input.shape.map { dimension -> Int in
            if case .fixed(let extent) = dimension { return extent }
            return batch
        } }
        let int64 = try Dictionary(uniqueKeysWithValues: graph.inputs.enumerated().filter { graph[$0.element.value].dataType == .int64 }.map {
            ($0.offset, try Int64Tensor(shape: shapes[$0.offset], scalars: Array(repeating: 0, count: shapes[$0.offset].reduce(1, *))))
        })
        guard int64.isEmpty else {
            throw ValidationError("the model takes int64 inputs (\(int64.keys.map { graph[graph.inputs[$0].value].name }.joined(separator: ", "))): their values are part of the plan; use pointwise run")
        }
        print(ModelSummary(network: graph.name, inputShape: shapes.first ?? [], plan: try session.plan(inputShapes: shapes)).render())
    }
}
