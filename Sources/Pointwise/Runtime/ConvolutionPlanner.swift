import Foundation

/// One way to run a convolution: the algorithm, and the SGEMM under it.
struct ConvolutionChoice: Hashable, Sendable {
    /// 0: the GEMM lowering ("gemm": 1x1 on the input itself, strided gather or im2col); 2, 4, 6: Winograd F(m×m, 3×3).
    let winogradTile: Int
    let gemm: GEMMKernel

    var name: String { (winogradTile == 0 ? "gemm" : "winograd\(winogradTile)") + "+" + (gemm == .packed ? "packed" : "openblas") }

    static let all: [ConvolutionChoice] = [0, 2, 4, 6].flatMap { tile in [GEMMKernel.openBLAS, .packed].map { ConvolutionChoice(winogradTile: tile, gemm: $0) } }

    init(winogradTile: Int, gemm: GEMMKernel) {
        self.winogradTile = winogradTile
        self.gemm = gemm
    }

    init?(name: String) {
        guard let match = Self.all.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

/// Chooses each convolution's algorithm when a plan is compiled: from wisdom when it has the layer,
/// else by timing every candidate on the layer's real shapes (`PlanningMode.measure`), else by the
/// estimate rules. Candidates: im2col (or the 1x1 GEMM) and, for 3x3 stride-1 layers, Winograd
/// F(2,3), F(4,3), F(6,3); each on OpenBLAS and on the packed GEMM (ungrouped layers with constant
/// weights, AVX2 or AVX-512). Options that fix the algorithm or the GEMM narrow the candidates.
struct ConvolutionPlanner {
    let options: CompileOptions
    let threads: Int

    /// What there is to choose between for this layer (one candidate: nothing to measure).
    func candidates(geometry g: ConvolutionGeometry, output: [Int], winogradApplies: Bool, packable: Bool) -> [ConvolutionChoice] {
        let tiles: [Int]
        switch options.convolutionAlgorithm {
        case .heuristic: tiles = winogradApplies ? [0, 2, 4, 6] : [0]
        default: tiles = [winogradApplies ? WinogradKernel.tile(for: options.convolutionAlgorithm, geometry: g, output: output) ?? 0 : 0]
        }
        let gemms: [GEMMKernel] = options.gemmKernel.map { [$0] } ?? (packable ? [.openBLAS, .packed] : [.openBLAS])
        return tiles.flatMap { tile in gemms.map { ConvolutionChoice(winogradTile: tile, gemm: $0) } }
    }

    /// The wisdom key of a layer: the machine, then everything about the layer that its speed depends on.
    func key(geometry g: ConvolutionGeometry, input: Operand, output: Operand, residual: Bool, activation: Activation) -> String {
        let (n, h, w, _) = input.nhwc
        return Wisdom.machine(threads: threads)
            + " | conv \(n)×\(g.inChannels)×\(h)×\(w) → \(g.outChannels) kernel \(g.kernel.height)×\(g.kernel.width)"
            + " stride \(g.stride.height)×\(g.stride.width) pads \(g.padding.top),\(g.padding.left),\(g.padding.bottom),\(g.padding.right)"
            + " dilation \(g.dilation.height)×\(g.dilation.width) groups \(g.groups) ldy \(output.pixelStride)"
            + (residual ? " residual" : "") + " \(activation)"
    }

    /// The choice for a layer, with the note `summary` shows; nil: use the estimate rules.
    func choose(key: String, candidates: [ConvolutionChoice], operands: [Operand],
                make: (ConvolutionChoice) -> any Kernel) -> (choice: ConvolutionChoice, note: String)? {
        guard candidates.count > 1 else { return nil }
        if let entry = options.wisdom?.entry(for: key), let choice = ConvolutionChoice(name: entry.choice), candidates.contains(choice) {
            return (choice, "wisdom: \(Self.describe(entry.milliseconds, chosen: choice))")
        }
        guard options.planning == .measure else { return nil }
        var times: [String: Double] = [:]
        for candidate in candidates { times[candidate.name] = KernelTimer.milliseconds(make(candidate), operands: operands) }
        let best = candidates.min { times[$0.name]! < times[$1.name]! }!
        options.wisdom?.record(Wisdom.Entry(choice: best.name, milliseconds: times), for: key)
        return (best, "measured: \(Self.describe(times, chosen: best))")
    }

    /// "gemm+packed 0.410 ms (of 8; next gemm+openblas 0.520, …)".
    static func describe(_ times: [String: Double], chosen: ConvolutionChoice) -> String {
        let own = times[chosen.name].map { String(format: "%.3f ms", $0) } ?? "not timed"
        let others = times.filter { $0.key != chosen.name }.sorted { $0.value < $1.value }.prefix(2)
            .map { "\($0.key) \(String(format: "%.3f", $0.value))" }
        return "\(chosen.name) \(own)" + (others.isEmpty ? "" : " (of \(times.count); next \(others.joined(separator: ", ")))")
    }
}

/// Times a kernel on scratch memory shaped like its operands: a warm-up run, then runs until at
/// least 3 and 2 ms in all (at most 50); the minimum, in milliseconds.
enum KernelTimer {
    static func milliseconds(_ kernel: any Kernel, operands: [Operand]) -> Double {
        let slots = Dictionary(operands.map { ($0.slot, $0) }, uniquingKeysWith: { a, b in span(a) >= span(b) ? a : b })
        let table = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: (slots.keys.max() ?? 0) + 1)
        table.initialize(repeating: nil, count: (slots.keys.max() ?? 0) + 1)
        var buffers: [UnsafeMutablePointer<Float>] = []
        var seed: UInt32 = 12345
        for (slot, operand) in slots {
            let count = max(span(operand), 1)
            // Aligned like the arena's slots, so the timing sees the loads the plan will run.
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: MemoryPlan.alignment)
                .bindMemory(to: Float.self, capacity: count)
            for i in 0..<count {  // uniform in [−1, 1): the values a network's activations take
                seed = seed &* 1_664_525 &+ 1_013_904_223
                buffer[i] = Float(seed >> 8) / Float(1 << 23) - 1
            }
            buffers.append(buffer)
            table[slot] = UnsafeMutableRawPointer(buffer)
        }
        let workspace = UnsafeMutableRawPointer.allocate(byteCount: max(kernel.workspaceBytes, 64), alignment: 64)
        defer {
            workspace.deallocate()
            for buffer in buffers { buffer.deallocate() }
            table.deallocate()
        }
        let frame = Frame(pointers: table, workspace: workspace, isa: .current)
        kernel.run(frame)
        var best = Double.infinity, total = 0.0, runs = 0
        while runs < 3 || (total < 0.002 && runs < 50) {
            let start = ExecutionPlan.now()
            kernel.run(frame)
            let seconds = ExecutionPlan.now() - start
            best = min(best, seconds)
            total += seconds
            runs += 1
        }
        return best * 1000
    }

    /// Floats from an operand's first element to its last, through its strides.
    static func span(_ operand: Operand) -> Int {
        guard !operand.shape.contains(0) else { return 0 }
        return 1 + zip(operand.shape, operand.strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
    }
}
