/// How a convolution maps onto GEMM.
public enum ConvolutionLowering: String, Sendable {
    case pointwise = "1x1 GEMM (no copy)"
    case stridedPointwise = "strided gather + GEMM"
    case im2col = "im2col + GEMM"
    case implicitGEMM = "implicit GEMM"
    case depthwise = "depthwise direct"
}

/// A 2-D convolution on NHWC feature maps, lowered to SGEMM, with bias, an optional residual
/// (accumulated with beta = 1) and the activation fused into one pass over each output block.
///
/// x: [N, H, W, Cin] (dense) -> y: [N, H', W', Cout] (pixel rows `ldy` apart: a channel slice of a
/// concat output is written in place). Weights are packed once, at plan time. Lowerings:
/// - **1x1, stride 1, no padding**: one `cblas_sgemm` per group on the input itself,
///   M = N·H·W, K = Cin/groups, N = Cout/groups (lda = Cin, ldc = ldy): no copy, no workspace.
/// - **1x1 with stride, no padding**: the strided pixels gathered into the workspace, then that GEMM.
/// - **depthwise** (groups = Cin = Cout): the direct NHWC kernel `pw_depthwise`.
/// - **implicit GEMM** (ungrouped, constant weights, packed GEMM, K = KH·KW·Cin ≤ 256: the stems'
///   7x7 and 3x3 on 3 channels): no im2col; the packed GEMM's tiles read each output pixel's row of
///   A as KH segments of KW·Cin floats (one per tap, Cin long, when dilated in width) of the input,
///   zero-padded once into the workspace when the layer pads. M = N·H'·W', K = KH·KW·Cin.
/// - **any other**: im2col into the workspace, tiled by output rows, then one SGEMM per group,
///   K = KH·KW·Cin/groups.
/// On T threads each part takes a block of output rows (or of output channels when there are
/// few rows) and runs that block's gather or im2col, GEMM and epilogue while it is in cache.
final class ConvolutionKernel: Kernel, ParallelWork {
    typealias Lowering = ConvolutionLowering

    let geometry: ConvolutionGeometry
    let activation: Activation
    let kernelLowering: Lowering
    let path: KernelPath
    /// The SGEMM the GEMM lowerings call (OpenBLAS for grouped and run-time weights).
    let gemmKernel: GEMMKernel
    /// How the planner chose this kernel ("measured: …", "wisdom: …"), for summaries.
    let note: String?
    /// GEMM paths: group-major (KH·KW·Cin_g)×Cout_g matrices; group g's at g·K_g·Cout_g, its row
    /// (kh·KW + kw)·Cin_g + ci, column co = weight[g·Cout_g + co, ci, kh, kw].
    /// With the packed GEMM: that K×N matrix in 16-column panels (groups = 1).
    /// Depthwise: tap-major [KH·KW][C]. Naive path: OIHW as given.
    let weights: FloatBuffer
    let bias: FloatBuffer?
    /// Weights and bias given at run time (a graph input, as ONNX's node tests do): packed into
    /// the front of the workspace on each run instead of once.
    let runtimeWeight: Operand?
    let runtimeBias: Operand?
    /// Floats at the front of the workspace for run-time packed weights (0 with constant weights).
    let packedFloats: Int
    let input: Operand
    let output: Operand
    let residual: Operand?
    let (batch, height, width): (Int, Int, Int)
    let (outputHeight, outputWidth): (Int, Int)
    /// Output pixels, M = N·H'·W'.
    let rows: Int
    /// Rows of the im2col workspace each part lowers at a time, and the parts it was sized for.
    let tileRows: Int
    let workspaceParts: Int
    let workspaceBytes: Int
    /// Implicit GEMM: the input's rows and pixels as read (padded: Hp = H + top + bottom, Wp likewise,
    /// in the workspace; else the input itself), and where each segment of a pixel's A row starts,
    /// in floats from the pixel's top-left input value.
    let (paddedHeight, paddedWidth): (Int, Int)
    let segmentOffsets: [Int]
    let segmentLength: Int

    /// The largest K the implicit GEMM takes, in one K block (its B block, K×32 or K×16, stays in
    /// L1 while a tile of pixels sweeps it).
    static let implicitGEMMReductionLimit = 256

    /// Floats of im2col workspace at most (16 MiB): larger batches are lowered in tiles of rows.
    static let workspaceLimit = 1 << 22

