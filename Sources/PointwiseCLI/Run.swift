import ArgumentParser
import Foundation
import Pointwise

/// `pointwise run <network|model.onnx> --input x.npy --output y.npy`
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a built-in network with trained weights, or an ONNX model, on .npy inputs and write its outputs as .npy.",
        discussion: """
        MODEL is one of \(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", ")) (with --weights, a PyTorch \
        state_dict saved as safetensors with torchvision's names, see Scripts/export_torchvision.py) or a path to an .onnx file. \
        Arrays are NCHW, as PyTorch and ONNX hand them over. A model with several inputs or outputs takes --input NAME=FILE.npy \
        and --output NAME=FILE.npy (in the model's order without names); an int64 .npy is accepted where the model takes int64.
        """)

    @Argument(help: "A built-in network (\(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", "))) or an .onnx file.")
    var model: String

    @Option(help: "Weights of a built-in network: a safetensors file of its state_dict.")
    var weights: String?

    @Option(help: "An input: FILE.npy, or NAME=FILE.npy (repeat for several inputs).")
    var input: [String] = []

    @Option(help: "Where to write an output: FILE.npy, or NAME=FILE.npy (repeat for several outputs).")
    var output: [String] = []

    @Flag(help: "GoogLeNet only: torchvision's transform_input (on when its ImageNet weights are used).")
    var transformInput = false

    @Option(help: "Threads (default: the number of cores).")
    var threads: Int?

    @Option(help: "Also time this many runs (after 2 warm-up runs) and print a 'timing:' line.")
    var repetitions: Int?

    @Flag(help: "With --repetitions: print each step's mean time, the slowest first.")
    var profile = false

    @Option(help: "3x3 stride-1 convolutions: heuristic (Winograd F(4x4,3x3) where it wins, the default), im2col, winograd2, winograd4 or winograd6 (wherever it applies).")
    var convolutionAlgorithm: String = "heuristic"

    /// The parsed --convolution-algorithm.
    var algorithm: ConvolutionAlgorithm? {
        switch convolutionAlgorithm {
        case "heuristic": return .heuristic
        case "im2col": return .im2col
        case "winograd2": return .winograd(tile: 2)
        case "winograd4": return .winograd(tile: 4)
        case "winograd6": return .winograd(tile: 6)
        default: return nil
        }
    }

    @OptionGroup var planning: PlanningOptions

    @Option(help: "SGEMM of GEMM-lowered convolutions: heuristic (the default), openblas or packed.")
    var gemm: String = "heuristic"

    /// The parsed --gemm (nil: heuristic).
    var gemmKernel: GEMMKernel? { gemm == "openblas" ? .openBLAS : gemm == "packed" ? .packed : nil }

    @Flag(help: "Run 1x1 → depthwise → 1x1 chains (MobileNet blocks) layer by layer instead of fused per band of rows.")
    var noChainFusion = false

    @Option(help: "Run the model from this many threads at once, each doing --repetitions runs (default 10); print the throughput and fail if any result differs bit for bit from the serial one.")
    var concurrent: Int?

    func validate() throws {
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads must be in 1...64, got \(threads)") }
        if let repetitions, !(1...1_000_000).contains(repetitions) { throw ValidationError("--repetitions must be in 1...1000000, got \(repetitions)") }
        if let concurrent, !(1...256).contains(concurrent) { throw ValidationError("--concurrent must be in 1...256, got \(concurrent)") }
        guard algorithm != nil else {
            throw ValidationError("--convolution-algorithm must be heuristic, im2col, winograd2, winograd4 or winograd6, got '\(convolutionAlgorithm)'")
        }
        guard ["heuristic", "openblas", "packed"].contains(gemm) else {
            throw ValidationError("--gemm must be heuristic, openblas or packed, got '\(gemm)'")
        }
        guard !input.isEmpty else { throw ValidationError("--input is required") }
        if Network.Architecture(rawValue: model) != nil {
            guard weights != nil else { throw ValidationError("--weights is required for the built-in network \(model)") }
            guard input.count == 1, output.count <= 1 else { throw ValidationError("a built-in network takes one --input and one --output") }
        } else {
            guard model.hasSuffix(".onnx") else {
                throw ValidationError("MODEL must be one of \(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", ")) or an .onnx file, got '\(model)'")
            }
            guard weights == nil, !transformInput else { throw ValidationError("--weights and --transform-input are for the built-in networks") }
        }
    }

    func run() throws {
        if let threads { try BLASRuntime.shared.setThreadCount(threads) }
        let wisdom = try planning.load()
        let options = CompileOptions(convolutionAlgorithm: algorithm ?? .heuristic, gemmKernel: gemmKernel,
                                     planning: planning.mode ?? .estimate, wisdom: wisdom, fusesDepthwiseChains: !noChainFusion)
        let session: InferenceSession
        let name: String
        if let architecture = Network.Architecture(rawValue: model) {
            let network = try Network.load(architecture, weights: weights!, transformInput: transformInput)
            session = try InferenceSession(network.graph(inputRank: 4), options: options)
            name = network.name
        } else {
            session = try InferenceSession(ONNXImporter.load(model), options: options)
            name = model
        }
        // Inputs by name, or in the model's order; a built-in network's NCHW image becomes NHWC.
        var inputs: [String: TensorValue] = [:]
        for (index, argument) in input.enumerated() {
            let (label, path) = split(argument)
            let inputName = label ?? (index < session.inputNames.count ? session.inputNames[index] : "input \(index)")
            var value = try NumpyFile.readValue(path)
            if Network.Architecture(rawValue: model) != nil, case .float32(let tensor) = value { value = .float32(try Tensor(nchw: tensor)) }
            inputs[inputName] = value
        }
        let start = Timings.now()
        var outputs = try session.run(inputs)
        let elapsed = Timings.now() - start
        try planning.save(wisdom)
        for (index, argument) in output.enumerated() {
            let (label, path) = split(argument)
            let outputName = label ?? (index < session.outputNames.count ? session.outputNames[index] : "output \(index)")
            guard let value = outputs[outputName] else {
                throw ValidationError("the model has no output '\(outputName)' (outputs: \(session.outputNames.joined(separator: ", ")))")
            }
            try NumpyFile.write(value, to: path)
        }
        let single = session.inputNames.count == 1 && session.outputNames.count == 1
            && inputs.values.first?.floatTensor != nil && outputs.values.first?.floatTensor != nil
        if let repetitions {
            let timings: Timings
            if single, let x = inputs.values.first?.floatTensor, var y = outputs.values.first?.floatTensor {
                timings = try Timings.measure(warmup: 2, repetitions: repetitions) { try session.run(x, into: &y) }
            } else {
                timings = try Timings.measure(warmup: 2, repetitions: repetitions) { outputs = try session.run(inputs) }
            }
            print("timing: median_ms=\(fixed(timings.median * 1e3, 3)) min_ms=\(fixed(timings.minimum * 1e3, 3)) "
                  + "reps=\(repetitions) threads=\(BLASRuntime.shared.threadCount)")
            if profile, single, let x = inputs.values.first?.floatTensor {
                let steps = try session.plan(forInput: x.shape).profile(x, repetitions: repetitions)
                let total = steps.reduce(0) { $0 + $1.seconds }
                print("profile: \(steps.count) steps, \(formatSeconds(total)) in all")
                for step in steps.sorted(by: { $0.seconds > $1.seconds }).prefix(40) {
                    print("  " + fixed(step.seconds * 1e3, 3).padding(toLength: 9, withPad: " ", startingAt: 0) + " ms  "
                          + fixed(100 * step.seconds / total, 1).padding(toLength: 5, withPad: " ", startingAt: 0) + "%  \(step.step)  \(step.lowering)")
                }
            }
        }
        if let concurrent {
            guard single, let x = inputs.values.first?.floatTensor, let y = outputs.values.first?.floatTensor else {
                throw ValidationError("--concurrent needs a model with one float input and one float output")
            }
            try ConcurrentRun.check(session, x, expected: y, callers: concurrent, repetitions: repetitions ?? 10)
        }
        print("\(name): \(inputs.keys.sorted().map { "\($0) \(describe(inputs[$0]!.shape, layout: "as given"))" }.joined(separator: ", ")) in \(formatSeconds(elapsed))")
        for outputName in session.outputNames {
            guard let y = outputs[outputName]?.floatTensor else { continue }
            print("  output \(outputName) \(describe(y.shape, layout: "NCHW"))")
            guard y.rank == 2, y.shape[1] == 1000 else { continue }
            for image in 0..<min(y.shape[0], 4) {
                let logits = Array(y.scalars[(image * 1000)..<((image + 1) * 1000)])
                let top = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }.prefix(5)
                print("  image \(image): top-5 classes " + top.map { "\($0) (\(fixed(Double(logits[$0]), 3)))" }.joined(separator: ", "))
            }
        }
    }

    /// "NAME=FILE" → (NAME, FILE); "FILE" → (nil, FILE).
    private func split(_ argument: String) -> (String?, String) {
        guard let equals = argument.firstIndex(of: "="), !argument.hasPrefix("/") || argument[..<equals].contains("/") == false else {
            return (nil, argument)
        }
        let label = String(argument[..<equals])
        return label.contains("/") ? (nil, argument) : (label, String(argument[argument.index(after: equals)...]))
    }
}

