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

    @Option(help: "Callers running the model at once, each on its own thread doing --passes passes (after its own warm-up).")
    var concurrent: Int = 1

    static let preloadMarker = "POINTWISE_ALLOCATIONS_PRELOADED"

    func validate() throws {
        guard (1...4096).contains(batch), (1...100_000).contains(passes), (1...64).contains(threads ?? 1), (1...64).contains(concurrent) else {
            throw ValidationError("--batch must be in 1...4096, --passes in 1...100000, --threads and --concurrent in 1...64; "
                                  + "got \(batch), \(passes), \(threads.map(String.init) ?? "default"), \(concurrent)")
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
        if concurrent > 1 {
            try countConcurrent(model, x, y)
            return
        }
        if !cold { for _ in 0..<2 { try model.forward(x, into: &y) } }
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        for _ in 0..<passes { try model.forward(x, into: &y) }
        MallocInterposerSwift.unhook()
        report()
    }

    private func report() {
        let statistics = MallocInterposerSwift.getStatistics()
        print("allocations: network=\(network.rawValue) batch=\(batch) passes=\(passes)\(cold ? " cold" : "") threads=\(BLASRuntime.shared.threadCount) "
              + (concurrent > 1 ? "concurrent=\(concurrent) " : "")
              + "mallocs=\(statistics.mallocCount) bytes=\(statistics.mallocBytesCount) frees=\(statistics.freeCount)")
    }

    /// `concurrent` threads, each with its own output, warmed up (one context each), then released
    /// together while the counter runs; the threads exist before it starts.
    private func countConcurrent(_ model: Network, _ x: Tensor, _ output: Tensor) throws {
        let start = DispatchSemaphore(value: 0), ready = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let failures = Failures()
        try model.plan(forInput: x.shape).reserveContexts(concurrent)
        for _ in 0..<concurrent {
            let thread = Thread { [passes, cold] in
                var y = output
                do {
                    if !cold { for _ in 0..<2 { try model.forward(x, into: &y) } }
                    ready.signal()
                    start.wait()
                    for _ in 0..<passes { try model.forward(x, into: &y) }
                } catch {
                    failures.record("\(error)")
                }
                done.signal()
            }
            thread.start()
        }
        for _ in 0..<concurrent { ready.wait() }
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        for _ in 0..<concurrent { start.signal() }
        for _ in 0..<concurrent { done.wait() }
        MallocInterposerSwift.unhook()
        if let failure = failures.first { throw ValidationError(failure) }
        report()
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

/// The first error a worker thread met.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func record(_ message: String) { lock.lock(); messages.append(message); lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return messages.first }
}
