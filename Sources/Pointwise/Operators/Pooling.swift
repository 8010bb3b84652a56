import CKernels

/// Output size of a pooling window along one axis, PyTorch's rule:
/// out = ⌊(size + 2·pad − kernel) / stride⌋ + 1, or with `ceilMode` the ceiling, less one
/// if the last window would start inside the right padding (it must start in the input or left padding).
func pooledSize(_ size: Int, kernel: Int, stride: Int, padding: Int, ceilMode: Bool) -> Int {
    let span = size + 2 * padding - kernel
    var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
    if ceilMode && (out - 1) * stride >= size + padding { out -= 1 }
    return out
}

/// Max or average pooling over KH×KW windows on NHWC, PyTorch's `MaxPool2d` / `AvgPool2d`.
/// x: [N, H, W, C] -> [N, H', W', C]
public final class Pool2D: Layer, ParallelWork {
    public enum Mode: Sendable, Equatable {
        case max
        /// `countIncludePad`: divide by the window size including padding (PyTorch's default), or by
        /// the number of input pixels it covers.
        case average(countIncludePad: Bool)
    }

    public let mode: Mode
    public let kernel: Size2D
    public let stride: Size2D
    /// Symmetric padding (PyTorch's pools pad both sides equally; at most half the kernel).
    public let padding: Size2D
    public let ceilMode: Bool
    public var name: String
    private var shapes = ShapeCache()

    /// `stride` defaults to the kernel size, as in PyTorch.
    public init(_ mode: Mode, kernel: Size2D, stride: Size2D? = nil, padding: Size2D = Size2D(0),
                ceilMode: Bool = false, name: String = "") throws {
        let stride = stride ?? kernel
        for (label, value, minimum) in [("kernel height", kernel.height, 1), ("kernel width", kernel.width, 1),
                                        ("stride height", stride.height, 1), ("stride width", stride.width, 1),
                                        ("padding height", padding.height, 0), ("padding width", padding.width, 0)]
        where value < minimum {
            throw PointwiseError.invalidArgument(name: "pool \(label)", value: "\(value)", requirement: "≥ \(minimum)")
        }
        guard 2 * padding.height <= kernel.height, 2 * padding.width <= kernel.width else {
            throw PointwiseError.invalidArgument(name: "pool padding", value: "\(padding)",
                                                 requirement: "at most half the kernel \(kernel)")
        }
        self.mode = mode
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.ceilMode = ceilMode
        self.name = name
    }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        if let output = shapes.cached(shape) { return output }
        let (n, h, w, c) = try nhwc(shape, for: "pool")
        guard h + 2 * padding.height >= kernel.height, w + 2 * padding.width >= kernel.width else {
            throw PointwiseError.shapeMismatch(what: "padded input size for pool kernel \(kernel)",
                                               expected: "at least \(kernel)",
                                               actual: "\(h + 2 * padding.height)x\(w + 2 * padding.width)")
        }
        return [n, pooledSize(h, kernel: kernel.height, stride: stride.height, padding: padding.height, ceilMode: ceilMode),
                pooledSize(w, kernel: kernel.width, stride: stride.width, padding: padding.width, ceilMode: ceilMode), c]
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let output = shapes.cached(shape) { return output }
        return shapes.remember(shape, try outputShape(forInput: shape))
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int) {
        let (input, output) = (shapes.input!, shapes.output)
        let (h, w, c) = (input[1], input[2], input[3])
        guard case .average(let countIncludePad) = mode else {
            // Max: C kernel, 16 channels at a time with AVX-512, output rows split across threads.
            let rows = output[0] * output[1]
            maxJob = MaxJob(x: x, y: y, ldy: ldy, isa: .current)
            ThreadPool.run(parts: ThreadPool.parts(rows: rows, macs: 4 * rows * output[2] * c * kernel.height * kernel.width,
                                                   minimumRows: 2), self)
            maxJob = nil
            return
        }
        for n in 0..<output[0] {
            for oh in 0..<output[1] {
                // Window rows, clipped to the padded input (for the divisor) and to the input.
                let padStart = oh * stride.height - padding.height
                let padEnd = min(padStart + kernel.height, h + padding.height)
                let (rowStart, rowEnd) = (max(padStart, 0), min(padEnd, h))
                for ow in 0..<output[2] {
                    let padLeft = ow * stride.width - padding.width
                    let padRight = min(padLeft + kernel.width, w + padding.width)
                    let (columnStart, columnEnd) = (max(padLeft, 0), min(padRight, w))
                    let out = y + ((n * output[1] + oh) * output[2] + ow) * ldy
                    out.update(repeating: 0, count: c)
                    for ih in rowStart..<rowEnd {
                        for iw in columnStart..<columnEnd {
                            let pixel = x + ((n * h + ih) * w + iw) * c
                            for ch in 0..<c { out[ch] += pixel[ch] }
                        }
                    }
                    let count = countIncludePad ? (padEnd - padStart) * (padRight - padLeft)
                                                : (rowEnd - rowStart) * (columnEnd - columnStart)
                    let scale = 1 / Float(count)
                    for ch in 0..<c { out[ch] *= scale }
                }
            }
        }
    }

    /// One max-pool call's pointers, stored while its parts run (see `ThreadPool.run`).
    private struct MaxJob {
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let ldy: Int
        let isa: KernelISA
    }
    private var maxJob: MaxJob?

    func runPart(_ part: Int, of parts: Int) {
        let (job, input, output) = (maxJob!, shapes.input!, shapes.output)
        let rows = ThreadPool.range(part, of: parts, count: output[0] * output[1])
        pw_max_pool(job.isa.kernelValue, job.x, input[1], input[2], input[3], kernel.height, kernel.width,
                    stride.height, stride.width, padding.height, padding.width, job.y, output[1], output[2], job.ldy,
                    rows.lowerBound, rows.upperBound)
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        let label = (mode == .max ? "MaxPool " : "AvgPool ") + "\(kernel)/\(stride.height)" + (ceilMode ? " ceil" : "")
        rows.append(LayerSummary(name: name, kind: .pool(label), outputShape: try outputShape(forInput: inputShape),
                                 parameters: 0, weights: 0, macs: 0, gemm: ""))
    }
}

