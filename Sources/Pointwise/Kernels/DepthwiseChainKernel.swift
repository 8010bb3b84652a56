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
/// x: [N, H, W, C] (dense NHWC) → y: [N, H', W', M] (pixels `ldy` apart). How the parts of a run
/// share the work is the kernel's `Split`.
final class DepthwiseChainKernel: Kernel, ParallelWork {
    /// How a run's parts (threads) share the bands.
    enum Split: Equatable {
        /// Each part takes consecutive bands (at least as many bands as threads), in its own scratch.
        case bands
        /// The parts run every band together: each expands and filters a slice of the expanded
        /// channels (16-aligned), then, after all have, projects a slice of the output channels
        /// from the whole filtered band. For small maps with fewer images than threads (MobileNet's
        /// 7×7 and 14×14 blocks at batch 1), where bands per thread would recompute the expansion
        /// of the rows their windows share (a 7-row map in bands of 4 + 3 expands 9 rows, not 7)
        /// and each part would read all of the projection's weights.
        case channels
    }

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
    /// Floats of scratch per part (split by channels: of the one scratch all parts share): the
    /// expanded band (when expanding), then the depthwise band.
    let scratchFloats: Int
    let split: Split
    let parts: Int
    let workspaceBytes: Int

    /// Bytes both scratch bands may take: with the projection's weights they stay in a 1 MiB L2.
    static let bandBudget = 384 << 10

    init(attributes: DepthwiseChainAttributes, depthwise: ConvolutionGeometry, expandWeight: Tensor?, expandBias: Tensor?,
         depthwiseWeight: Tensor, depthwiseBias: Tensor?, projectWeight: Tensor, projectBias: Tensor?,
         input: Operand, output: Operand, residual: Operand?, threads: Int = ThreadPool.size,
         bandBudget: Int = DepthwiseChainKernel.bandBudget, split: Split? = nil) {
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
        // Channel slices need 16 expanded and 16 output channels per thread; they pay where bands
        // per thread would be short (≤ 8 rows: the 3x3 window's 2 shared rows are ≥ 25 % more
        // expansion). Without an expansion, bands share nothing and channel slices gained nothing
        // (MobileNetV1's 14×14 and 7×7 pairs, 2 threads).
        let threads = max(threads, 1)
        let small = n < threads && (hOut + threads - 1) / threads <= 8
        let split = split ?? (small && expandWeight != nil && e >= 16 * threads && m >= 16 * threads ? .channels : .bands)
        self.split = split
        // The most rows whose bands fit the budget (split by channels, each thread's L2 holds a slice
        // of the band); split by bands with fewer images than threads, bands of at most H'/threads
        // rows (so usually one band per thread or more).
        var rows = n >= threads || split == .channels ? hOut : (hOut + threads - 1) / threads
        let budget = split == .channels ? bandBudget * threads : bandBudget
        while rows > 1 && floats(rows) * MemoryLayout<Float>.stride > budget { rows -= 1 }
        // As many bands as that takes, of equal height (14 rows: 7 + 7, not 13 + 1). Rounding the
        // height up can leave fewer bands than asked for (5 rows in 4 bands: 2 + 2 + 1), so count again.
        let bands = (hOut + rows - 1) / rows
        rows = (hOut + bands - 1) / bands
        // Split by bands, a band count the threads divide: 3 bands on 2 threads leave one thread
        // waiting while the other runs its second band (MobileNetV1's 56×56 and 28×28 pairs at
        // batch 1 scaled 1.5× on 2 threads); so do 3 images in 1 band each.
        if split == .bands && threads > 1 && (n * bands) % threads != 0 {
            for more in stride(from: bands + 1, through: hOut, by: 1) {
                let height = (hOut + more - 1) / more
                if (n * ((hOut + height - 1) / height)) % threads == 0 {
                    rows = height
                    break
                }
            }
        }
        bandsPerImage = (hOut + rows - 1) / rows
        bandRows = rows
        bandInputRows = inputRows(rows)
        scratchFloats = (floats(rows) + 15) / 16 * 16
        switch split {
        case .bands:
            parts = max(1, min(threads, n * bandsPerImage))
            workspaceBytes = parts * scratchFloats * MemoryLayout<Float>.stride
        case .channels:
            // One scratch for all parts: the expanded band in per-part blocks of whole rows of their
            // channels (so the halo rows move as one block), the filtered band E floats per pixel.
            parts = max(1, min(threads, (e + 15) / 16, (m + 15) / 16))
            workspaceBytes = scratchFloats * MemoryLayout<Float>.stride
        }
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
            + "project M=\(batch * outputHeight * outputWidth) K=\(expanded) N=\(outChannels), bands of \(bandRows) rows"
            + (split == .channels && parts > 1 ? ", threads split channels" : "") + " (packed)"
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
        /// Split by channels: the band all parts work on, and the stage: filtering (expansion and
        /// depthwise) or projecting.
        var band = 0
        var projecting = false
    }

