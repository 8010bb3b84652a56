import ArgumentParser
import Foundation
import Pointwise

/// `pointwise run <network> --weights W.safetensors --input x.npy --output y.npy`
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a network with trained weights on an NCHW .npy input and write its logits as .npy.",
        discussion: """
        The weights are a PyTorch state_dict saved as safetensors, with torchvision's parameter names \
        (see Scripts/export_torchvision.py). The input is float32 [N, 3, H, W] (NCHW, as PyTorch \
        writes it); the batch is its first dimension. The output is float32 [N, 1000].
        """)

    @Argument(help: "One of: \(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var network: Network.Architecture

    @Option(help: "Weights: a safetensors file of the network's state_dict.")
    var weights: String

    @Option(help: "Input: a float32 .npy of shape [N, 3, H, W].")
    var input: String

    @Option(help: "Where to write the float32 .npy of logits, shape [N, 1000].")
    var output: String

    @Flag(help: "GoogLeNet only: torchvision's transform_input (on when its ImageNet weights are used).")
    var transformInput = false

    @Option(help: "Threads (default: the number of cores).")
    var threads: Int?

    @Option(help: "Also time this many forward passes (after 2 warm-up passes) and print a 'timing:' line.")
    var repetitions: Int?

    @Option(help: "Run the model from this many threads at once, each doing --repetitions passes (default 10); print the throughput and fail if any result differs bit for bit from the serial one.")
    var concurrent: Int?

    func validate() throws {
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads must be in 1...64, got \(threads)") }
        if let repetitions, !(1...1_000_000).contains(repetitions) { throw ValidationError("--repetitions must be in 1...1000000, got \(repetitions)") }
        if let concurrent, !(1...256).contains(concurrent) { throw ValidationError("--concurrent must be in 1...256, got \(concurrent)") }
    }

    func run() throws {
        if let threads { try BLASRuntime.shared.setThreadCount(threads) }
        let model = try Network.load(network, weights: weights, transformInput: transformInput)
        let x = try Tensor(nchw: NumpyFile.read(input))
        let start = Timings.now()
        let y = try model(x)
        let elapsed = Timings.now() - start
        try NumpyFile.write(y, to: output)
        if let repetitions {
            var again = y
            let timings = try Timings.measure(warmup: 2, repetitions: repetitions) { try model.forward(x, into: &again) }
            print("timing: median_ms=\(fixed(timings.median * 1e3, 3)) min_ms=\(fixed(timings.minimum * 1e3, 3)) "
                  + "reps=\(repetitions) threads=\(BLASRuntime.shared.threadCount)")
        }
        if let concurrent { try ConcurrentRun.check(model, x, expected: y, callers: concurrent, repetitions: repetitions ?? 10) }
        print("\(model.name): \(input) \(describe(x.shape, layout: "NHWC")) -> \(output) [\(y.shape[0]), \(y.shape[1])] in \(formatSeconds(elapsed))")
        for image in 0..<min(y.shape[0], 4) {
            let logits = y.scalars[(image * y.shape[1])..<((image + 1) * y.shape[1])]
            let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5).map { "\($0 - image * y.shape[1]) (\(fixed(Double(logits[$0]), 3)))" }
            print("  image \(image): top-5 classes \(top.joined(separator: ", "))")
        }
    }
}

func describe(_ shape: [Int], layout: String) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "] (\(layout))"
}

/// `--concurrent N`: N threads share one model, each running it `repetitions` times.
enum ConcurrentRun {
    static func check(_ model: Layer, _ x: Tensor, expected: Tensor, callers: Int, repetitions: Int) throws {
        try model.plan(forInput: x.shape).reserveContexts(callers)
        let mismatches = Failures()
        let start = Timings.now()
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            var y = expected
            for repetition in 0..<repetitions {
                do {
                    try model.forward(x, into: &y)
                    if y != expected { mismatches.record("caller \(caller), pass \(repetition): differs from the serial result") }
                } catch {
                    mismatches.record("caller \(caller): \(error)")
                }
            }
        }
        let elapsed = Timings.now() - start
        let images = Double(callers * repetitions * x.shape[0])
        print("concurrent: callers=\(callers) passes_each=\(repetitions) threads=\(BLASRuntime.shared.threadCount) "
              + "throughput=\(fixed(images / elapsed, 1)) images/s wall=\(formatSeconds(elapsed)) "
              + "bit_identical=\(mismatches.first == nil ? "yes" : "no")")
        if let problem = mismatches.first { throw ValidationError("concurrent run: \(problem)") }
    }
}
