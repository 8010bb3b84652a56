/// Gemm: Y [M, N] = activation(alpha·op(A)·op(B) + beta·C), one `cblas_sgemm`.
/// A is the run-time operand (or a constant), B usually the weights. C, broadcast to [M, N], is
/// either a bias row (C [N] or [1, N]: added by the epilogue, with the activation) or anything
/// else (copied into Y first, then the GEMM accumulates with beta).
/// A classifier (constant B, alpha = 1, C a bias row or absent, A not transposed) runs the packed
/// GEMM instead, B packed once and its columns split over the pool: at M = 1 (batch 1) OpenBLAS
/// repacks the whole weight matrix (4–8 MiB) on every call, which costs twice the multiplication.
final class GemmKernel: Kernel, ParallelWork {
    let attributes: GemmAttributes
    let a: Operand
    let b: Operand?
    let constantB: FloatBuffer?
    let output: Operand
    let (m, n, k): (Int, Int, Int)
    /// beta·C as a bias row, or as a full [M, N] matrix copied in first.
    let biasRow: FloatBuffer?
    let fullC: FloatBuffer?
    /// C given at run time: broadcast into Y before the GEMM accumulates with beta.
    let runtimeC: Operand?
    let runtimeCopy: StridedCopy?
    let path: KernelPath
    /// B in 16-column panels when this Gemm runs the packed GEMM.
    let packedB: FloatBuffer?

    init(_ attributes: GemmAttributes, a: Operand, b: Operand?, constantB: Tensor?, c: Tensor?, runtimeC: Operand? = nil,
         output: Operand, path: KernelPath = .lowered) {
        self.attributes = attributes
        self.a = a
        self.b = b
        self.output = output
        self.path = path
        (m, n) = (output.shape[0], output.shape[1])
        k = attributes.transposeA ? a.shape[0] : a.shape[1]
        self.runtimeC = attributes.beta != 0 ? runtimeC : nil
        runtimeCopy = self.runtimeC.map {
            StridedCopy(shape: output.shape, destinationStrides: output.strides,
                        sourceStrides: Broadcasting.strides(of: $0.shape, $0.strides, broadcastTo: output.shape))
        }
        if let c, attributes.beta != 0 {
            let cStrides = Broadcasting.strides(of: c.shape, Broadcasting.strides(c.shape), broadcastTo: [m, n])
            if cStrides[0] == 0 {
                biasRow = FloatBuffer((0..<n).map { attributes.beta * c.scalars[$0 * cStrides[1]] })
                fullC = nil
            } else {
                var full = [Float](repeating: 0, count: m * n)
                for i in 0..<m { for j in 0..<n { full[i * n + j] = attributes.beta * c.scalars[i * cStrides[0] + j * cStrides[1]] } }
                fullC = FloatBuffer(full)
                biasRow = nil
            }
        } else {
            (biasRow, fullC) = (nil, nil)
        }
        if path == .lowered, let constantB, !attributes.transposeA, attributes.alpha == 1, fullC == nil, self.runtimeC == nil,
           k > 0, KernelISA.best != .portable {
            let (k, n, transposed) = (k, n, attributes.transposeB)
            packedB = constantB.scalars.withUnsafeBufferPointer {
                PackedGEMM.pack($0.baseAddress!, k: k, n: n, ldb: transposed ? k : n, transposed: transposed)
            }
        } else {
            packedB = nil
        }
        // Either layout of B, not both.
        self.constantB = packedB == nil ? constantB.map { FloatBuffer($0.scalars) } : nil
    }

    private struct Job {
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let ldy: Int
        let isa: KernelISA
    }

