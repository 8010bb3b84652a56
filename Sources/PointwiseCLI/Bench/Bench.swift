import ArgumentParser
import Foundation
import Pointwise

/// `pointwise bench`: GEMM lowering vs the naive loop, vs bare SGEMM on the same shapes, vs the machine's peak.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the engine against the naive loop, bare SGEMM on the same GEMM shapes, and the measured peak.",
        discussion: """
        Rows: the seed layer (28x28x256 -> 16), a ResNet-50 bottleneck of each kind and its convolutions, \
        GoogLeNet's inception (3a) and its branches, MobileNet blocks, and the four networks at batch 1 and \
        --large-batch; then a scaling sweep of 1x1 convolutions. Run it in a release build.
        """)

    @Option(help: "BLAS thread counts, comma-separated.")
    var threads: String = "1,2"

    @Option(help: "Only rows whose name contains this text (case-insensitive); 'sweep' selects the sweep.")
    var filter: String?

    @Option(help: "Write the results as JSON to this file (Scripts/plot_bench.py reads it).")
    var json: String?

    @Option(help: "Write the results as CSV to this file.")
    var csv: String?

    @Option(help: "The larger batch for the whole networks.")
    var largeBatch: Int = 8

    @Flag(help: "Skip the scaling sweep.")
    var noSweep = false

    @Flag(help: "Skip counting heap allocations per forward pass (done in child processes with the malloc interposer).")
    var noAllocations = false

    var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        let counts = threadCounts
        guard !counts.isEmpty, counts.count == threads.split(separator: ",").count, counts.allSatisfy({ (1...64).contains($0) }) else {
            throw ValidationError("--threads must be a comma-separated list of counts in 1...64, got '\(threads)'")
        }
        guard (1...256).contains(largeBatch) else { throw ValidationError("--large-batch must be in 1...256, got \(largeBatch)") }
    }

    func run() throws {
        let blas = BLASRuntime.shared
        let selected = BenchSuite.cases(largeBatch: largeBatch).filter { benchCase in
            filter.map { benchCase.name.lowercased().contains($0.lowercased()) } ?? true
        }
        let sweep = noSweep || (filter.map { !"sweep".contains($0.lowercased()) } ?? false) ? [] : BenchSweep.points
        #if DEBUG
        print("warning: debug build; timings are meaningless. Use `swift run -c release pointwise bench`.")
        #endif
        print("Pointwise bench: \(cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(blas.config)")
        print("BLAS core \(blas.coreName); thread counts \(threadCounts); \(selected.count) rows, \(sweep.count) sweep points")
        print("repetitions: engine and bare SGEMM \(BenchRepetitions.description.engine); naive \(BenchRepetitions.description.naive)\n")

        let allocationSteps = noAllocations || filter != nil ? 0 : Network.Architecture.allCases.count
        var progress = Progress(total: threadCounts.count * (selected.count + sweep.count + allocationSteps + 1))
        var naiveResults: [String: NaiveResult] = [:]
        var runs: [BenchRun] = []
        let fmaPeak = try FMAPeak.gigaflopsPerCore()
        for threadCount in threadCounts {
            try blas.setThreadCount(threadCount)
            progress.step("threads \(threadCount): peak SGEMM")
            let peak = try BenchMeasurement.peakGFLOPS(threads: threadCount)
            var rows: [BenchRow] = []
            for benchCase in selected {
                progress.step("threads \(threadCount): \(benchCase.name)")
                let layer = try benchCase.make()
                let x = try Tensor(randomUniform: benchCase.inputShape, seed: 11)
                if benchCase.naiveSkipped == nil && naiveResults[benchCase.name] == nil {
                    naiveResults[benchCase.name] = try BenchMeasurement.naive(layer, x, outputShape: layer.outputShape(forInput: x.shape))
                }
                rows.append(try BenchMeasurement.measure(benchCase, layer: layer, input: x,
                                                         naive: naiveResults[benchCase.name], peak: peak.gflops))
            }
            var points: [SweepPoint] = []
            for (spatial, channels) in sweep {
                progress.step("threads \(threadCount): sweep \(spatial)x\(spatial)x\(channels)")
                points.append(try BenchSweep.measure(spatial: spatial, channels: channels, naive: &naiveResults))
            }
            var allocations: [AllocationCount] = []
            if !noAllocations && filter == nil {
                for architecture in Network.Architecture.allCases {
                    progress.step("threads \(threadCount): allocations \(architecture.rawValue)")
                    let count = Allocations.perPass(architecture, threads: threadCount)
                    allocations.append(AllocationCount(network: architecture.rawValue, batch: 1,
                                                       mallocs_per_pass: count?.mallocs, bytes_per_pass: count?.bytes))
                }
            }
            let run = BenchRun(threads: threadCount, peak_gflops: peak.gflops, peak_shape: peak.shape,
                               fma_peak_gflops: fmaPeak * Double(threadCount), rows: rows, sweep: points, allocations: allocations)
            runs.append(run)
            progress.finish()
            print(BenchReport.table(run) + "\n")
        }
        progress.finish()

        let report = BenchReport(
            command: (["pointwise"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
            machine: BenchMachine(cpu: cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount,
                                  blas_config: blas.config, blas_core: blas.coreName,
                                  date: ISO8601DateFormatter().string(from: Date()), build: buildKind),
            repetitions: ["warmup": "\(BenchRepetitions.warmup)", "engine": BenchRepetitions.description.engine,
                          "naive": BenchRepetitions.description.naive, "bare_sgemm": BenchRepetitions.description.bareSGEMM],
            runs: runs)
        if let json { try report.writeJSON(to: json); print("wrote \(json)") }
        if let csv { try report.writeCSV(to: csv); print("wrote \(csv)") }
    }
}

/// The scaling sweep: 1x1 convolutions C→C on S×S maps, batch 1.
enum BenchSweep {
    static let spatialSizes = [7, 14, 28, 56, 112]
    static let channelCounts = [16, 64, 256, 1024]
    /// Above this many multiply-accumulates the naive loop is skipped (≈ 0.3 s each): its cost is
    /// proportional to the MACs, which the smaller points already show.
    static let naiveMACLimit = 210_000_000

    static var points: [(Int, Int)] { spatialSizes.flatMap { s in channelCounts.map { (s, $0) } } }

    static func measure(spatial: Int, channels: Int, naive: inout [String: NaiveResult]) throws -> SweepPoint {
        let conv = try Conv2D(inChannels: channels, outChannels: channels, kernel: 1, bias: false, seed: 5)
        let x = try Tensor(randomUniform: [1, spatial, spatial, channels], seed: 6)
        let key = "sweep \(spatial) \(channels)"
        let macs = spatial * spatial * channels * channels
        if macs <= naiveMACLimit && naive[key] == nil {
            naive[key] = try BenchMeasurement.naive(conv, x, outputShape: [1, spatial, spatial, channels])
        }
        var y = try Tensor(zeros: [1, spatial, spatial, channels])
        let (_, calls) = try BLASRuntime.shared.withThreadLimit(1) { try GEMMTrace.record { try conv.forward(x, into: &y) } }
        let (engine, bare) = try BenchMeasurement.withBareSGEMM(calls) { bare in
            try BenchRepetitions.timeEngineThenBare({ try conv.forward(x, into: &y) }, bare)
        }
        return SweepPoint(spatial: spatial, channels: channels, flops: 2 * Double(macs),
                          naive_median_s: naive[key]?.median, engine_median_s: engine.median,
                          bare_sgemm_median_s: bare?.median)
    }
}

/// "AMD EPYC ...", from /proc/cpuinfo.
func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}