    init(geometry: ConvolutionGeometry, weight: Tensor?, bias: Tensor?, activation: Activation,
         input: Operand, output: Operand, residual: Operand?, runtimeWeight: Operand? = nil, runtimeBias: Operand? = nil,
         path: KernelPath = .lowered, gemmKernel: GEMMKernel? = nil, note: String? = nil,
         workspaceLimit: Int = ConvolutionKernel.workspaceLimit, implicitGEMM: Bool = true, threads: Int = ThreadPool.size) {
        self.geometry = geometry
        self.activation = activation
        self.path = path
        self.input = input
        self.output = output
        self.residual = residual
        (batch, height, width) = (input.nhwc.n, input.nhwc.h, input.nhwc.w)
        (outputHeight, outputWidth) = (output.nhwc.h, output.nhwc.w)
        rows = batch * outputHeight * outputWidth
        let g = geometry
        self.runtimeWeight = runtimeWeight
        self.runtimeBias = runtimeBias
        self.note = note
        // Ungrouped (so not depthwise) with constant weights: packed once, here.
        let canPack = path == .lowered && g.groups == 1 && weight != nil
        self.gemmKernel = canPack ? gemmKernel ?? Self.preferredGEMMKernel : .openBLAS
        // The implicit GEMM in place of im2col, when its padded copy of the input fits the workspace limit.
        let padded = (height + g.padding.top + g.padding.bottom, width + g.padding.left + g.padding.right)
        let paddedFloats = g.padding.isZero ? 0 : batch * padded.0 * padded.1 * g.inChannels
        let implicit = implicitGEMM && g.lowering == .im2col && self.gemmKernel == .packed
            && g.reductionPerGroup <= Self.implicitGEMMReductionLimit && paddedFloats <= workspaceLimit
        kernelLowering = implicit ? .implicitGEMM : g.lowering
        (paddedHeight, paddedWidth) = implicit ? padded : (0, 0)
        if implicit && g.dilation.width == 1 {
            // One segment per kernel row: its KW taps' channels are contiguous in an NHWC row.
            segmentOffsets = (0..<g.kernel.height).map { $0 * g.dilation.height * padded.1 * g.inChannels }
            segmentLength = g.kernel.width * g.inChannels
        } else if implicit {
            segmentOffsets = (0..<g.kernel.height).flatMap { ky in
                (0..<g.kernel.width).map { kx in (ky * g.dilation.height * padded.1 + kx * g.dilation.width) * g.inChannels }
            }
            segmentLength = g.inChannels
        } else {
            (segmentOffsets, segmentLength) = ([], 0)
        }
        if let weight {
            if self.gemmKernel == .packed {
                let matrix = Self.pack(weight.scalars, g)
                weights = matrix.withUnsafeBufferPointer {
                    PackedGEMM.pack($0.baseAddress!, k: g.reductionPerGroup, n: g.outChannels, ldb: g.outChannels)
                }
            } else {
                weights = FloatBuffer(path == .naive ? weight.scalars
                                      : kernelLowering == .depthwise ? Self.packDepthwise(weight.scalars, g) : Self.pack(weight.scalars, g))
            }
            packedFloats = 0
        } else {
            weights = FloatBuffer([])
            packedFloats = (g.weightShape.reduce(1, *) + 15) / 16 * 16
        }
        self.bias = bias.map { FloatBuffer($0.scalars) }
        if path == .lowered && (kernelLowering == .stridedPointwise || kernelLowering == .im2col) {
            let rowLength = g.reductionPerGroup * g.groups
            let parts = max(1, min(threads, rows / 16, rows * g.reductionPerGroup * g.outChannelsPerGroup * g.groups / 1_000_000))
            let rowsPerPart = (rows + parts - 1) / parts
            // The packed GEMM reads the tile right after im2col writes it: tiles of ≤ 512 KiB stay
            // in L2 between the two (OpenBLAS repacks per call, so it gets the largest tiles).
            let l2Rows = self.gemmKernel == .packed ? max(96, (128 << 10) / rowLength) : Int.max
            tileRows = max(1, min(rowsPerPart, l2Rows, workspaceLimit / parts / rowLength))
            workspaceParts = parts
            workspaceBytes = (packedFloats + parts * tileRows * rowLength) * MemoryLayout<Float>.stride
        } else {
            (tileRows, workspaceParts) = (0, 0)
            workspaceBytes = (packedFloats + (implicit ? paddedFloats : 0)) * MemoryLayout<Float>.stride
        }
    }

