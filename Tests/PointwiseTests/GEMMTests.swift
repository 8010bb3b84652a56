import Testing
@testable import Pointwise

@Suite("GEMM wrapper")
struct GEMMTests {
    /// Naive row-major product with Double accumulation, honouring leading dimensions.
    func naiveProduct(m: Int, n: Int, k: Int, a: [Float], lda: Int, b: [Float], ldb: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k {
            c[i * n + j] += Double(a[i * lda + p]) * Double(b[p * ldb + j])
        } } }
        return c
    }

    @Test("multiply passes M, N, K and leading dimensions through unchanged and matches a naive product",
          arguments: [(1, 1, 1), (7, 5, 3), (17, 33, 65), (64, 16, 256)])
    func exactCall(m: Int, n: Int, k: Int) throws {
        let (lda, ldb, ldc) = (k + 3, n + 1, n + 2)
        let a = try Tensor(randomUniform: [m * lda], seed: 1).scalars
        let b = try Tensor(randomUniform: [k * ldb], seed: 2).scalars
        var c = [Float](repeating: -7, count: m * ldc)
        let (_, calls) = try GEMMTrace.record {
            try a.withUnsafeBufferPointer { a in try b.withUnsafeBufferPointer { b in try c.withUnsafeMutableBufferPointer { c in
                try GEMM.multiply(m: m, n: n, k: k, a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb,
                                  c: c.baseAddress!, ldc: ldc)
            } } }
        }
        #expect(calls.count == 1)
        #expect(calls.first.map { [$0.m, $0.n, $0.k, $0.lda, $0.ldb, $0.ldc] } == [m, n, k, lda, ldb, ldc])
        let expected = naiveProduct(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb)
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n { worst = max(worst, abs(Double(c[i * ldc + j]) - expected[i * n + j])) }
            // Columns past n in each output row are outside the matrix and untouched.
            for j in n..<ldc { #expect(c[i * ldc + j] == -7) }
        }
        let scale = expected.map(abs).max()!
        #expect(worst / scale <= float32Tolerance)
    }

    @Test("bad sizes and leading dimensions throw before reaching BLAS")
    func badArguments() throws {
        let buffer = [Float](repeating: 0, count: 64)
        var out = [Float](repeating: 0, count: 64)
        func call(m: Int = 2, n: Int = 2, k: Int = 2, lda: Int = 2, ldb: Int = 2, ldc: Int = 2) throws {
            try buffer.withUnsafeBufferPointer { p in try out.withUnsafeMutableBufferPointer { c in
                try GEMM.multiply(m: m, n: n, k: k, a: p.baseAddress!, lda: lda, b: p.baseAddress!, ldb: ldb,
                                  c: c.baseAddress!, ldc: ldc)
            } }
        }
        expectError("GEMM m must be ≥ 1, got 0") { try call(m: 0) }
        expectError("GEMM k must be ≥ 1, got -1") { try call(k: -1) }
        expectError("GEMM lda must be ≥ 4, got 3") { try call(k: 4, lda: 3, ldb: 2) }
        expectError("GEMM ldc must be ≥ 3, got 2") { try call(n: 3, ldb: 3, ldc: 2) }
    }

    @Test("a classifier Gemm at batch 1 (M = 1, B 4 MB) on two threads: each thread streams half of B's columns")
    func classifierSplitsColumns() throws {
        guard KernelISA.best != .portable else { return }  // the packed GEMM runs on AVX2 and AVX-512 only
        ensureTwoThreads()
        let (k, n) = (1024, 1000)
        let b = GraphBuilder(name: "classifier")
        let x = b.input("x", shape: [1, .fixed(k)])
        let weight = try weights([n, k], seed: 3), bias = try weights([n], seed: 4)
        b.output(b.node(.gemm(GemmAttributes(transposeB: true)), [x, b.constant("w", weight), b.constant("b", bias)], name: "fc")[0])
        let session = try InferenceSession(try b.build())
        let input = try Tensor(randomUniform: [1, k], seed: 5)
        let (one, _) = try recordGEMMs(threads: 1) { try session(input) }
        let (two, calls) = try recordGEMMs(threads: 2) { try session(input) }
        // 63 panels of 16 columns: 31 and 32.
        #expect(calls.map { [$0.m, $0.k, $0.n] }.sorted { $0[2] < $1[2] } == [[1, k, 496], [1, k, 504]])
        #expect(one == two, "a column split does not change any column's arithmetic")
        // Float32 accumulation of K + 1 terms: |error| ≤ (K + 1)·2⁻²⁴·Σ|terms|.
        for j in 0..<n {
            var exact = Double(bias.scalars[j]), magnitude = abs(exact)
            for p in 0..<k {
                let term = Double(input.scalars[p]) * Double(weight.scalars[j * k + p])
                exact += term
                magnitude += abs(term)
            }
            #expect(abs(Double(two.scalars[j]) - exact) <= Double(k + 1) * 0x1p-24 * magnitude + 1e-30, "column \(j)")
        }
    }
}
