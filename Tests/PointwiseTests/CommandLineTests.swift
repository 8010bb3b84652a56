import Foundation
import Pointwise
import Testing

/// Runs the `pointwise` executable built next to this test bundle.
func runPointwise(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let buildDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [buildDirectory]
    // Bundle paths differ between XCTest (.xctest directory) and Swift Testing runners.
    candidates.append(buildDirectory.deletingLastPathComponent())
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
    guard let executable = candidates.map({ $0.appendingPathComponent("pointwise") })
        .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "pointwise next to \(buildDirectory.path)"])
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "OPENBLAS_CORETYPE")
    env.removeValue(forKey: "POINTWISE_ISA")
    env.merge(environment) { $1 }
    process.environment = env
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

@Suite("pointwise command line")
struct CommandLineTests {
    /// "BLAS core:      SkylakeX" → "SkylakeX".
    func field(_ name: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    @Test("info: with no environment variable, an AVX-512 CPU runs AVX-512 kernels (AVX2 ones on AVX2 CPUs)")
    func infoReportsFittingCore() throws {
        let output = try runPointwise(["info"])
        let core = try #require(field("BLAS core", in: output)).lowercased()
        let features = try #require(field("CPU features", in: output)).split(separator: " ")
        #expect(core != "prescott", "\(output)")
        if features.contains("avx512f") && features.contains("avx512bw") && features.contains("avx512vl") {
            #expect(["skylakex", "cooperlake", "sapphirerapids"].contains(core), "\(output)")
        } else if features.contains("avx2") {
            #expect(["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"].contains(core), "\(output)")
        }
    }

    @Test("info: OpenBLAS's 'Prescott' fallback is detected and replaced by a core the CPU has")
    func prescottFallbackIsFixed() throws {
        let output = try runPointwise(["info", "--start-from-core", "Prescott"])
        let features = try #require(field("CPU features", in: output)).split(separator: " ")
        let core = try #require(field("BLAS core", in: output))
        if features.contains("avx512f") && features.contains("avx512bw") && features.contains("avx512vl")
            && features.contains("avx512dq") && features.contains("avx512cd") {
            #expect(core == "SkylakeX", "\(output)")
            #expect(output.contains("switched Prescott -> SkylakeX"), "\(output)")
        } else if features.contains("avx2") && features.contains("fma") {
            #expect(core == "Haswell", "\(output)")
        }
    }

    @Test("info: a user's OPENBLAS_CORETYPE is respected")
    func userCoreTypeRespected() throws {
        let output = try runPointwise(["info"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(field("BLAS core", in: output) == "Prescott", "\(output)")
        #expect(output.contains("set by the user"), "\(output)")
    }

    @Test("info: POINTWISE_ISA narrows the kernels' ISA; an unknown value is reported and ignored")
    func kernelISAOverride() throws {
        let output = try runPointwise(["info"], environment: ["POINTWISE_ISA": "portable"])
        #expect(field("Kernel ISA", in: output) == "portable C (POINTWISE_ISA=portable)", "\(output)")
        let bogus = try runPointwise(["info"], environment: ["POINTWISE_ISA": "avx1024"])
        #expect(bogus.contains("POINTWISE_ISA=avx1024 ignored: expected portable, avx2 or avx512"), "\(bogus)")
        #expect(field("Kernel ISA", in: bogus) == "\(KernelISA.best) (POINTWISE_ISA=avx1024)", "\(bogus)")
    }

    @Test("run --plan measure --wisdom: writes wisdom, a second run plans from it; bad --plan refused")
    func planAndWisdom() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pointwise-cli-wisdom-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let wisdom = directory.appendingPathComponent("wisdom.json").path
        let measured = try runPointwise(["summary", "resnet50", "--plan", "measure", "--wisdom", wisdom])
        #expect(measured.contains("measured: "), "\(measured)")
        #expect(measured.contains("wisdom: ") && FileManager.default.fileExists(atPath: wisdom), "\(measured)")
        let reused = try runPointwise(["summary", "resnet50", "--wisdom", wisdom])
        #expect(reused.contains("wisdom: ") && !reused.contains("measured: "), "\(reused)")
        let refused = try runPointwise(["summary", "resnet50", "--plan", "fftw"])
        #expect(refused.contains("--plan must be estimate or measure, got 'fftw'"), "\(refused)")
    }

    @Test("demo: prints the lowered GEMM and agrees with the naive loop")
    func demo() throws {
        let output = try runPointwise(["demo", "--repetitions", "1"])
        #expect(output.contains("M=784, K=256, N=16"), "\(output)")
        #expect(output.contains("FLOPs = 2·M·K·N = 6422528"), "\(output)")
        #expect(output.contains("sgemm M=784 N=16 K=256 lda=256 ldb=16 ldc=16, workspace 0 bytes"), "\(output)")
        let error = try #require(output.split(separator: "\n").first { $0.contains("max error") }?
            .split(separator: "=").last.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) })
        #expect(error <= 1e-4)
    }

    /// Debug builds box values and keep closure contexts on the heap that the optimiser removes.
    static let isReleaseBuild: Bool = {
        #if DEBUG
        return false
        #else
        return true
        #endif
    }()

    @Test("a steady-state forward pass allocates nothing, on 1 and 2 threads (counted by the malloc interposer)",
          .enabled(if: isReleaseBuild, "allocation-freedom is a property of the optimised build: run Scripts/test.sh (release)"),
          arguments: ["resnet50", "googlenet", "mobilenet_v1", "mobilenet_v2"], [1, 2])
    func allocationFree(network: String, threads: Int) throws {
        let output = try runPointwise(["allocations", network, "--threads", "\(threads)", "--passes", "2"])
        #expect(output.contains("allocations: network=\(network) batch=1 passes=2 threads=\(threads) mallocs=0 bytes=0"), "\(output)")
    }

    @Test("the allocation counter does count: the first pass, which sizes the buffers, allocates")
    func allocationCounterWorks() throws {
        // A zero above means something only if the counter sees allocations.
        let output = try runPointwise(["allocations", "mobilenet_v1", "--cold", "--passes", "1"])
        let mallocs = output.split(separator: " ").first { $0.hasPrefix("mallocs=") }.flatMap { Int($0.dropFirst(8)) }
        #expect((mallocs ?? 0) > 0, "\(output)")
    }

    @Test("bad options are refused with the value named")
    func badOptions() throws {
        let output = try runPointwise(["demo", "--repetitions", "0"])
        #expect(output.contains("--repetitions must be ≥ 1, got 0"), "\(output)")
        let algorithm = try runPointwise(["run", "model.onnx", "--input", "x.npy", "--convolution-algorithm", "winograd3"])
        #expect(algorithm.contains("--convolution-algorithm must be heuristic, im2col, winograd2, winograd4 or winograd6, got 'winograd3'"), "\(algorithm)")
    }
}
