/// Conversion between NCHW (PyTorch, ONNX) and NHWC (Pointwise's internal layout).
extension Tensor {
    /// Reorders an NCHW tensor ([N, C, H, W]) into NHWC ([N, H, W, C]).
    public init(nchw source: Tensor) throws {
        guard source.rank == 4 else {
            throw PointwiseError.shapeMismatch(what: "NCHW tensor rank", expected: "4", actual: "\(source.rank)")
        }
        let (n, c, h, w) = (source.shape[0], source.shape[1], source.shape[2], source.shape[3])
        var result = try Tensor(zeros: [n, h, w, c])
        Self.permute(source.scalars, into: &result.scalars, outer: n, rows: c, columns: h * w)
        self = result
    }

    /// This NHWC tensor reordered into NCHW ([N, C, H, W]).
    public func nchw() throws -> Tensor {
        let (n, h, w, c) = try nhwcDimensions("NHWC tensor")
        var result = try Tensor(zeros: [n, c, h, w])
        Self.permute(scalars, into: &result.scalars, outer: n, rows: h * w, columns: c)
        return result
    }

    /// For each of `outer` blocks, transposes a rows×columns matrix into columns×rows.
    private static func permute(_ source: [Float], into destination: inout [Float], outer: Int, rows: Int, columns: Int) {
        source.withUnsafeBufferPointer { src in
            destination.withUnsafeMutableBufferPointer { dst in
                for block in 0..<outer {
                    let base = block * rows * columns
                    for r in 0..<rows {
                        for col in 0..<columns {
                            dst[base + col * rows + r] = src[base + r * columns + col]
                        }
                    }
                }
            }
        }
    }
}
