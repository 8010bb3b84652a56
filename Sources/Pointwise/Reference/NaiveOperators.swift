#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Naive reference versions of the operators around convolutions. Each is written from
/// its definition (PyTorch's documentation), indexes NHWC directly, accumulates in
/// Double, and shares no code with the fast paths.
extension Reference {
    /// Eval-mode BatchNorm: (x − mean) / √(var + eps) · weight + bias, per channel (last axis).
    public static func batchNorm(_ x: Tensor, _ p: BatchNormParameters) -> Tensor {
        var y = x
        let c = p.channels
        for i in 0..<x.count {
            let ch = i % c
            let normalized = (Double(x.scalars[i]) - Double(p.runningMean[ch])) / (Double(p.runningVar[ch]) + Double(p.eps)).squareRoot()
            y.scalars[i] = Float(normalized * Double(p.weight[ch]) + Double(p.bias[ch]))
        }
        return y
    }

    public static func relu(_ x: Tensor) -> Tensor {
        var y = x
        for i in 0..<y.count where y.scalars[i] < 0 { y.scalars[i] = 0 }
        return y
    }

    public static func relu6(_ x: Tensor) -> Tensor {
        var y = relu(x)
        for i in 0..<y.count where y.scalars[i] > 6 { y.scalars[i] = 6 }
        return y
    }

    /// Max pooling, x: [N, H, W, C] -> [N, H', W', C]. Windows start at o·stride − padding; with
    /// `ceilMode` a last partial window is kept if it starts inside the input or the left padding.
    public static func maxPool(_ x: Tensor, kernel: Size2D, stride: Size2D, padding: Size2D = Size2D(0),
                               ceilMode: Bool = false) throws -> Tensor {
        try pool(x, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode) { window, _ in
            window.max()!
        }
    }

    /// Average pooling. The divisor is the window clipped to the padded input when
    /// `countIncludePad`, else the number of input pixels it covers.
    public static func averagePool(_ x: Tensor, kernel: Size2D, stride: Size2D, padding: Size2D = Size2D(0),
                                   ceilMode: Bool = false, countIncludePad: Bool = true) throws -> Tensor {
        try pool(x, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode) { window, paddedCount in
            window.reduce(0, +) / Double(countIncludePad ? paddedCount : window.count)
        }
    }

    private static func pool(_ x: Tensor, kernel: Size2D, stride: Size2D, padding: Size2D, ceilMode: Bool,
                             reduce: ([Double], Int) -> Double) throws -> Tensor {
        let (n, h, w, c) = try x.nhwcDimensions("pool input")
        /// Counts window starts o·s − p: a window that fits the padded input always counts; in
        /// ceil mode a last partial one counts too (o·s ≤ size + 2p − k + s − 1) if it starts in the input.
        func outputSize(_ size: Int, _ k: Int, _ s: Int, _ p: Int) -> Int {
            var count = 0
            while true {
                let start = count * s - p
                let fits = start + k <= size + p
                let partial = ceilMode && count * s <= size + 2 * p - k + s - 1 && start < size
                guard fits || partial else { return count }
                count += 1
            }
        }
        let oh = outputSize(h, kernel.height, stride.height, padding.height)
        let ow = outputSize(w, kernel.width, stride.width, padding.width)
        var y = try Tensor(zeros: [n, oh, ow, c])
        for b in 0..<n { for i in 0..<oh { for j in 0..<ow { for ch in 0..<c {
            var window: [Double] = []
            let (top, left) = (i * stride.height - padding.height, j * stride.width - padding.width)
            let paddedRows = min(top + kernel.height, h + padding.height) - top
            let paddedColumns = min(left + kernel.width, w + padding.width) - left
            for r in top..<(top + kernel.height) where r >= 0 && r < h {
                for s in left..<(left + kernel.width) where s >= 0 && s < w {
                    window.append(Double(x[b, r, s, ch]))
                }
            }
            y[b, i, j, ch] = Float(reduce(window, paddedRows * paddedColumns))
        } } } }
        return y
    }

    /// Mean over H and W: [N, H, W, C] -> [N, 1, 1, C].
    public static func globalAveragePool(_ x: Tensor) throws -> Tensor {
        let (n, h, w, c) = try x.nhwcDimensions("global pool input")
        var y = try Tensor(zeros: [n, 1, 1, c])
        for b in 0..<n { for ch in 0..<c {
            var sum = 0.0
            for i in 0..<h { for j in 0..<w { sum += Double(x[b, i, j, ch]) } }
            y[b, 0, 0, ch] = Float(sum / Double(h * w))
        } }
        return y
    }

    /// x: [N, in] (or [N, 1, 1, in]), weight [out, in], bias [out] -> [N, out].
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        let (out, inFeatures) = (weight.shape[0], weight.shape[1])
        let n = x.shape[0]
        guard x.count == n * inFeatures else {
            throw PointwiseError.shapeMismatch(what: "linear input", expected: "[\(n), \(inFeatures)]", actual: describe(x.shape))
        }
        var y = try Tensor(zeros: [n, out])
        for b in 0..<n { for o in 0..<out {
            var sum = Double(bias?.scalars[o] ?? 0)
            for i in 0..<inFeatures { sum += Double(x.scalars[b * inFeatures + i]) * Double(weight[o, i]) }
            y[b, o] = Float(sum)
        } }
        return y
    }

    /// Concatenation along the last axis (NHWC channels).
    public static func concatChannels(_ parts: [Tensor]) throws -> Tensor {
        let base = Array(parts[0].shape.dropLast())
        let total = parts.reduce(0) { $0 + $1.shape.last! }
        var y = try Tensor(zeros: base + [total])
        let pixels = base.reduce(1, *)
        var offset = 0
        for part in parts {
            let c = part.shape.last!
            guard Array(part.shape.dropLast()) == base else {
                throw PointwiseError.shapeMismatch(what: "concat part", expected: describe(base + [c]), actual: describe(part.shape))
            }
            for p in 0..<pixels { for ch in 0..<c { y.scalars[p * total + offset + ch] = part.scalars[p * c + ch] } }
            offset += c
        }
        return y
    }

    /// Softmax over the last axis, in Double.
    public static func softmax(_ x: Tensor) -> Tensor {
        var y = x
        let k = x.shape.last!
        for r in 0..<(x.count / k) {
            let row = (0..<k).map { Double(x.scalars[r * k + $0]) }
            let largest = row.max()!
            let exps = row.map { exp($0 - largest) }
            let sum = exps.reduce(0, +)
            for i in 0..<k { y.scalars[r * k + i] = Float(exps[i] / sum) }
        }
        return y
    }
}