    /// The SGEMM for a layer when not told (`CompileOptions.planning == .estimate`), whatever its shape.
    /// Measured per layer (`pointwise run MODEL.onnx --profile --gemm openblas|packed`, batch 1, 1
    /// thread, AMD EPYC): with AVX-512 the packed kernel wins 5–35 % (most where M is small and the
    /// weights large). It used to lose where K ≤ 64 and the output is beyond L2 (M·N ≥ 3136·256),
    /// until its tiles went from 12 to 8 rows: since then it wins those too (standalone harness,
    /// one thread, operands cycling through 4 copies: 3136×64×256 105 vs OpenBLAS 90 GFLOP/s,
    /// 100352×27×32 93 vs 65; ResNet-50's four K = 64 layers in the network 4.37 vs 4.42 ms; and
    /// the stems at batch 8 become implicit GEMMs, MobileNetV1 batch 8 111 → 107 ms). As an
    /// AVX2-only machine (`POINTWISE_ISA=avx2 OPENBLAS_CORETYPE=Haswell`), packed won the thin
    /// layers (0.86–0.91) and was within ±5 % of OpenBLAS on the large ones. Without AVX2 the packed
    /// kernel's portable loop is no match for OpenBLAS. `.measure` decides on any other machine.
    static var preferredGEMMKernel: GEMMKernel { KernelISA.best == .portable ? .openBLAS : .packed }

    var macs: Int { rows * geometry.reductionPerGroup * geometry.outChannelsPerGroup * geometry.groups }
    var weightBytes: Int { weights.byteCount + (bias?.byteCount ?? 0) }

    /// The GEMM one group's call is: M×K times K×N.
    var gemmShape: (m: Int, k: Int, n: Int) { (rows, geometry.reductionPerGroup, geometry.outChannelsPerGroup) }

    var lowering: String {
        if path == .naive { return "naive direct loop" }
        if kernelLowering == .depthwise { return "depthwise direct" }
        let (m, k, n) = gemmShape
        return "M=\(m) K=\(k) N=\(n)" + (geometry.groups > 1 ? " ×\(geometry.groups) groups" : "") + " (\(kernelLowering.rawValue)"
            + (gemmKernel == .packed ? ", packed)" : ")") + (note.map { "; \($0)" } ?? "")
    }

    // MARK: Running

    /// One call's pointers and split, on the caller's stack while the parts run.
    private struct Job {
        enum Split { case rows, columns, outputRows, tiles, padding, implicitRows }
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let ldy: Int
        /// The residual, when it must be copied into the output first (not already there).
        let residualCopy: UnsafePointer<Float>?
        let beta: Float
        let isa: KernelISA
        var split: Split
        let workspace: UnsafeMutablePointer<Float>?
        /// Rows of im2col workspace each part lowers at a time.
        let tileRows: Int
        let weights: UnsafePointer<Float>
        let bias: UnsafePointer<Float>?
    }

