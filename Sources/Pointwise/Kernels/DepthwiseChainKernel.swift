/// A fused depthwise chain (`Operator.depthwiseChain`), a band of output rows at a time:
///
/// 1. the expansion, when there is one: the band's input rows through the packed GEMM
///    (M = rows·W, K = C, N = E) with its bias and activation, into a scratch band;
/// 2. the depthwise convolution (`pw_depthwise`) of that band (or of the input rows themselves)
///    into a second scratch band of output rows;
/// 3. the projection: the packed GEMM (M = rows·W', K = E, N = M) with bias, residual and
///    activation, into the output.
///
/// Both scratch bands are sized to stay in L2 (≤ 384 KiB together), so the expanded map
/// (E channels, up to 6× the block's input) is never written to memory and read back, which is
/// what the layer-by-layer plan spends most of MobileNetV2's time on at batch 8. Consecutive bands
/// of an image share the expansion's halo rows (the rows two windows overlap on): they are moved
/// up in the scratch band, not recomputed.
///
/// x: [N, H, W, C] (dense NHWC) → y: [N, H', W', M] (pixels `ldy` apart). The parts of a run take
/// consecutive bands (at least as many bands as threads), each in its own scratch.
final class DepthwiseChainKernel: Kernel, ParallelWork {
    let depthwise: ConvolutionGeometry
    /// Expanded channels E (C when there is no expansion), and the projection's output channels.
    let (inChannels, expanded, outChannels): (Int, Int, Int)
    let activations: (expand: Activation, depthwise: Activation, project: Activation)
    /// Packed K×N panels (`PackedGEMM.pack`): the expansion's C×E, the projection's E×M.
    let expandWeights: FloatBuffer?
    let expandBias: FloatBuffer?
    /// Tap-major [KH·KW][E], as `pw_depthwise` reads them.
    let depthwiseWeights: FloatBuffer
    let depthwiseBias: FloatBuffer?
    let projectWeights: FloatBuffer
    let projectBias: FloatBuffer?
    let input: Operand
    let output: Operand
    let residual: Operand?
    let (batch, height, width): (Int, Int, Int)
    let (outputHeight, outputWidth): (Int, Int)
    /// Output rows per band (bands of equal height), bands per image, and input rows a band reads at most.
    let bandRows: Int
    let bandsPerImage: Int
    let bandInputRows: Int
    /// Floats of scratch per part: the expanded band (when expanding), then the depthwise band.
    let scratchFloats: Int
    let parts: Int
    let workspaceBytes: Int

    /// Bytes both scratch bands may take: with the projection's weights they stay in a 1 MiB L2.
    static let bandBudget = 384 << 10

