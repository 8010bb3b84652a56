import CKernels
import Testing
@testable import Pointwise

/// `pw_gemm_packed` on every ISA against a Double reference, on sizes around its tile boundaries:
/// rows 1…17 and 25 (AVX-512 tiles of up to 8 rows, AVX2 of 6, heights balanced), columns around 8, 16 and 32 (vector, panel
/// and panel pair), K across its blocks of ≤ 256 or 512 (partial sums kept in C between them) and 0.
@Suite("Packed GEMM")
struct PackedGEMMTests {
    static var supported: [KernelISA] { KernelISA.allCases.filter { $0.rawValue <= KernelISA.best.rawValue } }

    /// One call on random operands; C rows `ldc` = n + 3 apart (a slice of a wider tensor), columns
    /// outside `columns` and the padding between rows must stay untouched.
    func check(_ isa: KernelISA, m: Int, n: Int, k: Int, columns: Range<Int>? = nil, bias: Bool, residual: Residual,
               activation: Activation, seed: UInt64) throws {
        let columns = columns ?? 0..<n
        let (lda, ldc) = (k + 1, n + 3)
        let a = try Tensor(randomUniform: [max(m * lda, 1)], seed: seed).scalars
        let b = try Tensor(randomUniform: [max(k * n, 1)], seed: seed + 1).scalars
        let biasValues = try Tensor(randomUniform: [n], seed: seed + 2).scalars
        let sentinel: Float = 12345
        var c = [Float](repeating: sentinel, count: m * ldc)
        let dense = try Tensor(randomUniform: [max(m * n, 1)], seed: seed + 3).scalars
        if residual == .inPlace { for i in 0..<m { for j in 0..<n { c[i * ldc + j] = dense[i * n + j] } } }
        let packed = b.withUnsafeBufferPointer { PackedGEMM.pack($0.baseAddress!, k: k, n: n, ldb: n) }
        c.withUnsafeMutableBufferPointer { cp in
            a.withUnsafeBufferPointer { ap in
                biasValues.withUnsafeBufferPointer { bp in
                    dense.withUnsafeBufferPointer { rp in
                        let (r, ldr): (UnsafePointer<Float>?, Int) = switch residual {
                        case .none: (nil, 0)
                        case .dense: (rp.baseAddress!, n)
                        case .inPlace: (UnsafePointer(cp.baseAddress!), ldc)
                        }
                        PackedGEMM.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, packed: packed.pointer, columns: columns,
                                            c: cp.baseAddress!, ldc: ldc, bias: bias ? bp.baseAddress! : nil, residual: r, ldr: ldr,
                                            activation: activation, isa: isa)
                    }
                }
            }
        }
        let label = "\(isa) m=\(m) n=\(n) k=\(k) columns=\(columns) bias=\(bias) \(residual) \(activation)"
        for i in 0..<m {
            for j in 0..<ldc {
                let got = c[i * ldc + j]
                guard columns.contains(j) else {
                    let untouched = residual == .inPlace && j < n ? dense[i * n + j] : sentinel
                    #expect(got == untouched, "\(label): C[\(i), \(j)] written outside the columns asked for")
                    continue
                }
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let product = Double(a[i * lda + p]) * Double(b[p * n + j])
                    sum += product
                    magnitude += abs(product)
                }
                if bias { sum += Double(biasValues[j]); magnitude += abs(Double(biasValues[j])) }
                if residual != .none { sum += Double(dense[i * n + j]); magnitude += abs(Double(dense[i * n + j])) }
                let expected = Double(activation.apply(Float(sum)))
                // Float32 accumulation of K + 2 terms: |error| ≤ (K + 2)·2⁻²⁴·Σ|terms| (1-Lipschitz
                // activations only here), plus the rounding of the Float32 reference point itself.
                let bound = Double(k + 2) * 0x1p-24 * magnitude + 0x1p-23 * abs(expected) + 1e-30
                #expect(abs(Double(got) - expected) <= bound, "\(label): C[\(i), \(j)] = \(got), expected \(expected)")
            }
        }
    }

    enum Residual { case none, dense, inPlace }

    @Test("sizes around the tiles, panels and K blocks, against Double", arguments: supported)
    func sizes(isa: KernelISA) throws {
        var seed: UInt64 = 1
        for m in [1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 16, 17, 25] {
            for n in [1, 7, 8, 9, 16, 17, 31, 32, 33, 48, 70] {
                for k in [1, 3, 16, 27] {
                    try check(isa, m: m, n: n, k: k, bias: (m + n) % 2 == 0, residual: .none, activation: .identity, seed: seed)
                    seed += 4
                }
            }
        }
        // K across blocks (partial sums in C in between): blocks of ≤ 512 (513 is two, 1100 three).
        // Where a K block of B exceeds 64 KiB (13 × 80 at every K here, 13 × 33 at K = 511, 512 and
        // 1100) rows run in chunks of several tiles and AVX2's first tile prefetches B ahead; 4 rows
        // are one tile, which never does.
        for k in [255, 256, 257, 511, 512, 513, 600, 1100] {
            for (m, n) in [(13, 33), (4, 80), (13, 80)] {
                try check(isa, m: m, n: n, k: k, bias: true, residual: .inPlace, activation: .relu, seed: seed)
                seed += 4
            }
        }
    }

    @Test("bias, dense and in-place residual, activation, column ranges, K = 0", arguments: supported)
    func epilogue(isa: KernelISA) throws {
        var seed: UInt64 = 1000
        for residual in [Residual.none, .dense, .inPlace] {
            for activation in [Activation.identity, .relu, .clip(min: 0, max: 0.5)] {
                try check(isa, m: 14, n: 45, k: 19, bias: true, residual: residual, activation: activation, seed: seed)
                seed += 4
            }
            // Column ranges as the two-thread column split makes them (16-aligned starts).
            for columns in [0..<16, 16..<45, 32..<40, 0..<45] {
                try check(isa, m: 9, n: 45, k: 300, columns: columns, bias: true, residual: residual, activation: .relu, seed: seed)
                seed += 4
            }
            try check(isa, m: 7, n: 20, k: 0, bias: true, residual: residual, activation: .identity, seed: seed)
            seed += 4
        }
    }

    @Test("NaN and infinity propagate as IEEE arithmetic does", arguments: supported)
    func nonFinite(isa: KernelISA) throws {
        let (m, n, k) = (13, 20, 5)
        var a = [Float](repeating: 1, count: m * k)
        a[3 * k + 2] = .nan
        a[5 * k + 1] = .infinity
        let b = [Float](repeating: 1, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        let packed = b.withUnsafeBufferPointer { PackedGEMM.pack($0.baseAddress!, k: k, n: n, ldb: n) }
        a.withUnsafeBufferPointer { ap in
            c.withUnsafeMutableBufferPointer { cp in
                PackedGEMM.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, packed: packed.pointer, columns: 0..<n,
                                    c: cp.baseAddress!, ldc: n, bias: nil, residual: nil, ldr: 0, activation: .relu, isa: isa)
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                let value = c[i * n + j]
                if i == 3 { #expect(value.isNaN, "\(isa) row 3") }
                else if i == 5 { #expect(value == .infinity, "\(isa) row 5") }
                else { #expect(value == Float(k), "\(isa) row \(i)") }
            }
        }
    }

    @Test("transposed packing (ONNX Gemm's transB) equals packing the transpose")
    func transposedPacking() throws {
        let (k, n) = (21, 35)
        let b = try Tensor(randomUniform: [k * n], seed: 7).scalars
        var bt = [Float](repeating: 0, count: k * n)
        for p in 0..<k { for j in 0..<n { bt[j * k + p] = b[p * n + j] } }
        let direct = b.withUnsafeBufferPointer { PackedGEMM.pack($0.baseAddress!, k: k, n: n, ldb: n) }
        let viaTranspose = bt.withUnsafeBufferPointer { PackedGEMM.pack($0.baseAddress!, k: k, n: n, ldb: k, transposed: true) }
        #expect(direct.count == 3 * 16 * k)
        #expect(Array(UnsafeBufferPointer(start: direct.pointer, count: direct.count))
                == Array(UnsafeBufferPointer(start: viaTranspose.pointer, count: viaTranspose.count)))
    }
}
