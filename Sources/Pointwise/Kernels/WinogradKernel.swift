import CKernels

/// A 3x3, stride-1, dilation-1, ungrouped convolution by Winograd's minimal filtering F(m×m, 3×3):
/// (m+2)²/m² multiplies per output instead of 9 (F(2,3) 2.25× fewer, F(4,3) 4×, F(6,3) 5.06×).
///
/// x: [N, H, W, Cin] -> y: [N, H', W', Cout] (pixel rows `ldy` apart), bias, residual and activation fused
/// into the output transform. The output is cut into m×m tiles (T of them); each thread takes a range
/// of tiles and, in blocks that fit its workspace:
/// 1. transforms the blocks' α×α input patches (α = m + 2): V[ξ] (tiles × Cin), one matrix per ξ < α²;
/// 2. runs α² `cblas_sgemm`s, M[ξ] = V[ξ] · U[ξ], with U[ξ] (Cin × Cout) the weights transformed once,
///    at plan time: M = tiles, K = Cin, N = Cout;
/// 3. transforms M back into the output tiles, adding bias and residual, applying the activation.
/// Error: F(2,3) is as accurate as the direct GEMM; F(4,3) (points 0, ±√2, ±√2/2) a few times less;
/// F(6,3) about ten times less (see the tests for the measured figures and the tolerances).
final class WinogradKernel: Kernel, ParallelWork {
    /// Output tile side: 2, 4 or 6.
    let m: Int
    let alpha: Int
    let inChannels: Int
    let outChannels: Int
    let padding: Padding2D
    let activation: Activation
    /// U[ξ·Cin·Cout + ci·Cout + co].
    /// U[ξ] (Cin × Cout) for ξ < α², one after another (`transformedStride` floats apart): row-major
    /// for OpenBLAS, or each in 16-column panels for the packed GEMM.
    let transformedWeights: FloatBuffer
    let transformedStride: Int
    let gemmKernel: GEMMKernel
    /// How the planner chose this kernel ("measured: …", "wisdom: …"), for summaries.
    let note: String?
    let bias: FloatBuffer?
    let input: Operand
    let output: Operand
    let residual: Operand?
    let (tilesHigh, tilesWide, tiles): (Int, Int, Int)
    /// Tiles per block, the parts the workspace was sized for, and the floats of one part's workspace.
    let blockTiles: Int
    let workspaceParts: Int
    let partFloats: Int
    let workspaceBytes: Int

    /// Each part's V and M together stay under this many floats (32 MiB): blocks of tiles beyond.
    static let partLimit = 1 << 23

    init(tile m: Int, weight: Tensor, bias: Tensor?, padding: Padding2D, activation: Activation,
         input: Operand, output: Operand, residual: Operand?, gemmKernel: GEMMKernel? = nil, note: String? = nil,
         threads: Int = ThreadPool.size) {
        self.note = note
        self.m = m
        alpha = m + 2
        (outChannels, inChannels) = (weight.shape[0], weight.shape[1])
        self.padding = padding
        self.activation = activation
        self.input = input
        self.output = output
        self.residual = residual
        let (outputHeight, outputWidth) = (output.nhwc.h, output.nhwc.w)
        (tilesHigh, tilesWide) = ((outputHeight + m - 1) / m, (outputWidth + m - 1) / m)
        tiles = input.nhwc.n * tilesHigh * tilesWide
        var u = [Float](repeating: 0, count: (m + 2) * (m + 2) * weight.shape[0] * weight.shape[1])
        weight.scalars.withUnsafeBufferPointer { w in
            u.withUnsafeMutableBufferPointer { pw_winograd_weight_transform(Int32(m), w.baseAddress!, weight.shape[0], weight.shape[1], $0.baseAddress!) }
        }
        self.bias = bias.map { FloatBuffer($0.scalars) }
        let macs = tiles * alpha * alpha * inChannels * outChannels
        let parts = max(1, min(threads, tiles / 4, macs / 1_000_000))
        let perTile = alpha * alpha * (inChannels + outChannels)
        blockTiles = max(1, min((tiles + parts - 1) / parts, Self.partLimit / perTile))
        self.gemmKernel = gemmKernel ?? ConvolutionKernel.preferredGEMMKernel
        if self.gemmKernel == .packed {
            let (k, n, count) = (inChannels, outChannels, alpha * alpha)
            let stride = pw_gemm_packed_floats(k, n)
            let packed = FloatBuffer(count: count * stride)
            u.withUnsafeBufferPointer { u in
                for xi in 0..<count { pw_gemm_pack_b(k, n, u.baseAddress! + xi * k * n, n, 0, packed.pointer + xi * stride) }
            }
            transformedStride = stride
            transformedWeights = packed
        } else {
            transformedStride = inChannels * outChannels
            transformedWeights = FloatBuffer(u)
        }
        workspaceParts = parts
        partFloats = blockTiles * perTile
        workspaceBytes = parts * partFloats * MemoryLayout<Float>.stride
    }