    func run(_ frame: Frame) {
        let x = UnsafePointer(frame.float(input))
        let y = frame.float(output)
        let ldy = output.pixelStride
        let r = residual.map { UnsafePointer(frame.float($0)) }
        let residualCopy = r != nil && r! != UnsafePointer(y) ? r : nil
        let g = geometry
        // Weights: packed at plan time, or (given at run time) now, into the front of the workspace.
        var packed = UnsafePointer(weights.pointer)
        if let runtimeWeight {
            let source = UnsafePointer(frame.float(runtimeWeight))
            let target = frame.floatWorkspace()
            if path == .naive {
                target.update(from: source, count: g.weightShape.reduce(1, *))
            } else if kernelLowering == .depthwise {
                Self.packDepthwise(source, into: target, g)
            } else {
                Self.pack(source, into: target, g)
            }
            packed = UnsafePointer(target)
        }
        let biasPointer = runtimeBias.map { UnsafePointer(frame.float($0)) } ?? bias.pointer
        if path == .naive {
            if let residualCopy { copyRows(residualCopy, into: y, ldy: ldy, rows: 0..<rows, columns: 0..<g.outChannels) }
            Reference.conv2DKernel(input: x, batch: batch, height: height, width: width, inChannels: g.inChannels,
                                   weight: packed, outChannels: g.outChannels, kernel: g.kernel, bias: biasPointer,
                                   stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups,
                                   output: y, outputHeight: outputHeight, outputWidth: outputWidth,
                                   outputRowStride: ldy, accumulate: r != nil, activation: activation)
            return
        }
        var split = Job.Split.rows
        var parts = 1
        var tileRows = 0
        switch kernelLowering {
        case .pointwise:
            // Split the rows across threads; with too few rows (7x7 maps), split the columns.
            parts = ThreadPool.parts(rows: rows, macs: macs)
            let columnParts = g.groups == 1 ? ThreadPool.parts(rows: g.outChannels, macs: macs, minimumRows: 32) : 1
            // With few rows (7x7 maps) each part of a row split would read all the weights (up to
            // 4 MiB): the packed GEMM splits the columns instead, each part reading its half.
            if columnParts > 1 && (parts == 1 || (gemmKernel == .packed && rows < 128 && columnParts >= parts)) {
                (split, parts) = (.columns, columnParts)
            }
        case .depthwise:
            // Depthwise does ~9 MACs per output value: count its work as 4x (memory-bound).
            split = .outputRows
            parts = ThreadPool.parts(rows: batch * outputHeight, macs: 4 * macs, minimumRows: 2)
        case .stridedPointwise, .im2col:
            // Each part lowers and multiplies its own rows, in tiles, in its own slice of the workspace.
            split = .tiles
            let rowLength = g.reductionPerGroup * g.groups
            let workspaceFloats = workspaceBytes / MemoryLayout<Float>.stride - packedFloats
            parts = max(1, min(ThreadPool.parts(rows: rows, macs: macs), workspaceParts))
            tileRows = max(1, min((rows + parts - 1) / parts, workspaceFloats / parts / rowLength))
        case .implicitGEMM:
            split = .implicitRows
            parts = ThreadPool.parts(rows: batch * outputHeight, macs: macs, minimumRows: 2)
        }
        var job = Job(x: x, y: y, ldy: ldy, residualCopy: residualCopy, beta: r == nil ? 0 : 1, isa: frame.isa, split: split,
                      workspace: workspaceBytes > 0 ? frame.floatWorkspace() + packedFloats : nil, tileRows: tileRows,
                      weights: packed, bias: biasPointer)
        if kernelLowering == .implicitGEMM && !g.padding.isZero {
            // The zero-padded copy first, its rows split across the pool (each part writes its own).
            var padding = job
            padding.split = .padding
            withUnsafePointer(to: &padding) {
                ThreadPool.run(parts: ThreadPool.parts(rows: batch * paddedHeight, macs: batch * paddedHeight * paddedWidth * g.inChannels / 4,
                                                       minimumRows: 8),
                               self, context: UnsafeRawPointer($0))
            }
        }
        withUnsafePointer(to: &job) { ThreadPool.run(parts: parts, self, context: UnsafeRawPointer($0)) }
    }