    /// A band's output rows (of image `image`), the top of its first window (may lie in the
    /// padding) and the input rows its windows read, clipped to the image.
    private struct Window {
        let image: Int
        let rows: Range<Int>
        let top: Int
        let needed: Range<Int>
    }

    private func window(_ band: Int) -> Window {
        let g = depthwise
        let (n, b) = band.quotientAndRemainder(dividingBy: bandsPerImage)
        let rows = b * bandRows..<min(outputHeight, (b + 1) * bandRows)
        let top = rows.lowerBound * g.stride.height - g.padding.top
        let bottom = (rows.upperBound - 1) * g.stride.height - g.padding.top + (g.kernel.height - 1) * g.dilation.height + 1
        // (Empty when the windows lie in the padding: pads may exceed the map.)
        let start = min(max(0, top), height)
        return Window(image: n, rows: rows, top: top, needed: start..<max(start, min(height, bottom)))
    }

    /// The input rows of `band`'s image that its scratch's expanded band holds when the same scratch
    /// ran the bands `first..<band` just before: the previous band's, if of the same image (empty:
    /// none). `filter` moves them up instead of expanding them again.
    private func heldRows(before band: Int, since first: Int) -> Range<Int> {
        band > first && band % bandsPerImage != 0 ? window(band - 1).needed : 0..<0
    }

    /// Where each expanded channel slice's block starts in the expanded band (split by channels).
    private func expandedBlock(_ channels: Range<Int>) -> Int { bandInputRows * width * channels.lowerBound }

    private var filteredBandOffset: Int { expandWeights == nil ? 0 : (bandInputRows * width * expanded + 15) / 16 * 16 }

    func run(_ frame: Frame) {
        let y = frame.float(output)
        let r = residual.map { UnsafePointer(frame.float($0)) }
        let ldy = output.pixelStride
        let inPlace = r != nil && r! == UnsafePointer(y)
        var job = Job(x: UnsafePointer(frame.float(input)), y: y, ldy: ldy, residual: r, ldr: inPlace ? ldy : outChannels,
                      workspace: frame.floatWorkspace(), isa: frame.isa)
        switch split {
        case .bands:
            withUnsafePointer(to: &job) {
                ThreadPool.run(parts: min(parts, ThreadPool.available, batch * bandsPerImage), self, context: UnsafeRawPointer($0))
            }
        case .channels:
            let parts = min(parts, ThreadPool.available)
            withUnsafeMutablePointer(to: &job) { job in
                for band in 0..<batch * bandsPerImage {
                    job.pointee.band = band
                    job.pointee.projecting = false
                    ThreadPool.run(parts: parts, self, context: UnsafeRawPointer(job))
                    job.pointee.projecting = true
                    ThreadPool.run(parts: parts, self, context: UnsafeRawPointer(job))
                }
            }
        }
    }