    /// Multiply-accumulates of the direct convolution this replaces (what summaries count).
    var macs: Int { output.count * inChannels * 9 }
    /// Multiply-accumulates actually done in the GEMMs.
    var gemmMACs: Int { tiles * alpha * alpha * inChannels * outChannels }
    var weightBytes: Int { transformedWeights.byteCount + (bias?.byteCount ?? 0) }

    var lowering: String {
        "Winograd F(\(m)x\(m),3x3): \(alpha * alpha) GEMMs M=\(tiles) K=\(inChannels) N=\(outChannels)" + (gemmKernel == .packed ? " (packed)" : "")
            + (note.map { "; \($0)" } ?? "")
    }

    private struct Job {
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let residual: UnsafePointer<Float>?
        let workspace: UnsafeMutablePointer<Float>
        let isa: KernelISA
        /// Each part takes a block of output channels (all tiles) instead of a block of tiles.
        let splitsChannels: Bool
    }

    func run(_ frame: Frame) {
        var parts = max(1, min(workspaceParts, ThreadPool.parts(rows: tiles, macs: gemmMACs, minimumRows: 4)))
        // Few tiles (7×7 and 14×14 maps at batch 1): with tiles split, every part would multiply its
        // few rows by all α² transformed weight matrices (up to 16 MiB); split the output channels
        // instead, each part reading its share of the weights (and transforming the few tiles itself).
        let channelParts = min(workspaceParts, ThreadPool.parts(rows: outChannels, macs: gemmMACs, minimumRows: 32))
        let splitsChannels = tiles < 64 && channelParts > 1
        if splitsChannels { parts = channelParts }
        var job = Job(x: frame.float(input), y: frame.float(output), residual: residual.map { UnsafePointer(frame.float($0)) },
                      workspace: frame.floatWorkspace(), isa: frame.isa, splitsChannels: splitsChannels)
        withUnsafePointer(to: &job) { ThreadPool.run(parts: parts, self, context: UnsafeRawPointer($0)) }
    }