    init(attributes: DepthwiseChainAttributes, depthwise: ConvolutionGeometry, expandWeight: Tensor?, expandBias: Tensor?,
         depthwiseWeight: Tensor, depthwiseBias: Tensor?, projectWeight: Tensor, projectBias: Tensor?,
         input: Operand, output: Operand, residual: Operand?, threads: Int = ThreadPool.size,
         bandBudget: Int = DepthwiseChainKernel.bandBudget) {
        self.depthwise = depthwise
        self.input = input
        self.output = output
        self.residual = residual
        let (n, h, w, c) = input.nhwc
        let (hOut, wOut, m) = (output.nhwc.h, output.nhwc.w, output.nhwc.c)
        let e = depthwise.outChannels
        (batch, height, width, inChannels) = (n, h, w, c)
        (outputHeight, outputWidth) = (hOut, wOut)
        (expanded, outChannels) = (e, m)
        activations = (attributes.expand?.activation ?? .identity, attributes.depthwise.activation, attributes.project.activation)
        // ONNX weights [N, K, 1, 1] are B transposed (N×K): packed as B = K×N.
        expandWeights = expandWeight.map { weight in weight.scalars.withUnsafeBufferPointer {
            PackedGEMM.pack($0.baseAddress!, k: c, n: e, ldb: c, transposed: true) } }
        self.expandBias = expandBias.map { FloatBuffer($0.scalars) }
        depthwiseWeights = FloatBuffer(ConvolutionKernel.packDepthwise(depthwiseWeight.scalars, depthwise))
        self.depthwiseBias = depthwiseBias.map { FloatBuffer($0.scalars) }
        projectWeights = projectWeight.scalars.withUnsafeBufferPointer { PackedGEMM.pack($0.baseAddress!, k: e, n: m, ldb: e, transposed: true) }
        self.projectBias = projectBias.map { FloatBuffer($0.scalars) }

        let g = depthwise
        let span = (g.kernel.height - 1) * g.dilation.height + 1
        func inputRows(_ rows: Int) -> Int { min(h, (rows - 1) * g.stride.height + span) }
        func floats(_ rows: Int) -> Int {
            (expandWeight == nil ? 0 : (inputRows(rows) * w * e + 15) / 16 * 16) + rows * wOut * e
        }
        // The most rows whose bands fit the budget; with fewer images than threads, bands of at most
        // H'/threads rows (so usually one band per thread or more).
        var rows = n >= threads ? hOut : (hOut + threads - 1) / max(threads, 1)
        while rows > 1 && floats(rows) * MemoryLayout<Float>.stride > bandBudget { rows -= 1 }
        // As many bands as that takes, of equal height (14 rows: 7 + 7, not 13 + 1). Rounding the
        // height up can leave fewer bands than asked for (5 rows in 4 bands: 2 + 2 + 1), so count again.
        let bands = (hOut + rows - 1) / rows
        rows = (hOut + bands - 1) / bands
        bandsPerImage = (hOut + rows - 1) / rows
        bandRows = rows
        bandInputRows = inputRows(rows)
        scratchFloats = (floats(rows) + 15) / 16 * 16
        parts = max(1, min(threads, n * bandsPerImage))
        workspaceBytes = parts * scratchFloats * MemoryLayout<Float>.stride
    }

    /// Multiply-accumulates of each stage (the expansion's 0 without one), for `macs` and summaries.
    var stageMACs: (expand: Int, depthwise: Int, project: Int) {
        let pixels = batch * outputHeight * outputWidth
        return (expandWeights == nil ? 0 : batch * height * width * inChannels * expanded,
                pixels * expanded * depthwise.kernel.height * depthwise.kernel.width, pixels * expanded * outChannels)
    }

    var macs: Int { stageMACs.expand + stageMACs.depthwise + stageMACs.project }

    var weightBytes: Int {
        [expandWeights, expandBias, depthwiseWeights, depthwiseBias, projectWeights, projectBias].reduce(0) { $0 + ($1?.byteCount ?? 0) }
    }

    var lowering: String {
        let g = depthwise
        let expansion = expandWeights == nil ? "" : "expand M=\(batch * height * width) K=\(inChannels) N=\(expanded) → "
        return "fused: " + expansion + "depthwise \(g.kernel.height)x\(g.kernel.width)/\(g.stride.height) → "
            + "project M=\(batch * outputHeight * outputWidth) K=\(expanded) N=\(outChannels), bands of \(bandRows) rows (packed)"
    }

    // MARK: Running

    private struct Job {
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let ldy: Int
        /// The residual and its pixel stride: a separate dense map, or the output itself (in place).
        let residual: UnsafePointer<Float>?
        let ldr: Int
        let workspace: UnsafeMutablePointer<Float>
        let isa: KernelISA
    }

    func run(_ frame: Frame) {
        let y = frame.float(output)
        let r = residual.map { UnsafePointer(frame.float($0)) }
        let ldy = output.pixelStride
        let inPlace = r != nil && r! == UnsafePointer(y)
        var job = Job(x: UnsafePointer(frame.float(input)), y: y, ldy: ldy, residual: r, ldr: inPlace ? ldy : outChannels,
                      workspace: frame.floatWorkspace(), isa: frame.isa)
        withUnsafePointer(to: &job) {
            ThreadPool.run(parts: min(parts, ThreadPool.available, batch * bandsPerImage), self, context: UnsafeRawPointer($0))
        }
    }