    func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer) {
        let job = context.assumingMemoryBound(to: Job.self).pointee
        switch split {
        case .bands:
            let scratch = job.workspace + part * scratchFloats
            let mine = ThreadPool.range(part, of: parts, count: batch * bandsPerImage)
            for band in mine {
                let w = window(band)
                filter(w, held: heldRows(before: band, since: mine.lowerBound), channels: 0..<expanded, expandedBand: scratch,
                       filteredBand: scratch + filteredBandOffset, job)
                project(w, columns: 0..<outChannels, filteredBand: scratch + filteredBandOffset, job)
            }
        case .channels:
            let w = window(job.band)
            let filteredBand = job.workspace + filteredBandOffset
            if job.projecting {
                project(w, columns: ThreadPool.range(part, of: parts, count: outChannels, alignment: 16),
                        filteredBand: filteredBand, job)
            } else {
                let channels = ThreadPool.range(part, of: parts, count: expanded, alignment: 16)
                filter(w, held: heldRows(before: job.band, since: 0), channels: channels, expandedBand: job.workspace + expandedBlock(channels),
                       filteredBand: filteredBand + channels.lowerBound, job)
            }
        }
    }

    /// Stages 1 and 2 of band `w` for the expanded channels `channels`: the input rows it needs
    /// that `held` does not hold through the expansion's columns `channels` into `expandedBand`
    /// (whole rows of those channels, `channels.count` floats per pixel; the held rows it shares
    /// moved up first), then the depthwise convolution of those channels into `filteredBand`
    /// (pointing at the first of them, E floats per pixel).
    private func filter(_ w: Window, held: Range<Int>, channels: Range<Int>, expandedBand: UnsafeMutablePointer<Float>,
                        filteredBand: UnsafeMutablePointer<Float>, _ job: Job) {
        guard !channels.isEmpty else { return }
        let g = depthwise
        let needed = w.needed
        let source: UnsafePointer<Float>
        let sourceStride: Int
        if let expandWeights {
            let rowFloats = width * channels.count
            // Keep the rows this band shares with the last one, expand the rest.
            var first = needed.lowerBound
            if held.contains(needed.lowerBound) {
                let kept = needed.lowerBound..<min(held.upperBound, needed.upperBound)
                expandedBand.update(from: expandedBand + (kept.lowerBound - held.lowerBound) * rowFloats, count: kept.count * rowFloats)
                first = kept.upperBound
            }
            if first < needed.upperBound {
                // The GEMM writes columns `channels` of C: C starts channels.lowerBound before the block.
                PackedGEMM.multiply(m: (needed.upperBound - first) * width, n: expanded, k: inChannels,
                                    a: job.x + ((w.image * height + first) * width) * inChannels, lda: inChannels,
                                    packed: expandWeights.pointer, columns: channels,
                                    c: expandedBand + (first - needed.lowerBound) * rowFloats - channels.lowerBound,
                                    ldc: channels.count, bias: expandBias.pointer, residual: nil, ldr: 0,
                                    activation: activations.expand, isa: job.isa)
            }
            (source, sourceStride) = (UnsafePointer(expandedBand), channels.count)
        } else {
            (source, sourceStride) = (job.x + (w.image * height + needed.lowerBound) * width * inChannels + channels.lowerBound, inChannels)
        }
        // The band as an image of its own: its first row is input row needed.lowerBound, so the
        // top padding is what lies above that row in the band's first window.
        DepthwiseKernel.run(input: source, batch: 1, height: needed.count, width: width, geometry: g,
                            outputHeight: w.rows.count, outputWidth: outputWidth,
                            weights: depthwiseWeights.pointer + channels.lowerBound,
                            bias: depthwiseBias.map { $0.pointer + channels.lowerBound }, activation: activations.depthwise,
                            output: filteredBand, outputRowStride: expanded, accumulate: false, rows: 0..<w.rows.count,
                            isa: job.isa, padTop: max(0, needed.lowerBound - w.top), channels: channels.count,
                            inputPixelStride: sourceStride, weightTapStride: expanded)
    }

    /// Stage 3 of band `w` for the output channels `columns`: the projection of the filtered band.
    private func project(_ w: Window, columns: Range<Int>, filteredBand: UnsafeMutablePointer<Float>, _ job: Job) {
        guard !columns.isEmpty else { return }
        let firstPixel = (w.image * outputHeight + w.rows.lowerBound) * outputWidth
        PackedGEMM.multiply(m: w.rows.count * outputWidth, n: outChannels, k: expanded, a: filteredBand, lda: expanded,
                            packed: projectWeights.pointer, columns: columns,
                            c: job.y + firstPixel * job.ldy, ldc: job.ldy, bias: projectBias.pointer,
                            residual: job.residual.map { $0 + firstPixel * job.ldr }, ldr: job.ldr,
                            activation: activations.project, isa: job.isa)
    }
}