    func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer) {
        let job = context.assumingMemoryBound(to: Job.self).pointee
        let range = job.splitsChannels ? 0..<tiles : ThreadPool.range(part, of: parts, count: tiles)
        let columns = job.splitsChannels ? ThreadPool.range(part, of: parts, count: outChannels, alignment: 16) : 0..<outChannels
        guard !range.isEmpty, !columns.isEmpty else { return }
        let c0 = columns.lowerBound
        // This part's workspace: V (α² × block × Cin), then M (α² × block × Cout). With fewer parts
        // than planned, a part may use the slices of the parts that do not run (larger blocks).
        let available = partFloats * (workspaceParts / parts)
        let block = max(1, min(range.count, available / (alpha * alpha * (inChannels + outChannels))))
        let v = job.workspace + part * available
        let mm = v + alpha * alpha * block * inChannels
        let (h, w) = (input.nhwc.h, input.nhwc.w)
        let (outputHeight, outputWidth) = (output.nhwc.h, output.nhwc.w)
        let ldy = output.pixelStride
        let residualStride = residual?.pixelStride ?? 0
        for start in Swift.stride(from: range.lowerBound, to: range.upperBound, by: block) {
            let end = min(range.upperBound, start + block)
            let count = end - start
            pw_winograd_input_transform(job.isa.kernelValue, Int32(m), job.x, h, w, inChannels, tilesHigh, tilesWide,
                                        padding.top, padding.left, start, end, v, block * inChannels, inChannels)
            for xi in 0..<(alpha * alpha) {
                let (a, u, c) = (v + xi * block * inChannels, transformedWeights.pointer + xi * transformedStride, mm + xi * block * outChannels)
                if gemmKernel == .packed {
                    PackedGEMM.multiply(m: count, n: outChannels, k: inChannels, a: a, lda: inChannels, packed: u,
                                        columns: columns, c: c, ldc: outChannels, bias: nil, residual: nil, ldr: 0,
                                        activation: .identity, isa: job.isa)
                } else {
                    GEMM.sgemm(m: count, n: columns.count, k: inChannels, a: a, lda: inChannels, b: u + c0, ldb: outChannels,
                               c: c + c0, ldc: outChannels)
                }
            }
            // This part's channels of M (rows ldm = Cout apart) into its channels of the output.
            pw_winograd_output_transform(job.isa.kernelValue, Int32(m), mm + c0, block * outChannels, outChannels, columns.count,
                                         tilesHigh, tilesWide, outputHeight, outputWidth, start, end, bias.pointer.map { $0 + c0 },
                                         job.residual.map { $0 + c0 }, residualStride, activation.kernelValue, job.y + c0, ldy)
        }
    }

    /// Whether Winograd applies to a convolution: 3x3, stride 1, dilation 1, one group, padding at most 2.
    static func applies(to g: ConvolutionGeometry) -> Bool {
        g.kernel == 3 && g.stride == 1 && g.dilation == 1 && g.groups == 1
            && [g.padding.top, g.padding.bottom, g.padding.left, g.padding.right].allSatisfy { $0 <= 2 }
    }

    /// The tile to use under `algorithm` for a convolution with NCHW output shape `output`, or nil for im2col.
    static func tile(for algorithm: ConvolutionAlgorithm, geometry g: ConvolutionGeometry, output: [Int]) -> Int? {
        switch algorithm {
        case .im2col: return nil
        case .winograd(let tile): return [2, 4, 6].contains(tile) ? tile : nil
        case .heuristic: return heuristicTile(inChannels: g.inChannels, outChannels: g.outChannels, height: output[2], width: output[3])
        }
    }

    /// F(4,3) on maps of at least 12×12 with at least 16 channels in and out (its α² = 36 GEMMs then have
    /// enough rows, and the transformed weights, 4× the direct ones, are read few times); F(2,3) on
    /// smaller maps (2.25× fewer MACs than im2col, weights only 1.8× the direct ones), which wins since
    /// its GEMMs run on packed weights: ResNet-50's 512-channel 7×7 layer, `pointwise run resnet50.onnx
    /// --profile --convolution-algorithm winograd2|im2col` at batch 1, 1 thread (AVX-512 EPYC):
    /// 1.65 ms vs 2.4 ms (F(4,3) 2.0 ms). im2col below 16 channels and on maps under 4×4 (where
    /// the padded tiles would waste more than F(2,3) saves).
    static func heuristicTile(inChannels: Int, outChannels: Int, height: Int, width: Int) -> Int? {
        guard inChannels >= 16, outChannels >= 16, height >= 4, width >= 4 else { return nil }
        return height * width >= 144 ? 4 : 2
    }
}