    /// Columns of the packed GEMM, in 16-aligned blocks (the panels).
    func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer) {
        let job = context.assumingMemoryBound(to: Job.self).pointee
        let columns = ThreadPool.range(part, of: parts, count: n, alignment: 16)
        guard !columns.isEmpty, let packedB else { return }
        PackedGEMM.multiply(m: m, n: n, k: k, a: job.x, lda: k, packed: packedB.pointer, columns: columns, c: job.y, ldc: job.ldy,
                            bias: biasRow.pointer, residual: nil, ldr: 0, activation: attributes.activation, isa: job.isa)
    }

    var macs: Int { m * n * k }
    var weightBytes: Int {
        (constantB?.byteCount ?? 0) + (packedB?.byteCount ?? 0) + (biasRow?.byteCount ?? 0) + (fullC?.byteCount ?? 0)
    }
    var lowering: String {
        path == .naive ? "naive direct loop"
            : "M=\(m) K=\(k) N=\(n) (GEMM\(attributes.transposeB ? ", B transposed" : "")\(packedB != nil ? ", packed" : ""))"
    }

    func run(_ frame: Frame) {
        let x = UnsafePointer(frame.float(a))
        let y = frame.float(output)
        let ldy = output.strides[0]
        if packedB != nil {
            guard m > 0, n > 0 else { return }
            var job = Job(x: x, y: y, ldy: ldy, isa: frame.isa)
            // With few rows (a classifier at batch 1: M = 1, B 4–5 MB) the time goes into streaming
            // B, each float about as long as 16 MACs: split by that, or one core streams it alone.
            let parts = ThreadPool.parts(rows: (n + 15) / 16, macs: max(macs, 16 * k * n), minimumRows: 1)
            withUnsafePointer(to: &job) { ThreadPool.run(parts: parts, self, context: UnsafeRawPointer($0)) }
            return
        }
        let w = constantB.map { UnsafePointer($0.pointer) } ?? UnsafePointer(frame.float(b!))
        if let fullC {
            for i in 0..<m { (y + i * ldy).update(from: fullC.pointer + i * n, count: n) }
        }
        if let runtimeC, let runtimeCopy { runtimeCopy.run(from: frame.float(runtimeC), to: y) }
        let accumulate = fullC != nil || runtimeC != nil
        let lda = attributes.transposeA ? m : k
        let ldb = attributes.transposeB ? k : n
        if path == .naive {
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k {
                        let av = attributes.transposeA ? x[p * lda + i] : x[i * lda + p]
                        let bv = attributes.transposeB ? w[j * ldb + p] : w[p * ldb + j]
                        sum += Double(av) * Double(bv)
                    }
                    let c = runtimeC != nil ? Double(attributes.beta) * Double(y[i * ldy + j]) : fullC != nil ? Double(y[i * ldy + j]) : 0
                    y[i * ldy + j] = Float(Double(attributes.alpha) * sum + c)
                }
            }
        } else if m == 0 || n == 0 {
            return
        } else if k == 0 {
            if !accumulate { for i in 0..<m { (y + i * ldy).update(repeating: 0, count: n) } }
            else if runtimeC != nil { for i in 0..<m { for j in 0..<n { y[i * ldy + j] *= attributes.beta } } }
        } else {
            GEMM.sgemm(m: m, n: n, k: k, a: x, lda: lda, transposeA: attributes.transposeA,
                       b: w, ldb: ldb, transposeB: attributes.transposeB, c: y, ldc: ldy,
                       alpha: attributes.alpha, beta: runtimeC != nil ? attributes.beta : fullC != nil ? 1 : 0)
        }
        Epilogue.apply(bias: biasRow.pointer, activation: attributes.activation, isa: frame.isa, to: y, rows: m, columns: n, rowStride: ldy)
    }
}

/// MatMul with NumPy semantics: one `cblas_sgemm` per broadcast batch matrix. When B has no
/// batch of its own and A is dense, the batch folds into M: one GEMM.
final class MatMulKernel: Kernel {
    let a: Operand
    let b: Operand?
    let constantB: FloatBuffer?
    let output: Operand
    let (m, n, k): (Int, Int, Int)
    /// (A offset, B offset, Y offset) of each GEMM, in elements.
    let batches: [(Int, Int, Int)]
    let foldedM: Int

    init(a: Operand, b: Operand?, constantB: Tensor?, output: Operand) {
        self.a = a
        self.b = b
        self.constantB = constantB.map { FloatBuffer($0.scalars) }
        self.output = output
        let bShape = b?.shape ?? constantB!.shape
        let a2 = a.shape.count == 1 ? [1] + a.shape : a.shape
        let b2 = bShape.count == 1 ? bShape + [1] : bShape
        let (m, k, n) = (a2[a2.count - 2], a2[a2.count - 1], b2[b2.count - 1])
        (self.m, self.k, self.n) = (m, k, n)
        let aBatch = Array(a2.dropLast(2)), bBatch = Array(b2.dropLast(2))
        let batch = (try? Broadcasting.shape([aBatch, bBatch])) ?? []
        let aStrides = Broadcasting.strides(of: aBatch, Broadcasting.strides(aBatch), broadcastTo: batch)
        let bStrides = Broadcasting.strides(of: bBatch, Broadcasting.strides(bBatch), broadcastTo: batch)
        let count = batch.reduce(1, *)
        if bStrides.allSatisfy({ $0 == 0 }) && aStrides == Broadcasting.strides(batch) {
            foldedM = m * count
            batches = [(0, 0, 0)]
        } else {
            foldedM = m
            var list: [(Int, Int, Int)] = []
            ReferenceInterpreter.forEachIndex(batch) { flat, index in
                let ao = zip(aStrides, index).reduce(0) { $0 + $1.0 * $1.1 } * m * k
                let bo = zip(bStrides, index).reduce(0) { $0 + $1.0 * $1.1 } * k * n
                list.append((ao, bo, flat * m * n))
            }
            batches = list.isEmpty ? [(0, 0, 0)] : list
        }
    }

    var macs: Int { foldedM * n * k * batches.count }
    var weightBytes: Int { constantB?.byteCount ?? 0 }
    var lowering: String { "M=\(foldedM) K=\(k) N=\(n)" + (batches.count > 1 ? " ×\(batches.count) batches" : "") + " (GEMM)" }

    func run(_ frame: Frame) {
        let x = UnsafePointer(frame.float(a))
        let w = constantB.map { UnsafePointer($0.pointer) } ?? UnsafePointer(frame.float(b!))
        let y = frame.float(output)
        guard foldedM > 0 && n > 0 else { return }
        for (ao, bo, yo) in batches {
            if k == 0 {
                (y + yo).update(repeating: 0, count: foldedM * n)
            } else {
                GEMM.sgemm(m: foldedM, n: n, k: k, a: x + ao, lda: k, b: w + bo, ldb: n, c: y + yo, ldc: n)
            }
        }
    }
}
