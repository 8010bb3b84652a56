import ArgumentParser
import Foundation
import MallocInterposerSwift
import Pointwise

/// `pointwise allocations <network>`: heap allocations of one steady-state forward pass.
///
/// The counting interposer only sees `malloc` when it is preloaded, so the command
/// re-runs itself with `LD_PRELOAD` set to the interposer library built next to it.
struct Allocations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count heap allocations during forward passes after warm-up (target: zero).")

    @Argument(help: "One of: \(Network.Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var network: Network.Architecture

    @Option(help: "Batch size.")
    var batch: Int = 1

    @Option(help: "Measured forward passes (after 2 warm-up passes).")
    var passes: Int = 3

    @Option(help: "Threads (default: the number of cores).")
    var threads: Int?

    @Flag(help: "Count the first (cold) pass instead, which sizes every buffer: shows the counter at work.")
    var cold = false

    static let preloadMarker = "POINTWISE_ALLOCATIONS_PRELOADED"

    func validate() throws {
        guard batch >= 1, passes >= 1, (threads ?? 1) >= 1 else {
            throw ValidationError("--batch, --passes and --threads must be ≥ 1")
        }
    }

    func run() throws {
        guard ProcessInfo.processInfo.environment[Self.preloadMarker] != nil else {
            return try Self.rerunPreloaded()
        }
        if let threads { try BLASRuntime.shared.setThreadCount(threads) }
        let model = try Network.build(network, parameters: RandomParameters(seed: 1))
        let x = try Tensor(randomUniform: [batch, 224, 224, 3], seed: 2)
        var y = try Tensor(zeros: model.outputShape(forInput: x.shape))
        if !cold { for _ in 0..<2 { try model.forward(x, into: &y) } }
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        for _ in 0..<passes { try model.forward(x, into: &y) }
        MallocInterposerSwift.unhook()
        let statistics = MallocInterposerSwift.getStatistics()
        print("allocations: network=\(network.rawValue) batch=\(batch) passes=\(passes)\(cold ? " cold" : "") threads=\(BLASRuntime.shared.threadCount) "
              + "mallocs=\(statistics.mallocCount) bytes=\(statistics.mallocBytesCount) frees=\(statistics.freeCount)")
    }

    /// Runs `pointwise allocations` for a network in a child process and returns
    /// (mallocs, bytes) per forward pass, or nil with the reason it could not be measured.
    static func perPass(_ network: Network.Architecture, threads: Int, passes: Int = 3) -> (mallocs: Double, bytes: Double)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["allocations", network.rawValue, "--threads", "\(threads)", "--passes", "\(passes)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        func field(_ name: String) -> Double? {
            output.split(separator: " ").first { $0.hasPrefix(name + "=") }
                .flatMap { Double($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        guard process.terminationStatus == 0, let mallocs = field("mallocs"), let bytes = field("bytes") else { return nil }
        return (mallocs / Double(passes), bytes / Double(passes))
    }

    /// Runs this same command again with the interposer preloaded, and relays its output.
    static func rerunPreloaded() throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let directory = executable.deletingLastPathComponent()
        let library = ["libMallocInterposerSwift.so", "libMallocInterposerSwift.dylib"]
            .map { directory.appendingPathComponent($0) }
            .first { FileManager.default.fileExists(atPath: $0.path) }
        guard let library else {
            throw ValidationError("the malloc interposer library is not next to \(executable.path); build with `swift build -c release`")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = Array(CommandLine.arguments.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        environment[preloadMarker] = "1"
        environment[isDarwin ? "DYLD_INSERT_LIBRARIES" : "LD_PRELOAD"] = library.path
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
    }

    static var isDarwin: Bool {
        #if canImport(Darwin)
        return true
        #else
        return false
        #endif
    }
}