func describe(_ shape: [Int], layout: String) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "] (\(layout))"
}

/// `--concurrent N`: N threads share one session, each running it `repetitions` times.
enum ConcurrentRun {
    static func check(_ session: InferenceSession, _ x: Tensor, expected: Tensor, callers: Int, repetitions: Int) throws {
        try session.plan(forInput: x.shape).reserveContexts(callers)
        let mismatches = Failures()
        let start = Timings.now()
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            var y = expected
            for repetition in 0..<repetitions {
                do {
                    try session.run(x, into: &y)
                    if y != expected { mismatches.record("caller \(caller), pass \(repetition): differs from the serial result") }
                } catch {
                    mismatches.record("caller \(caller): \(error)")
                }
            }
        }
        let elapsed = Timings.now() - start
        let images = Double(callers * repetitions * max(x.shape.first ?? 1, 1))
        print("concurrent: callers=\(callers) passes_each=\(repetitions) threads=\(BLASRuntime.shared.threadCount) "
              + "throughput=\(fixed(images / elapsed, 1)) images/s wall=\(formatSeconds(elapsed)) "
              + "bit_identical=\(mismatches.first == nil ? "yes" : "no")")
        if let problem = mismatches.first { throw ValidationError("concurrent run: \(problem)") }
    }
}
