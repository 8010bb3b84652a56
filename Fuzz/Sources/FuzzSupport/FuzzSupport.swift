#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Pointwise

/// With FUZZ_VERBOSE set, the harnesses print what became of each input (the error thrown, or
/// that the graph ran): to see how deep seeds and corpora reach, e.g.
/// `FUZZ_VERBOSE=1 .build-fuzz/release/FuzzONNX Fuzz/Corpus/FuzzONNX/*`.
public let fuzzVerbose = getenv("FUZZ_VERBOSE") != nil

/// Prints `message` to standard error (unbuffered: it is there when a crash follows) when
/// FUZZ_VERBOSE is set.
public func note(_ message: @autoclosure () -> String) {
    guard fuzzVerbose else { return }
    let text = message() + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}

/// Bounds that keep a hostile model or graph from making a harness allocate gigabytes: what
/// the harness itself allocates (inputs, outputs) and the plan's arena. Past them the input is
/// skipped (the caller's choice, not a bug); a thrown error is fine; a trap, a crash or a leak
/// is a bug.
public enum FuzzLimits {
    /// Elements of all graph inputs together.
    public static let inputElements = 1 << 20
    /// Elements of all graph outputs together (InferenceSession.run allocates them).
    public static let outputElements = 1 << 22
    /// The plan's arena.
    public static let options = CompileOptions(memoryLimit: 64 << 20)
    /// What a symbolic dimension is bound to: the k-th distinct name gets `symbolExtents[k % 3]`.
    public static let symbolExtents = [2, 1, 3]
}

/// The engine on one thread: with a fixed seed and a fixed number of runs, libFuzzer then explores
/// exactly the same inputs on every machine (pool threads would add coverage in a varying order).
/// Concurrency is the ThreadSanitizer run's job (Scripts/sanitizers.sh).
let singleThreaded: Void = { try? BLASRuntime.shared.setThreadCount(1) }()

/// Compiles `graph` (`InferenceSession`) and runs it once on zeros of its inputs' declared shapes
/// (symbolic dimensions bound to small numbers; int64 inputs, which are plan-time values, are
/// zeros too). Errors are swallowed: only traps, crashes and leaks interest the fuzzer.
/// Returns whether the graph ran.
@discardableResult
public func compileAndRun(_ graph: Graph) -> Bool {
    if fuzzVerbose {
        note("graph: inputs \(graph.inputs.map { "\(graph[$0.value].name) \(graph[$0.value].dataType) \($0.shape) \($0.layout)" })")
        for (node, line) in zip(graph.nodes, graph.nodeList) { note("  \(line)  \(node.op)") }
        note("  initializers \(graph.initializers.map { "\(graph[$0.key].name): \($0.value)" }.sorted())")
        note("  outputs \(graph.outputs.map { "\(graph[$0.value].name) \($0.layout)" })")
    }
    _ = singleThreaded
    do {
        let session = try InferenceSession(graph, options: FuzzLimits.options)
        var symbols: [String: Int] = [:]
        var shapes: [[Int]] = []
        var int64Inputs: [Int: Int64Tensor] = [:]
        var inputs: [String: TensorValue] = [:]
        var total = 0
        for (index, input) in graph.inputs.enumerated() {
            let shape = input.shape.map { dimension -> Int in
                switch dimension {
                case .fixed(let extent):
                    return extent
                case .symbolic(let name):
                    if let extent = symbols[name] { return extent }
                    let extent = FuzzLimits.symbolExtents[symbols.count % FuzzLimits.symbolExtents.count]
                    symbols[name] = extent
                    return extent
                }
            }
            guard let count = elementCount(shape), count <= FuzzLimits.inputElements - total else {
                note("skipped: inputs larger than \(FuzzLimits.inputElements) elements")
                return false
            }
            total += count
            let name = graph[input.value].name
            switch graph[input.value].dataType {
            case .float32:
                inputs[name] = .float32(try Tensor(zeros: shape))
            case .int64:
                let zeros = try Int64Tensor(shape: shape, scalars: Array(repeating: 0, count: count))
                inputs[name] = .int64(zeros)
                int64Inputs[index] = zeros
            }
            shapes.append(shape)
        }
        // The plan first (cached: `run` finds it), to see how much room the outputs need.
        let plan = try session.plan(inputShapes: shapes, int64Inputs: int64Inputs)
        var outputTotal = 0
        for output in plan.graph.outputs {
            guard let shape = plan.graph[output.value].shape, let count = elementCount(shape),
                  count <= FuzzLimits.outputElements - outputTotal else {
                note("skipped: outputs larger than \(FuzzLimits.outputElements) elements")
                return false
            }
            outputTotal += count
        }
        _ = try session.run(inputs)
        note("ran: inputs \(shapes), outputs \(plan.graph.outputs.map { plan.graph[$0.value].shape ?? [] })")
        return true
    } catch {
        note("error: \(error)")
        return false
    }
}

/// The product of `shape`, or nil when a dimension is negative or the product overflows.
public func elementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for extent in shape {
        guard extent >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: extent)
        guard !overflow else { return nil }
        count = product
    }
    return count
}

/// Reads the fuzzer's bytes as a stream of choices; past the end every read gives 0, so any
/// input decodes to something.
public struct ByteReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = UnsafeBufferPointer(start: data, count: size)
    }

    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// 0..<count (count ≥ 1).
    public mutating func index(_ count: Int) -> Int { Int(byte()) % max(count, 1) }

    /// Values in `range`, which must hold at most 256.
    public mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + index(range.count) }

    /// One of `choices`.
    public mutating func choice<T>(_ choices: [T]) -> T { choices[index(choices.count)] }

    /// Mostly small numbers around zero, sometimes an absurd one: the extremes of Int and Int32,
    /// powers of two near the engine's bounds, or 8 raw bytes.
    public mutating func absurdInt() -> Int {
        let selector = byte()
        switch selector {
        case 0..<200: return Int(selector % 12) - 3  // -3...8
        case 200..<240: return Self.absurd[Int(selector - 200) % Self.absurd.count]
        default:
            var value: UInt64 = 0
            for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
            return Int(truncatingIfNeeded: value)
        }
    }

    public static let absurd: [Int] = [
        .max, .min, .max - 1, .min + 1, Int(Int32.max), Int(Int32.min), 1 << 30, -(1 << 30), 1 << 31, 1 << 32,
        1 << 40, (1 << 40) + 1, -(1 << 40), 1 << 62, -(1 << 62), 255, 256, 65535, 65536, 100_000,
        -100_000, 4097, 1 << 20, -(1 << 20), 3 << 20, 7, -7, 13, -13, 1 << 16, -(1 << 16), 1 << 24,
        (1 << 24) + 1, -(1 << 24), Int(Int32.max) + 1, Int(Int32.min) - 1, 1 << 48, -(1 << 48), 0, -1,
    ]

    /// A float: small integers, the specials (NaN, ±infinity, extremes), or 4 raw bytes.
    public mutating func float() -> Float {
        let selector = byte()
        switch selector {
        case 0..<160: return Float(Int(selector % 9) - 4) / 2
        case 160..<230:
            let specials: [Float] = [.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                     .leastNonzeroMagnitude, 1e-30, 1e30, -0.0, 0.0001, 0.75]
            return specials[Int(selector - 160) % specials.count]
        default:
            var value: UInt32 = 0
            for _ in 0..<4 { value = value << 8 | UInt32(byte()) }
            return Float(bitPattern: value)
        }
    }
}