    /// One thread's share: its rows (or output channels) of the output, lowered, multiplied and
    /// finished by the epilogue while they are in this core's cache.
    func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer) {
        let job = context.assumingMemoryBound(to: Job.self).pointee
        let g = geometry
        switch job.split {
        case .columns:
            let columns = ThreadPool.range(part, of: parts, count: g.outChannels, alignment: 16)
            guard !columns.isEmpty else { return }
            if let r = job.residualCopy, gemmKernel == .openBLAS { copyRows(r, into: job.y, ldy: job.ldy, rows: 0..<rows, columns: columns) }
            multiply(job.x, lda: g.inChannels, groupStride: 0, y: job.y, ldy: job.ldy, beta: job.beta,
                     rows: 0..<rows, columns: columns, isa: job.isa, weights: job.weights, bias: job.bias, residual: job.residualCopy)
        case .rows:
            let band = ThreadPool.range(part, of: parts, count: rows)
            guard !band.isEmpty else { return }
            if let r = job.residualCopy, gemmKernel == .openBLAS { copyRows(r, into: job.y, ldy: job.ldy, rows: band, columns: 0..<g.outChannels) }
            multiply(job.x + band.lowerBound * g.inChannels, lda: g.inChannels, groupStride: g.inChannelsPerGroup,
                     y: job.y, ldy: job.ldy, beta: job.beta, rows: band, isa: job.isa, weights: job.weights, bias: job.bias,
                     residual: job.residualCopy)
        case .outputRows:
            let band = ThreadPool.range(part, of: parts, count: batch * outputHeight)
            guard !band.isEmpty else { return }
            if let r = job.residualCopy {
                copyRows(r, into: job.y, ldy: job.ldy, rows: band.lowerBound * outputWidth..<band.upperBound * outputWidth,
                         columns: 0..<g.outChannels)
            }
            DepthwiseKernel.run(input: job.x, batch: batch, height: height, width: width, geometry: g,
                                outputHeight: outputHeight, outputWidth: outputWidth,
                                weights: job.weights, bias: job.bias, activation: activation,
                                output: job.y, outputRowStride: job.ldy, accumulate: job.beta != 0, rows: band, isa: job.isa)
        case .padding:
            let band = ThreadPool.range(part, of: parts, count: batch * paddedHeight)
            pad(job.x, into: job.workspace!, rows: band)
        case .implicitRows:
            let band = ThreadPool.range(part, of: parts, count: batch * outputHeight)
            guard !band.isEmpty else { return }
            implicitGEMM(job, rows: band)
        case .tiles:
            let rowLength = g.reductionPerGroup * g.groups
            let scratch = job.workspace! + part * job.tileRows * rowLength
            let partRows = ThreadPool.range(part, of: parts, count: rows)
            for m0 in Swift.stride(from: partRows.lowerBound, to: partRows.upperBound, by: job.tileRows) {
                let tile = m0..<min(partRows.upperBound, m0 + job.tileRows)
                if let r = job.residualCopy, gemmKernel == .openBLAS { copyRows(r, into: job.y, ldy: job.ldy, rows: tile, columns: 0..<g.outChannels) }
                if kernelLowering == .stridedPointwise {
                    Im2col.gatherStrided(input: job.x, height: height, width: width, channels: g.inChannels,
                                         stride: g.stride, outputHeight: outputHeight, outputWidth: outputWidth,
                                         rows: tile, into: scratch)
                    multiply(scratch, lda: g.inChannels, groupStride: g.inChannelsPerGroup, y: job.y, ldy: job.ldy,
                             beta: job.beta, rows: tile, isa: job.isa, weights: job.weights, bias: job.bias, residual: job.residualCopy)
                } else {
                    Im2col.lower(input: job.x, height: height, width: width, geometry: g,
                                 outputHeight: outputHeight, outputWidth: outputWidth, rows: tile, into: scratch)
                    multiply(scratch, lda: rowLength, groupStride: g.reductionPerGroup, y: job.y, ldy: job.ldy,
                             beta: job.beta, rows: tile, isa: job.isa, weights: job.weights, bias: job.bias, residual: job.residualCopy)
                }
            }
        }
    }

    /// Padded rows `band` (of N·Hp): zeros around the input's rows, as the implicit GEMM reads them.
    private func pad(_ x: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>, rows band: Range<Int>) {
        let g = geometry
        let c = g.inChannels
        let rowFloats = paddedWidth * c
        for q in band {
            let (n, py) = q.quotientAndRemainder(dividingBy: paddedHeight)
            let target = padded + q * rowFloats
            let iy = py - g.padding.top
            guard iy >= 0 && iy < height else {
                target.update(repeating: 0, count: rowFloats)
                continue
            }
            target.update(repeating: 0, count: g.padding.left * c)
            (target + g.padding.left * c).update(from: x + (n * height + iy) * width * c, count: width * c)
            (target + (g.padding.left + width) * c).update(repeating: 0, count: g.padding.right * c)
        }
    }

    /// Output rows `band` (of N·H') by the implicit GEMM: one call.
    private func implicitGEMM(_ job: Job, rows band: Range<Int>) {
        let g = geometry
        let source = g.padding.isZero ? job.x : UnsafePointer(job.workspace!)
        let (inputHeight, inputWidth) = g.padding.isZero ? (height, width) : (paddedHeight, paddedWidth)
        let (r, ldr) = job.residualCopy.map { ($0, g.outChannels) } ?? (job.beta != 0 ? (UnsafePointer(job.y), job.ldy) : (nil, 0))
        segmentOffsets.withUnsafeBufferPointer { offsets in
            PackedGEMM.convolve(rows: band, rowsPerImage: outputHeight, width: outputWidth, n: g.outChannels, a: source,
                                imageStride: inputHeight * inputWidth * g.inChannels, rowStride: g.stride.height * inputWidth * g.inChannels,
                                pixelStride: g.stride.width * g.inChannels, offsets: offsets, length: segmentLength,
                                packed: job.weights, c: job.y, ldc: job.ldy, bias: job.bias, residual: r, ldr: ldr,
                                activation: activation, isa: job.isa)
        }
    }

    /// The residual's rows (dense, Cout per pixel) copied into the output's rows, before a GEMM accumulates onto them.
    private func copyRows(_ r: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, ldy: Int, rows: Range<Int>, columns: Range<Int>) {
        let channels = geometry.outChannels
        for m in rows {
            (y + m * ldy + columns.lowerBound).update(from: r + m * channels + columns.lowerBound, count: columns.count)
        }
    }

    /// One SGEMM per group on output rows `rows` (A's first row at `a`, rows lda apart) and output
    /// columns `columns` of each group, then the epilogue on that block. OpenBLAS: the residual,
    /// if any, is already in the output (beta = 1). Packed: one call with bias, residual (a dense
    /// copy, or the output itself when beta = 1) and activation in its epilogue.
    private func multiply(_ a: UnsafePointer<Float>, lda: Int, groupStride: Int, y: UnsafeMutablePointer<Float>, ldy: Int,
                          beta: Float, rows: Range<Int>, columns: Range<Int>? = nil, isa: KernelISA,
                          weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?) {
        let g = geometry
        let (kGroup, nGroup) = (g.reductionPerGroup, g.outChannelsPerGroup)
        let columns = columns ?? 0..<nGroup
        if gemmKernel == .packed {
            let (r, ldr) = residual.map { ($0 + rows.lowerBound * g.outChannels, g.outChannels) }
                ?? (beta != 0 ? (UnsafePointer(y + rows.lowerBound * ldy), ldy) : (nil, 0))
            PackedGEMM.multiply(m: rows.count, n: nGroup, k: kGroup, a: a, lda: lda, packed: weights, columns: columns,
                                c: y + rows.lowerBound * ldy, ldc: ldy, bias: bias, residual: r, ldr: ldr,
                                activation: activation, isa: isa)
            return
        }
        let out = y + rows.lowerBound * ldy + columns.lowerBound
        for group in 0..<g.groups {
            GEMM.sgemm(m: rows.count, n: columns.count, k: kGroup, a: a + group * groupStride, lda: lda,
                       b: weights + group * kGroup * nGroup + columns.lowerBound, ldb: nGroup,
                       c: out + group * nGroup, ldc: ldy, beta: beta)
        }
        Epilogue.apply(bias: bias.map { $0 + columns.lowerBound }, activation: activation, isa: isa, to: out,
                       rows: rows.count, columns: columns.count == nGroup ? g.outChannels : columns.count, rowStride: ldy)
    }

    // MARK: Packing

    /// OIHW weights → group-major (KH·KW·Cin_g)×Cout_g matrices (see `weights`).
    static func pack(_ weight: [Float], _ g: ConvolutionGeometry) -> [Float] {
        var packed = [Float](repeating: 0, count: weight.count)
        weight.withUnsafeBufferPointer { w in packed.withUnsafeMutableBufferPointer { p in pack(w.baseAddress!, into: p.baseAddress!, g) } }
        return packed
    }

    static func pack(_ weight: UnsafePointer<Float>, into packed: UnsafeMutablePointer<Float>, _ g: ConvolutionGeometry) {
        let (kh, kw, cinG, coutG) = (g.kernel.height, g.kernel.width, g.inChannelsPerGroup, g.outChannelsPerGroup)
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
    }

    /// Depthwise OIHW weights [C, 1, KH, KW] → tap-major [KH·KW][C].
    static func packDepthwise(_ weight: [Float], _ g: ConvolutionGeometry) -> [Float] {
        var packed = [Float](repeating: 0, count: weight.count)
        weight.withUnsafeBufferPointer { w in packed.withUnsafeMutableBufferPointer { p in packDepthwise(w.baseAddress!, into: p.baseAddress!, g) } }
        return packed
    }

    static func packDepthwise(_ weight: UnsafePointer<Float>, into packed: UnsafeMutablePointer<Float>, _ g: ConvolutionGeometry) {
        let taps = g.kernel.height * g.kernel.width
        for c in 0..<g.outChannels {
            for t in 0..<taps { packed[t * g.outChannels + c] = weight[c * taps + t] }
        }
    }
}