    func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer) {
        let job = context.assumingMemoryBound(to: Job.self).pointee
        let g = depthwise
        let mine = ThreadPool.range(part, of: parts, count: batch * bandsPerImage)
        let scratch = job.workspace + part * scratchFloats
        let expandedBand = scratch
        let filteredBand = scratch + (expandWeights == nil ? 0 : (bandInputRows * width * expanded + 15) / 16 * 16)
        let rowFloats = width * expanded
        // Input rows [held.lowerBound, held.upperBound) of image `heldImage` are in the expanded band.
        var heldImage = -1
        var held = 0..<0
        for band in mine {
            let (n, b) = band.quotientAndRemainder(dividingBy: bandsPerImage)
            let rows = b * bandRows..<min(outputHeight, (b + 1) * bandRows)
            // The input rows the band's windows read, clipped to the image.
            let top = rows.lowerBound * g.stride.height - g.padding.top
            let bottom = (rows.upperBound - 1) * g.stride.height - g.padding.top + (g.kernel.height - 1) * g.dilation.height + 1
            // (Empty when the windows lie in the padding: pads may exceed the map.)
            let start = min(max(0, top), height)
            let needed = start..<max(start, min(height, bottom))
            let source: UnsafePointer<Float>
            if let expandWeights {
                // Keep the rows this band shares with the last one, expand the rest.
                var first = needed.lowerBound
                if heldImage == n && held.contains(needed.lowerBound) {
                    let kept = needed.lowerBound..<min(held.upperBound, needed.upperBound)
                    expandedBand.update(from: expandedBand + (kept.lowerBound - held.lowerBound) * rowFloats, count: kept.count * rowFloats)
                    first = kept.upperBound
                }
                if first < needed.upperBound {
                    PackedGEMM.multiply(m: (needed.upperBound - first) * width, n: expanded, k: inChannels,
                                        a: job.x + ((n * height + first) * width) * inChannels, lda: inChannels,
                                        packed: expandWeights.pointer, columns: 0..<expanded,
                                        c: expandedBand + (first - needed.lowerBound) * rowFloats, ldc: expanded,
                                        bias: expandBias.pointer, residual: nil, ldr: 0, activation: activations.expand, isa: job.isa)
                }
                (heldImage, held) = (n, needed)
                source = UnsafePointer(expandedBand)
            } else {
                source = job.x + (n * height + needed.lowerBound) * width * inChannels
            }
            // The band as an image of its own: its first row is input row needed.lowerBound, so the
            // top padding is what lies above that row in the band's first window.
            DepthwiseKernel.run(input: source, batch: 1, height: needed.count, width: width, geometry: g,
                                outputHeight: rows.count, outputWidth: outputWidth, weights: depthwiseWeights.pointer,
                                bias: depthwiseBias.pointer, activation: activations.depthwise, output: filteredBand,
                                outputRowStride: expanded, accumulate: false, rows: 0..<rows.count, isa: job.isa,
                                padTop: max(0, needed.lowerBound - top))
            let firstPixel = (n * outputHeight + rows.lowerBound) * outputWidth
            PackedGEMM.multiply(m: rows.count * outputWidth, n: outChannels, k: expanded, a: filteredBand, lda: expanded,
                                packed: projectWeights.pointer, columns: 0..<outChannels,
                                c: job.y + firstPixel * job.ldy, ldc: job.ldy, bias: projectBias.pointer,
                                residual: job.residual.map { $0 + firstPixel * job.ldr }, ldr: job.ldr,
                                activation: activations.project, isa: job.isa)
        }
    }
}
