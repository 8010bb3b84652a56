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
}
