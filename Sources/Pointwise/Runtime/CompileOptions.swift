/// How a graph is compiled into execution plans.
public struct CompileOptions: Sendable, Hashable {
    /// `.naive` runs convolutions and GEMMs as direct loops accumulating in Double (the
    /// benchmark's baseline); everything else is unchanged.
    public var kernelPath: KernelPath
    /// Threads the plan's workspaces are sized for (default: the pool's size when compiled).
    /// Running on more threads is correct, only less parallel in the im2col layers.
    public var threads: Int?
    /// The most bytes a plan's arena may take (default: the machine's physical memory). A plan
    /// needing more is an error before anything is allocated.
    public var memoryLimit: Int?
    /// Bytes of im2col workspace a convolution may use (default 16 MiB): larger lowerings run in
    /// tiles of output rows (at least one row).
    public var workspaceLimit: Int

    public init(kernelPath: KernelPath = .lowered, threads: Int? = nil, memoryLimit: Int? = nil, workspaceLimit: Int = 16 << 20) {
        self.kernelPath = kernelPath
        self.threads = threads
        self.memoryLimit = memoryLimit
        self.workspaceLimit = workspaceLimit
    }
}

/// Which kernel an operator runs.
public enum KernelPath: Sendable, Hashable {
    /// The fast path: SGEMM lowering or the vectorised direct kernel.
    case lowered
    /// The naive loop with Double accumulation, as a baseline for benchmarks.
    case naive
}
