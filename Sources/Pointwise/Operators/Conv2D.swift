/// A 2-D convolution on NHWC tensors, lowered to SGEMM.
///
/// `x: [N, H, W, Cin] -> y: [N, H', W', Cout]`, with PyTorch's semantics for
/// `Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)`
/// and PyTorch-layout weights `[Cout, Cin/groups, KH, KW]`.
///
/// Weights are packed once, at construction, into `groups` row-major matrices of
/// (KH·KW·Cin/groups)×(Cout/groups). A call then lowers to:
/// - **1x1, stride 1, no padding**: one `cblas_sgemm` per group over the input
///   itself, M = N·H·W, K = Cin/groups, N = Cout/groups (lda = Cin, ldc = Cout):
///   no im2col, no copy, no workspace.
/// - **1x1 with stride, no padding** (ResNet's projection shortcut): the strided
///   pixels are gathered into the workspace, then the same GEMM with M = N·H'·W'.
/// - **any other kernel**: im2col into the workspace (see `Im2col`), then one
///   SGEMM per group, K = KH·KW·Cin/groups.
///
/// Like an XNNPACK operator, a `Conv2D` is created once, prepared for an input
/// shape (which sizes its workspace, kept and reused), then run many times.
/// An instance is not safe to run from two threads at once (it owns its workspace).
public final class Conv2D {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Size2D
    public let stride: Size2D
    public let padding: Padding2D
    public let dilation: Size2D
    public let groups: Int

