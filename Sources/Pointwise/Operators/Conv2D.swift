/// A 2-D convolution on NHWC tensors, lowered to SGEMM.
///
/// `x: [N, H, W, Cin] -> y: [N, H', W', Cout]`, with PyTorch's semantics for
/// `Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)`
/// and PyTorch-layout weights `[Cout, Cin/groups, KH, KW]`, optionally followed by a
/// BatchNorm folded into the weights and an activation fused into the epilogue.
///
/// Weights are packed once, at construction. A call then lowers to:
/// - **1x1, stride 1, no padding**: one `cblas_sgemm` per group over the input
///   itself, M = N·H·W, K = Cin/groups, N = Cout/groups (lda = Cin, ldc = Cout):
///   no im2col, no copy, no workspace.
/// - **1x1 with stride, no padding** (ResNet's projection shortcut): the strided
///   pixels are gathered into the workspace, then the same GEMM with M = N·H'·W'.
/// - **depthwise** (groups = Cin = Cout): a direct NHWC kernel vectorised across
///   channels (`DepthwiseKernel`); im2col would turn it into C GEMMs with N = 1.
/// - **any other kernel**: im2col into the workspace (see `Im2col`), then one
///   SGEMM per group, K = KH·KW·Cin/groups.
/// Bias and activation are applied in one pass over the output (`Epilogue`).
/// On T threads (`BLASRuntime.setThreadCount`) each thread takes a block of output rows
/// (or of output channels, when there are few rows) and runs that block's gather or
/// im2col, GEMM and epilogue: one SGEMM per group per thread, still on the input itself.
///
/// Like an XNNPACK operator, a `Conv2D` is created once, prepared for an input
/// shape (which sizes its workspace, kept and reused), then run many times.
public final class Conv2D: Layer, ParallelWork {
    public var inChannels: Int { geometry.inChannels }
    public var outChannels: Int { geometry.outChannels }
    public var kernel: Size2D { geometry.kernel }
    public var stride: Size2D { geometry.stride }
    public var padding: Padding2D { geometry.padding }
    public var dilation: Size2D { geometry.dilation }
    public var groups: Int { geometry.groups }
    public let activation: Activation
    /// PyTorch module path, for summaries (e.g. `layer1.0.conv1`).
    public var name: String

    /// How a convolution maps onto GEMM.
    public enum Lowering: String, Sendable {
        case pointwise = "1x1 GEMM (no copy)"
        case stridedPointwise = "strided gather + GEMM"
        case im2col = "im2col + GEMM"
        case depthwise = "depthwise direct"
    }

