import Testing
@testable import Pointwise

@Suite("Tensor")
struct TensorTests {
    @Test("negative and overflowing shapes are rejected with the offending value; rank 0 is a scalar, 0 an empty axis")
    func badShapes() throws {
        expectError("dimension 3", "≥ 0", "got -2") { _ = try Tensor(zeros: [1, 2, 2, -2]) }
        expectError("element count of shape [4294967296, 4294967296, 3, 224]", "at most 1099511627776") {
            _ = try Tensor(zeros: [4_294_967_296, 4_294_967_296, 3, 224])
        }
        expectError("element count of shape [9223372036854775807, 2]") { _ = try Tensor(zeros: [Int.max, 2]) }
        #expect(try Tensor(zeros: []).count == 1)
        #expect(try Tensor(zeros: [3, 0, 2]).count == 0)
        expectError("element count for shape [2, 3]", "expected 6, got 5") {
            _ = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
        }
    }

    @Test("seeded random tensors repeat exactly and stay in range")
    func seeded() throws {
        let a = try Tensor(randomUniform: [3, 5, 7, 2], in: -0.5...0.25, seed: 42)
        let b = try Tensor(randomUniform: [3, 5, 7, 2], in: -0.5...0.25, seed: 42)
        let c = try Tensor(randomUniform: [3, 5, 7, 2], in: -0.5...0.25, seed: 43)
        #expect(a == b)
        #expect(a != c)
        #expect(a.scalars.allSatisfy { $0 >= -0.5 && $0 <= 0.25 })
        // Not degenerate: values spread over the range.
        #expect(a.scalars.min()! < -0.4 && a.scalars.max()! > 0.15)
    }

    @Test("NCHW → NHWC → NCHW is the identity and moves each element where PyTorch expects it")
    func layoutRoundTrip() throws {
        let (n, c, h, w) = (2, 3, 4, 5)
        let nchw = try Tensor(shape: [n, c, h, w], scalars: (0..<(n * c * h * w)).map(Float.init))
        let nhwc = try Tensor(nchw: nchw)
        #expect(nhwc.shape == [n, h, w, c])
        for b in 0..<n { for ch in 0..<c { for y in 0..<h { for x in 0..<w {
            #expect(nhwc[b, y, x, ch] == nchw[b, ch, y, x])
        } } } }
        #expect(try nhwc.nchw() == nchw)
    }

    @Test("layout conversion rejects tensors that are not rank 4")
    func layoutRank() throws {
        let matrix = try Tensor(zeros: [3, 4])
        expectError("NCHW tensor rank", "expected 4, got 2") { _ = try Tensor(nchw: matrix) }
        expectError("NHWC tensor rank", "got 2") { _ = try matrix.nchw() }
    }
}