/// Global average pooling (`AdaptiveAvgPool2d(1)`): x: [N, H, W, C] -> [N, 1, 1, C].
public final class GlobalAveragePool: Layer {
    public var name: String
    private var shapes = ShapeCache()

    public init(name: String = "") { self.name = name }

    public func outputShape(forInput shape: [Int]) throws -> [Int] {
        let (n, _, _, c) = try nhwc(shape, for: "global average pool")
        return [n, 1, 1, c]
    }

    public func prepare(forInput shape: [Int]) throws -> [Int] {
        if let output = shapes.cached(shape) { return output }
        return shapes.remember(shape, try outputShape(forInput: shape))
    }

    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputRowStride ldy: Int) {
        let input = shapes.input!
        let (pixels, c) = (input[1] * input[2], input[3])
        let scale = 1 / Float(pixels)
        for n in 0..<input[0] {
            let out = y + n * ldy
            out.update(repeating: 0, count: c)
            for p in 0..<pixels {
                let pixel = x + (n * pixels + p) * c
                for ch in 0..<c { out[ch] += pixel[ch] }
            }
            for ch in 0..<c { out[ch] *= scale }
        }
    }

    public func summarize(inputShape: [Int], into rows: inout [LayerSummary]) throws {
        rows.append(LayerSummary(name: name, kind: .pool("GlobalAvgPool"), outputShape: try outputShape(forInput: inputShape),
                                 parameters: 0, weights: 0, macs: 0, gemm: ""))
    }
}