    /// The GEMM(s) one call lowers to: `count` calls of M×K times K×N.
    public struct LoweredGEMM: Sendable, Equatable, CustomStringConvertible {
        public let lowering: Lowering
        public let m: Int
        public let n: Int
        public let k: Int
        public let count: Int
        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(count) }
        public var description: String {
            lowering == .depthwise ? "depthwise"
                : "M=\(m) K=\(k) N=\(n)" + (count > 1 ? " ×\(count) groups" : "") + " (\(lowering.rawValue))"
        }
    }

    let geometry: ConvolutionGeometry
    public let lowering: Lowering
    /// GEMM paths: group-major packed weights, group g's (KH·KW·Cin_g)×Cout_g matrix at
    /// g·K_g·Cout_g; its row (kh·KW + kw)·Cin_g + ci, column co = weight[g·Cout_g + co, ci, kh, kw].
    /// Depthwise: tap-major, [KH·KW][C], so the kernel reads channels contiguously.
    private(set) var packedWeights: [Float]
    let bias: [Float]?
    /// Parameters as PyTorch counts them before folding (conv weight, bias, BatchNorm weight and bias);
    /// after `factorize(rank:)`, the two factors' weights and the bias.
    public private(set) var parameterCount: Int

    /// After `factorize(rank:)`: the two 1x1 convolutions this layer now runs (Cin→r, then r→Cout
    /// with the bias and activation) and the r-channel intermediate between them.
    private(set) var factors: (reduce: Conv2D, expand: Conv2D, hidden: FeatureBuffer)?
    /// The rank this layer was factorized to, if it was.
    public var rank: Int? { factors?.reduce.outChannels }

    /// The GEMM lowering (default), or the naive direct loop with Double accumulation
    /// (`Reference.conv2DKernel` on the same folded weights), which benchmarks compare against.
    public var kernelPath: KernelPath = .lowered {
        didSet {
            if let factors {
                factors.reduce.kernelPath = kernelPath
                factors.expand.kernelPath = kernelPath
            } else if kernelPath == .naive && naiveWeights == nil {
                naiveWeights = unpackedWeights()
            }
        }
    }
    /// Folded weights back in OIHW, made on the first switch to `.naive`.
    private var naiveWeights: [Float]?

    /// Scratch for im2col or the strided gather; a network shares one among all its convolutions.
    var workspace = FeatureBuffer()
    private var prepared: (input: [Int], output: [Int])?
    /// Bound on the workspace, in floats (default 4 Mi floats = 16 MiB) however large
    /// the batch: im2col lowers at most `workspaceLimit / (KH·KW·Cin)` output pixels
    /// per pass (at least one), then runs the GEMM on those rows. Tests lower it to
    /// exercise the tile boundaries.
    var workspaceLimit = 1 << 22

    /// A convolution with the given weights (`[Cout, Cin/groups, KH, KW]`, PyTorch's layout),
    /// optional bias (`[Cout]`), optional BatchNorm folded in, and a fused activation.
    public init(inChannels: Int, outChannels: Int, kernel: Size2D, stride: Size2D = 1,
                padding: Padding2D = 0, dilation: Size2D = 1, groups: Int = 1,
                weight: Tensor, bias: Tensor? = nil, batchNorm: BatchNormParameters? = nil,
                activation: Activation = .identity, name: String = "") throws {
        let geometry = try ConvolutionGeometry(inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                                               stride: stride, padding: padding, dilation: dilation, groups: groups)
        guard weight.shape == geometry.weightShape else {
            throw PointwiseError.shapeMismatch(what: "weight shape ([Cout, Cin/groups, KH, KW])" + (name.isEmpty ? "" : " of \(name)"),
                                               expected: describe(geometry.weightShape), actual: describe(weight.shape))
        }
        if let bias, bias.shape != [outChannels] {
            throw PointwiseError.shapeMismatch(what: "bias shape" + (name.isEmpty ? "" : " of \(name)"),
                                               expected: describe([outChannels]), actual: describe(bias.shape))
        }
        var (finalWeight, finalBias) = (weight, bias)
        if let batchNorm {
            let folded = try batchNorm.fold(weight: weight, bias: bias)
            (finalWeight, finalBias) = (folded.weight, folded.bias)
        }
        self.geometry = geometry
        self.activation = activation
        self.name = name
        self.bias = finalBias?.scalars
        self.parameterCount = weight.count + (bias == nil ? 0 : outChannels) + (batchNorm == nil ? 0 : 2 * outChannels)
        if groups > 1 && groups == inChannels && groups == outChannels {
            lowering = .depthwise
        } else if kernel == 1 && padding.isZero {
            lowering = stride == 1 ? .pointwise : .stridedPointwise
        } else {
            lowering = .im2col
        }
        packedWeights = lowering == .depthwise ? Self.packDepthwise(finalWeight.scalars, geometry)
                                               : Self.pack(finalWeight.scalars, geometry)
    }

    /// A convolution with PyTorch's default initialisation, reproducible from `seed`:
    /// weight and bias uniform in ±1/√(Cin/groups·KH·KW) (`kaiming_uniform_(a=√5)`).
    public convenience init(inChannels: Int, outChannels: Int, kernel: Size2D, stride: Size2D = 1,
                            padding: Padding2D = 0, dilation: Size2D = 1, groups: Int = 1,
                            bias: Bool = true, activation: Activation = .identity, seed: UInt64) throws {
        let geometry = try ConvolutionGeometry(inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                                               stride: stride, padding: padding, dilation: dilation, groups: groups)
        let bound = 1 / Float(geometry.reductionPerGroup).squareRoot()
        let weight = try Tensor(randomUniform: geometry.weightShape, in: -bound...bound, seed: seed)
        let biasTensor = bias ? try Tensor(randomUniform: [outChannels], in: -bound...bound, seed: seed &+ 1) : nil
        try self.init(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                      padding: padding, dilation: dilation, groups: groups, weight: weight, bias: biasTensor,
                      activation: activation)
    }

    // MARK: Shapes

    /// `[N, H', W', Cout]` for an NHWC input shape; throws naming the problem for a bad one.
    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        return try geometry.outputShape(forInput: shape)
    }

    /// The GEMMs a call on this input shape makes.
    public func loweredGEMM(forInput shape: [Int]) throws -> LoweredGEMM {
        let out = try outputShape(forInput: shape)
        return LoweredGEMM(lowering: lowering, m: out[0] * out[1] * out[2], n: geometry.outChannelsPerGroup,
                           k: geometry.reductionPerGroup, count: groups)
    }

    /// Floats of workspace a call on this input shape needs (0 for 1x1 stride 1 and depthwise).
    public func workspaceCount(forInput shape: [Int]) throws -> Int {
        let gemm = try loweredGEMM(forInput: shape)
        switch lowering {
        case .pointwise, .depthwise: return 0
        case .stridedPointwise, .im2col:
            // One slice per thread, each of at most workspaceLimit / threads floats (one row at least).
            let rowLength = gemm.k * groups
            let parts = ThreadPool.parts(rows: gemm.m, macs: gemm.m * gemm.k * gemm.n * groups)
            let rowsPerPart = (gemm.m + parts - 1) / parts
            return parts * min(rowsPerPart, max(1, workspaceLimit / parts / rowLength)) * rowLength
        }
    }

    /// Bytes of workspace this instance holds now.
    public var workspaceByteCount: Int { workspace.byteCount }

    /// Sizes the workspace for `shape` (optional: `forward` does it on demand) and
    /// returns the output shape.
    @discardableResult
    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let prepared, prepared.input == shape { return prepared.output }
        let output = try geometry.outputShape(forInput: shape)
        if let factors {
            factors.reduce.workspace = workspace
            let hidden = try factors.reduce.prepare(forInput: shape)
            factors.hidden.reserve(hidden.reduce(1, *))
            _ = try factors.expand.prepare(forInput: hidden)
            prepared = (shape, output)
            return output
        }
        workspace.reserve(try workspaceCount(forInput: shape))
        prepared = (shape, output)
        return output
    }

    // MARK: Running

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride: Int) {
        run(x, into: y, outputRowStride: outputRowStride, accumulate: false)
    }

    /// The kernel, on the prepared shape: writes output pixel m's Cout values at
    /// `y + m·outputRowStride`. With `accumulate`, adds the convolution to what `y` holds
    /// (GEMM beta = 1) before bias and activation: a residual add fused into this layer.
    func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int, accumulate: Bool) {
        let (inputShape, outputShape) = prepared!
        let (height, width) = (inputShape[1], inputShape[2])
        let (outputHeight, outputWidth) = (outputShape[1], outputShape[2])
        let m = outputShape[0] * outputHeight * outputWidth
        let kGroup = geometry.reductionPerGroup
        let nGroup = geometry.outChannelsPerGroup
        let beta: Float = accumulate ? 1 : 0
        if let factors {
            factors.reduce.run(x, into: factors.hidden.pointer, outputRowStride: factors.reduce.outChannels, accumulate: false)
            factors.expand.run(factors.hidden.pointer, into: y, outputRowStride: ldy, accumulate: accumulate)
            return
        }
        if kernelPath == .naive {
            naiveWeights!.withUnsafeBufferPointer { w in
                bias.withOptionalPointer { bias in
                    Reference.conv2DKernel(input: x, batch: inputShape[0], height: height, width: width, inChannels: inChannels,
                                           weight: w.baseAddress!, outChannels: outChannels, kernel: kernel, bias: bias,
                                           stride: stride, padding: padding, dilation: dilation, groups: groups,
                                           output: y, outputHeight: outputHeight, outputWidth: outputWidth,
                                           outputRowStride: ldy, accumulate: accumulate, activation: activation)
                }
            }
            return
        }
        let macs = m * kGroup * nGroup * groups
        packedWeights.withUnsafeBufferPointer { packed in
            bias.withOptionalPointer { bias in
                var split = Job.Split.rows
                var parts = 1
                var tileRows = 0
                switch lowering {
                case .pointwise:
                    // Split the rows across threads; with too few rows (7x7 maps), split the columns.
                    parts = ThreadPool.parts(rows: m, macs: macs)
                    let columnParts = groups == 1 ? ThreadPool.parts(rows: nGroup, macs: macs, minimumRows: 32) : 1
                    if parts == 1 && columnParts > 1 { (split, parts) = (.columns, columnParts) }
                case .depthwise:
                    split = .outputRows
                    // Depthwise does ~9 MACs per output value: count its work as 4x (memory-bound).
                    parts = ThreadPool.parts(rows: outputShape[0] * outputHeight, macs: 4 * macs, minimumRows: 2)
                case .stridedPointwise, .im2col:
                    // Each part needs a slice of at least one row (the workspace may have been
                    // sized for fewer threads).
                    let rowLength = kGroup * groups
                    parts = max(1, min(ThreadPool.parts(rows: m, macs: macs), workspace.storage.count / rowLength))
                    tileRows = max(1, workspace.storage.count / parts / rowLength)
                }
                job = Job(x: x, y: y, ldy: ldy, beta: beta, accumulate: accumulate, weights: packed.baseAddress!, bias: bias,
                          isa: .current,
                          split: split, rows: m, batch: inputShape[0], height: height, width: width,
                          outputHeight: outputHeight, outputWidth: outputWidth, tileRows: tileRows)
                ThreadPool.run(parts: parts, self)
                job = nil
            }
        }
    }

    /// One call's pointers and sizes, stored while its parts run (see `ThreadPool.run`).
    private struct Job {
        enum Split { case rows, columns, outputRows }
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let ldy: Int
        let beta: Float
        let accumulate: Bool
        let weights: UnsafePointer<Float>
        let bias: UnsafePointer<Float>?
        /// Read on the calling thread: a task-local override does not reach the workers by itself.
        let isa: KernelISA
        let split: Split
        /// Output pixels M = N·H'·W'.
        let rows: Int
        let batch: Int, height: Int, width: Int, outputHeight: Int, outputWidth: Int
        /// Rows of the im2col workspace each part lowers at a time.
        let tileRows: Int
    }
    private var job: Job?

    /// One thread's share: its rows (or, for few rows, its output columns) of the output,
    /// lowered, multiplied and finished by the epilogue while they are in this core's cache.
    func runPart(_ part: Int, of parts: Int) {
        let job = self.job!
        switch lowering {
        case .pointwise:
            if job.split == .columns {
                let columns = ThreadPool.range(part, of: parts, count: geometry.outChannelsPerGroup, alignment: 16)
                if !columns.isEmpty { multiply(job, job.x, lda: inChannels, groupStride: 0, rows: 0..<job.rows, columns: columns) }
            } else {
                let rows = ThreadPool.range(part, of: parts, count: job.rows)
                if !rows.isEmpty {
                    multiply(job, job.x + rows.lowerBound * inChannels, lda: inChannels,
                             groupStride: geometry.inChannelsPerGroup, rows: rows)
                }
            }
        case .depthwise:
            DepthwiseKernel.run(input: job.x, batch: job.batch, height: job.height, width: job.width,
                                geometry: geometry, outputHeight: job.outputHeight, outputWidth: job.outputWidth,
                                weights: job.weights, bias: job.bias, activation: activation,
                                output: job.y, outputRowStride: job.ldy, accumulate: job.accumulate,
                                rows: ThreadPool.range(part, of: parts, count: job.batch * job.outputHeight), isa: job.isa)
        case .stridedPointwise, .im2col:
            // This part lowers and multiplies its own rows, in tiles, in its own slice of the workspace.
            let rowLength = geometry.reductionPerGroup * groups
            let scratch = workspace.pointer + part * job.tileRows * rowLength
            let partRows = ThreadPool.range(part, of: parts, count: job.rows)
            for m0 in Swift.stride(from: partRows.lowerBound, to: partRows.upperBound, by: job.tileRows) {
                let rows = m0..<min(partRows.upperBound, m0 + job.tileRows)
                if lowering == .stridedPointwise {
                    Im2col.gatherStrided(input: job.x, height: job.height, width: job.width, channels: inChannels,
                                         stride: stride, outputHeight: job.outputHeight, outputWidth: job.outputWidth,
                                         rows: rows, into: scratch)
                    multiply(job, scratch, lda: inChannels, groupStride: geometry.inChannelsPerGroup, rows: rows)
                } else {
                    Im2col.lower(input: job.x, height: job.height, width: job.width, geometry: geometry,
                                 outputHeight: job.outputHeight, outputWidth: job.outputWidth, rows: rows, into: scratch)
                    multiply(job, scratch, lda: rowLength, groupStride: geometry.reductionPerGroup, rows: rows)
                }
            }
        }
    }

    /// One SGEMM per group on output rows `rows` (A's first row at `a`, rows lda apart) and
    /// output columns `columns` of each group, then the epilogue on that block.
    private func multiply(_ job: Job, _ a: UnsafePointer<Float>, lda: Int, groupStride: Int, rows: Range<Int>,
                          columns: Range<Int>? = nil) {
        let (kGroup, nGroup) = (geometry.reductionPerGroup, geometry.outChannelsPerGroup)
        let columns = columns ?? 0..<nGroup
        let output = job.y + rows.lowerBound * job.ldy + columns.lowerBound
        for g in 0..<groups {
            GEMM.sgemm(m: rows.count, n: columns.count, k: kGroup, a: a + g * groupStride, lda: lda,
                       b: job.weights + g * kGroup * nGroup + columns.lowerBound, ldb: nGroup,
                       c: output + g * nGroup, ldc: job.ldy, beta: job.beta)
        }
        Epilogue.apply(bias: job.bias.map { $0 + columns.lowerBound }, activation: activation, isa: job.isa, to: output,
                       rows: rows.count, columns: columns.count == nGroup ? outChannels : columns.count, rowStride: job.ldy)
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        if let factors {
            try factors.reduce.summarize(inputShape: inputShape, into: &rows)
            try factors.expand.summarize(inputShape: factors.reduce.outputShape(forInput: inputShape), into: &rows)
            return
        }
        let output = try outputShape(forInput: inputShape)
        let gemm = try loweredGEMM(forInput: inputShape)
        let macs = output.reduce(1, *) * geometry.reductionPerGroup
        rows.append(LayerSummary(name: name, kind: .convolution(kernel: kernel, groups: groups, depthwise: lowering == .depthwise),
                                 outputShape: output, parameters: parameterCount,
                                 weights: geometry.weightShape.reduce(1, *), macs: macs,
                                 gemm: lowering == .depthwise ? "depthwise"
                                     : "\(gemm.m)×\(gemm.k)×\(gemm.n)" + (groups > 1 ? " ×\(groups)" : "")))
    }

    public func addMemoryUse(to use: inout MemoryUse) {
        if let factors {
            factors.reduce.addMemoryUse(to: &use)
            factors.expand.addMemoryUse(to: &use)
            use.addActivations(factors.hidden)
            return
        }
        use.addWeights(packedWeights)
        use.addWeights(bias)
        use.addWorkspace(workspace)
    }

    /// Replaces this layer's computation by two factors (see `LowRankFactorization`), in place,
    /// so every block and concat that holds this layer runs the pair from now on. The layers
    /// around it keep their prepared shapes (the output shape does not change), so the factors
    /// are prepared here for the shape this layer was prepared for.
    func adopt(reduce: Conv2D, expand: Conv2D) throws {
        reduce.name = name + ".reduce"
        expand.name = name + ".expand"
        reduce.kernelPath = kernelPath
        expand.kernelPath = kernelPath
        let shape = prepared?.input
        factors = (reduce, expand, FeatureBuffer())
        packedWeights = []
        naiveWeights = nil
        parameterCount = reduce.parameterCount + expand.parameterCount
        prepared = nil
        if let shape { _ = try prepare(forInput: shape) }
    }

    /// The folded weight as a Cout×Cin row-major matrix (1x1, ungrouped convolutions).
    func pointwiseWeightMatrix() -> [Float] {
        precondition(kernel == 1 && groups == 1 && factors == nil)
        // packedWeights is Cin×Cout row-major: transpose.
        var matrix = [Float](repeating: 0, count: packedWeights.count)
        for i in 0..<inChannels { for o in 0..<outChannels { matrix[o * inChannels + i] = packedWeights[i * outChannels + o] } }
        return matrix
    }

    // MARK: Packing

    /// OIHW weights → group-major (KH·KW·Cin_g)×Cout_g matrices (see `packedWeights`).
    private static func pack(_ weight: [Float], _ g: ConvolutionGeometry) -> [Float] {
        let (kh, kw, cinG, coutG) = (g.kernel.height, g.kernel.width, g.inChannelsPerGroup, g.outChannelsPerGroup)
        var packed = [Float](repeating: 0, count: weight.count)
        for group in 0..<g.groups {
            let base = group * g.reductionPerGroup * coutG
            for co in 0..<coutG {
                let o = group * coutG + co
                for ci in 0..<cinG {
                    for y in 0..<kh {
                        for x in 0..<kw {
                            let row = (y * kw + x) * cinG + ci
                            packed[base + row * coutG + co] = weight[((o * cinG + ci) * kh + y) * kw + x]
                        }
                    }
                }
            }
        }
        return packed
    }

    /// The packed (folded) weights back in OIHW, the inverse of `pack` / `packDepthwise`.
    private func unpackedWeights() -> [Float] {
        let g = geometry
        let (kh, kw, cinG, coutG) = (g.kernel.height, g.kernel.width, g.inChannelsPerGroup, g.outChannelsPerGroup)
        var weight = [Float](repeating: 0, count: packedWeights.count)
        for o in 0..<outChannels {
            for ci in 0..<cinG {
                for y in 0..<kh {
                    for x in 0..<kw {
                        let tap = y * kw + x
                        let packedIndex = lowering == .depthwise
                            ? tap * outChannels + o
                            : (o / coutG) * g.reductionPerGroup * coutG + (tap * cinG + ci) * coutG + o % coutG
                        weight[((o * cinG + ci) * kh + y) * kw + x] = packedWeights[packedIndex]
                    }
                }
            }
        }
        return weight
    }

    /// Depthwise OIHW weights [C, 1, KH, KW] → tap-major [KH·KW][C].
    private static func packDepthwise(_ weight: [Float], _ g: ConvolutionGeometry) -> [Float] {
        let taps = g.kernel.height * g.kernel.width
        var packed = [Float](repeating: 0, count: weight.count)
        for c in 0..<g.outChannels {
            for t in 0..<taps { packed[t * g.outChannels + c] = weight[c * taps + t] }
        }
        return packed
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a pointer to the array's elements, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): return array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
