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
    /// Bytes of workspace a convolution may use (default 16 MiB): larger im2col lowerings run in
    /// tiles of output rows, and a fused depthwise chain's scratch bands (at most 384 KiB per
    /// thread, to stay in L2) get fewer rows; at least one row either way. (Plans for more than 42
    /// threads therefore get chains' bands below 384 KiB under the default.)
    public var workspaceLimit: Int

    /// How 3x3 stride-1 convolutions are computed (the others always lower to im2col + GEMM).
    public var convolutionAlgorithm: ConvolutionAlgorithm

    /// The SGEMM of GEMM-lowered convolutions (nil: chosen per layer, see
    /// `ConvolutionKernel.preferredGEMMKernel`). Grouped convolutions always use OpenBLAS.
    public var gemmKernel: GEMMKernel?

    /// Estimate (rules) or measure each convolution's candidates when a plan is compiled.
    public var planning: PlanningMode
    /// Choices measured before, used where they cover a layer; `.measure` adds what it measures.
    public var wisdom: Wisdom?

    /// Fuse 1x1 → depthwise → 1x1 chains (MobileNets' blocks) into one kernel that runs them a
    /// band of rows at a time (`DepthwiseChainFusion`). Off: layer by layer.
    public var fusesDepthwiseChains: Bool

    public init(kernelPath: KernelPath = .lowered, threads: Int? = nil, memoryLimit: Int? = nil, workspaceLimit: Int = 16 << 20,
                convolutionAlgorithm: ConvolutionAlgorithm = .heuristic, gemmKernel: GEMMKernel? = nil,
                planning: PlanningMode = .estimate, wisdom: Wisdom? = nil, fusesDepthwiseChains: Bool = true) {
        self.fusesDepthwiseChains = fusesDepthwiseChains
        self.gemmKernel = gemmKernel
        self.planning = planning
        self.wisdom = wisdom
        self.kernelPath = kernelPath
        self.threads = threads
        self.memoryLimit = memoryLimit
        self.workspaceLimit = workspaceLimit
        self.convolutionAlgorithm = convolutionAlgorithm
    }
}

/// Which kernel an operator runs.
public enum KernelPath: Sendable, Hashable {
    /// The fast path: SGEMM lowering or the vectorised direct kernel.
    case lowered
    /// The naive loop with Double accumulation, as a baseline for benchmarks.
    case naive
}

/// The choice between im2col + GEMM and Winograd for a 3x3, stride-1, ungrouped convolution.
public enum ConvolutionAlgorithm: Sendable, Hashable {
    /// Winograd where its smaller GEMMs win on the layer's shape (see `WinogradKernel.heuristicTile`).
    case heuristic
    /// Always the GEMM lowering, with im2col where the kernel is larger than 1x1 (never the implicit GEMM).
    case im2col
    /// Winograd F(tile×tile, 3×3) (2, 4 or 6) wherever it applies.
    case winograd(tile: Int)
}