    /// How a convolution maps onto GEMM.
    public enum Lowering: String, Sendable {
        case pointwise = "1x1 GEMM (no copy)"
        case stridedPointwise = "strided gather + GEMM"
        case im2col = "im2col + GEMM"
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
            "M=\(m) K=\(k) N=\(n)" + (count > 1 ? " ×\(count) groups" : "") + " (\(lowering.rawValue))"
        }
    }

    let geometry: ConvolutionGeometry
    let lowering: Lowering
    /// Group-major packed weights: group g's (KH·KW·Cin_g)×Cout_g matrix starts at g·K_g·Cout_g;
    /// row (kh·KW + kw)·Cin_g + ci, column co of that matrix = weight[g·Cout_g + co, ci, kh, kw].
    let packedWeights: [Float]
    let bias: [Float]?

    /// Reused scratch for im2col or the strided gather; grows, never shrinks.
    private var workspace = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    /// Bound on the workspace, in floats (default 4 Mi floats = 16 MiB) however large
    /// the batch: im2col lowers at most `workspaceLimit / (KH·KW·Cin)` output pixels
    /// per pass (at least one), then runs the GEMM on those rows. Tests lower it to
    /// exercise the tile boundaries.
    var workspaceLimit = 1 << 22

    /// A convolution with the given weights (`[Cout, Cin/groups, KH, KW]`, PyTorch's layout)
    /// and optional bias (`[Cout]`).
    public init(inChannels: Int, outChannels: Int, kernel: Size2D, stride: Size2D = 1,
                padding: Padding2D = 0, dilation: Size2D = 1, groups: Int = 1,
                weight: Tensor, bias: Tensor? = nil) throws {
        let geometry = try ConvolutionGeometry(inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                                               stride: stride, padding: padding, dilation: dilation, groups: groups)
        guard weight.shape == geometry.weightShape else {
            throw PointwiseError.shapeMismatch(what: "weight shape ([Cout, Cin/groups, KH, KW])",
                                               expected: describe(geometry.weightShape), actual: describe(weight.shape))
        }
        if let bias, bias.shape != [outChannels] {
            throw PointwiseError.shapeMismatch(what: "bias shape", expected: describe([outChannels]),
                                               actual: describe(bias.shape))
        }
        self.geometry = geometry
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.bias = bias?.scalars
        self.packedWeights = Self.pack(weight.scalars, geometry)
        if kernel == 1 && padding.isZero {
            lowering = stride == 1 ? .pointwise : .stridedPointwise
        } else {
            lowering = .im2col
        }
    }

    /// A convolution with PyTorch's default initialisation, reproducible from `seed`:
    /// weight and bias uniform in ±1/√(Cin/groups·KH·KW) (`kaiming_uniform_(a=√5)`).
    public convenience init(inChannels: Int, outChannels: Int, kernel: Size2D, stride: Size2D = 1,
                            padding: Padding2D = 0, dilation: Size2D = 1, groups: Int = 1,
                            bias: Bool = true, seed: UInt64) throws {
        let geometry = try ConvolutionGeometry(inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                                               stride: stride, padding: padding, dilation: dilation, groups: groups)
        let bound = 1 / Float(geometry.reductionPerGroup).squareRoot()
        let weight = try Tensor(randomUniform: geometry.weightShape, in: -bound...bound, seed: seed)
        let biasTensor = bias ? try Tensor(randomUniform: [outChannels], in: -bound...bound, seed: seed &+ 1) : nil
        try self.init(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                      padding: padding, dilation: dilation, groups: groups, weight: weight, bias: biasTensor)
    }

    deinit { workspace.deallocate() }

    // MARK: Shapes

    /// `[N, H', W', Cout]` for an NHWC input shape; throws naming the problem for a bad one.
    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        try geometry.outputShape(forInput: shape)
    }

    /// The GEMMs a call on this input shape makes.
    public func loweredGEMM(forInput shape: [Int]) throws -> LoweredGEMM {
        let out = try outputShape(forInput: shape)
        return LoweredGEMM(lowering: lowering, m: out[0] * out[1] * out[2], n: geometry.outChannelsPerGroup,
                           k: geometry.reductionPerGroup, count: groups)
    }

    /// Floats of workspace a call on this input shape needs (0 for the 1x1 stride-1 path).
    public func workspaceCount(forInput shape: [Int]) throws -> Int {
        let gemm = try loweredGEMM(forInput: shape)
        switch lowering {
        case .pointwise: return 0
        case .stridedPointwise, .im2col:
            let rowLength = gemm.k * groups
            return min(gemm.m, max(1, workspaceLimit / rowLength)) * rowLength
        }
    }

    /// Bytes of workspace this instance holds now.
    public var workspaceByteCount: Int { workspace.count * MemoryLayout<Float>.stride }

    /// Sizes the workspace for `shape` ahead of time (optional: `forward` does it on demand)
    /// and returns the output shape.
    @discardableResult
    public func prepare(forInput shape: [Int]) throws -> [Int] {
        let needed = try workspaceCount(forInput: shape)
        if needed > workspace.count {
            workspace.deallocate()
            workspace = .allocate(capacity: needed)
        }
        return try outputShape(forInput: shape)
    }

    // MARK: Running

    /// `y = conv(x)`, allocating the output.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        var output = try Tensor(zeros: outputShape(forInput: input.shape))
        try forward(input, into: &output)
        return output
    }

    /// Writes `conv(input)` into `output`, which must already have the output shape.
    /// Allocates nothing once the workspace has been sized for this input shape.
    public func forward(_ input: Tensor, into output: inout Tensor) throws {
        let outShape = try prepare(forInput: input.shape)
        guard output.shape == outShape else {
            throw PointwiseError.shapeMismatch(what: "output shape", expected: describe(outShape),
                                               actual: describe(output.shape))
        }
        input.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                run(input: x.baseAddress!, inputShape: input.shape, outputShape: outShape,
                    output: y.baseAddress!, outputRowStride: outChannels)
            }
        }
    }

    /// The kernel: writes output pixel m's Cout values at `output + m·outputRowStride`,
    /// so a row stride larger than Cout writes into a channel slice of a wider tensor.
    /// Shapes must have been validated by `prepare(forInput:)`.
    func run(input x: UnsafePointer<Float>, inputShape: [Int], outputShape: [Int],
             output y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int) {
        let (height, width) = (inputShape[1], inputShape[2])
        let (outputHeight, outputWidth) = (outputShape[1], outputShape[2])
        let m = outputShape[0] * outputHeight * outputWidth
        let kGroup = geometry.reductionPerGroup
        let nGroup = geometry.outChannelsPerGroup
        packedWeights.withUnsafeBufferPointer { packed in
            let w = packed.baseAddress!
            /// One SGEMM per group: rows [m0, m0 + rows) of A (leading dimension lda) times group g's weights.
            func multiply(_ a: UnsafePointer<Float>, lda: Int, groupStride: Int, firstRow m0: Int, rows: Int) {
                for g in 0..<groups {
                    GEMM.sgemm(m: rows, n: nGroup, k: kGroup,
                               a: a + g * groupStride, lda: lda,
                               b: w + g * kGroup * nGroup, ldb: nGroup,
                               c: y + m0 * ldy + g * nGroup, ldc: ldy)
                }
            }
            switch lowering {
            case .pointwise:
                multiply(x, lda: inChannels, groupStride: geometry.inChannelsPerGroup, firstRow: 0, rows: m)
            case .stridedPointwise, .im2col:
                let rowLength = kGroup * groups
                let tileRows = workspace.count / rowLength
                let scratch = workspace.baseAddress!
                for m0 in Swift.stride(from: 0, to: m, by: tileRows) {
                    let rows = m0..<min(m, m0 + tileRows)
                    if lowering == .stridedPointwise {
                        Im2col.gatherStrided(input: x, height: height, width: width, channels: inChannels,
                                             stride: stride, outputHeight: outputHeight, outputWidth: outputWidth,
                                             rows: rows, into: scratch)
                        multiply(scratch, lda: inChannels, groupStride: geometry.inChannelsPerGroup,
                                 firstRow: m0, rows: rows.count)
                    } else {
                        Im2col.lower(input: x, height: height, width: width, geometry: geometry,
                                     outputHeight: outputHeight, outputWidth: outputWidth, rows: rows, into: scratch)
                        multiply(scratch, lda: rowLength, groupStride: kGroup, firstRow: m0, rows: rows.count)
                    }
                }
            }
        }
        if let bias {
            bias.withUnsafeBufferPointer { b in
                Epilogue.addBias(b.baseAddress!, to: y, rows: m, columns: outChannels, rowStride: ldy)
            }
        }
    }

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
}
