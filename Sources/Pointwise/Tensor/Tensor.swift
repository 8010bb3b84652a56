/// A dense, row-major array of `Float` with a shape.
///
/// Activations are rank 4 and laid out **NHWC** ([batch, height, width, channels]):
/// in that layout a feature map is already the (N·H·W)×C row-major matrix a
/// 1x1 convolution multiplies, with no copy. Weights keep PyTorch's layouts
/// (convolution OIHW, linear [out, in]). Use `Tensor(nchw:)` / `nchw()` at the
/// edges where PyTorch or ONNX data (NCHW) comes in or goes out.
///
/// `scalars` is an `Array`, so `Tensor` has value semantics. Operators write into
/// an output you pass `inout` (`Conv2D.forward(_:into:)`); as long as that output
/// is not shared, writing to it never copies.
public struct Tensor: Sendable, Equatable {
    /// Extent of each dimension, outermost first; every extent is ≥ 0. Rank 0 is a scalar.
    public let shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    /// Wraps existing values. Throws when a dimension is negative or the count does not match.
    public init(shape: [Int], scalars: [Float]) throws {
        let expected = try Self.elementCount(of: shape)
        guard scalars.count == expected else {
            throw PointwiseError.shapeMismatch(what: "element count for shape \(describe(shape))",
                                               expected: "\(expected)", actual: "\(scalars.count)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// All zeros.
    public init(zeros shape: [Int]) throws {
        let count = try Self.elementCount(of: shape)
        self.shape = shape
        self.scalars = Array(repeating: 0, count: count)
    }

    /// Uniform values in `range`, reproducible from `seed` on every platform.
    public init(randomUniform shape: [Int], in range: ClosedRange<Float> = -1...1, seed: UInt64) throws {
        let count = try Self.elementCount(of: shape)
        var generator = SeededGenerator(seed: seed)
        self.shape = shape
        self.scalars = (0..<count).map { _ in generator.nextFloat(in: range) }
    }

    /// Number of elements.
    public var count: Int { scalars.count }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Element at a multi-index (bounds-checked; for tests and examples, not hot paths).
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) has rank \(index.count), tensor has rank \(shape.count)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "index \(index) out of bounds for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }

    /// Largest element count a tensor may have: 2⁴⁰ (4 TiB of Float), far beyond any memory, so a
    /// product that overflows, or a count no allocation could hold, is an error and not a trap.
    static let maximumElementCount = 1 << 40

    /// The product of `shape`'s dimensions; throws for a negative dimension or a product above
    /// `maximumElementCount` (checked without overflow). The product of the non-zero dimensions is
    /// bounded too: an empty tensor [0, 2⁶², 4] has no elements, but its strides would overflow.
    static func elementCount(of shape: [Int]) throws -> Int {
        var count = 1
        var extents = 1  // the product with zeros counted as 1: what strides reach
        for (index, extent) in shape.enumerated() {
            guard extent >= 0 else {
                throw PointwiseError.invalidArgument(name: "dimension \(index) of shape \(describe(shape))",
                                                     value: "\(extent)", requirement: "≥ 0")
            }
            let (product, overflow) = extents.multipliedReportingOverflow(by: max(extent, 1))
            guard !overflow, product <= maximumElementCount else {
                throw PointwiseError.invalidArgument(name: "element count of shape \(describe(shape))",
                                                     value: "more than \(maximumElementCount)" + (shape.contains(0) ? " (zero dimensions counted as 1)" : ""),
                                                     requirement: "at most \(maximumElementCount) (2^40)")
            }
            extents = product
            count *= extent  // ≤ extents
        }
        return count
    }
}

extension Tensor {
    /// Throws unless `scalars` holds exactly the elements of `shape`: `scalars` is settable, so a
    /// caller can break that, and the engine hands its base address to kernels that trust the shape.
    func checkElementCount(_ role: @autoclosure () -> String) throws {  // (autoclosure: no string built per forward)
        let expected = shape.reduce(1, *)  // cannot overflow: `shape` was checked when the tensor was made
        guard scalars.count == expected else {
            throw PointwiseError.shapeMismatch(what: "\(role()): element count of a tensor of shape \(describe(shape))",
                                               expected: "\(expected)", actual: "\(scalars.count)")
        }
    }

    /// Batch, height, width and channels of a rank-4 NHWC tensor; throws naming `role` otherwise.
    func nhwcDimensions(_ role: String) throws -> (n: Int, h: Int, w: Int, c: Int) {
        guard shape.count == 4 else {
            throw PointwiseError.shapeMismatch(what: "\(role) rank", expected: "4 ([N, H, W, C])",
                                               actual: "\(shape.count) (\(describe(shape)))")
        }
        return (shape[0], shape[1], shape[2], shape[3])
    }
}
