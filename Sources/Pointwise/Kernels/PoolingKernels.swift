import CKernels

/// MaxPool / AveragePool on NHWC: x [N, H, W, C] (pixel rows ldx apart) -> y [N, H', W', C]
/// (pixel rows ldy apart), C kernels vectorised across channels, output rows split across threads.
final class PoolKernel: Kernel, ParallelWork {
    let isMax: Bool
    let countIncludePad: Bool
    let input: Operand
    let output: Operand
    let window: WindowGeometry

    init(isMax: Bool, countIncludePad: Bool, window: WindowGeometry, input: Operand, output: Operand) {
        self.isMax = isMax
        self.countIncludePad = countIncludePad
        self.window = window
        self.input = input
        self.output = output
    }

    var lowering: String {
        (isMax ? "max" : "average") + " pool \(window.kernel)/\(window.stride.height)" + " (C kernel)"
    }

    func run(_ frame: Frame) {
        let (n, h, w, c) = input.nhwc
        let (oh, ow) = (output.nhwc.h, output.nhwc.w)
        let geometry = pw_pool_geometry(
            batch: n, height: h, width: w, channels: c, ldx: input.pixelStride,
            kernel_h: window.kernel.height, kernel_w: window.kernel.width,
            stride_h: window.stride.height, stride_w: window.stride.width,
            dilation_h: window.dilation.height, dilation_w: window.dilation.width,
            pad_top: window.height.padBegin, pad_left: window.width.padBegin,
            pad_bottom: window.height.padEnd, pad_right: window.width.padEnd,
            out_h: oh, out_w: ow, ldy: output.pixelStride)
        let rows = n * oh
        let work = rows * ow * c * window.kernel.height * window.kernel.width
        let parts = ThreadPool.parts(rows: rows, macs: 4 * work, minimumRows: 2)
        var job = Job(geometry: geometry, x: frame.float(input), y: frame.float(output), isa: frame.isa, rows: rows)
        withUnsafePointer(to: &job) { ThreadPool.run(parts: parts, self, context: UnsafeRawPointer($0)) }
    }

    private struct Job {
        let geometry: pw_pool_geometry
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let isa: KernelISA
        let rows: Int
    }

    func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer) {
        let job = context.assumingMemoryBound(to: Job.self)
        let band = ThreadPool.range(part, of: parts, count: job.pointee.rows)
        guard !band.isEmpty else { return }
        let g = (context + MemoryLayout<Job>.offset(of: \Job.geometry)!).assumingMemoryBound(to: pw_pool_geometry.self)
        if isMax {
            pw_max_pool(job.pointee.isa.kernelValue, g, job.pointee.x, job.pointee.y, band.lowerBound, band.upperBound)
        } else {
            pw_average_pool(job.pointee.isa.kernelValue, g, countIncludePad ? 1 : 0, job.pointee.x, job.pointee.y,
                            band.lowerBound, band.upperBound)
        }
    }
}

/// GlobalAveragePool / GlobalMaxPool on NHWC: x [N, H, W, C] -> y [N, 1, 1, C], one C kernel call per image.
final class GlobalPoolKernel: Kernel {
    let isMax: Bool
    let input: Operand
    let output: Operand

    init(isMax: Bool, input: Operand, output: Operand) {
        self.isMax = isMax
        self.input = input
        self.output = output
    }

    var lowering: String { (isMax ? "global max" : "global average") + " (C kernel)" }

    func run(_ frame: Frame) {
        let (n, h, w, c) = input.nhwc
        let x = frame.float(input), y = frame.float(output)
        for image in 0..<n {
            pw_global_pool(frame.isa.kernelValue, isMax ? PW_GLOBAL_MAX : PW_GLOBAL_AVERAGE, x + image * input.strides[0],
                           h * w, c, input.pixelStride, y + image * output.strides[0])
        }
    }
}

/// LRN across channels on NHWC pixel rows (C kernel).
final class LRNKernel: Kernel, ParallelWork {
    let attributes: LRNAttributes
    let input: Operand
    let output: Operand

    init(_ attributes: LRNAttributes, input: Operand, output: Operand) {
        self.attributes = attributes
        self.input = input
        self.output = output
    }

    var lowering: String { "LRN size \(attributes.size) (C kernel)" }

    func run(_ frame: Frame) {
        let (n, h, w, c) = input.nhwc
        let rows = n * h * w
        let parts = ThreadPool.parts(rows: rows, macs: rows * c * 8, minimumRows: 16)
        var job = RowJob(x: frame.float(input), y: frame.float(output), isa: frame.isa, rows: rows)
        withUnsafePointer(to: &job) { ThreadPool.run(parts: parts, self, context: UnsafeRawPointer($0)) }
    }

    func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer) {
        let job = context.assumingMemoryBound(to: RowJob.self).pointee
        let band = ThreadPool.range(part, of: parts, count: job.rows)
        guard !band.isEmpty else { return }
        let a = attributes
        pw_lrn(job.isa.kernelValue, band.count, input.nhwc.c, job.x + band.lowerBound * input.pixelStride, input.pixelStride,
               job.y + band.lowerBound * output.pixelStride, output.pixelStride, a.size, a.alpha, a.beta, a.bias)
    }
}

/// Softmax over contiguous rows: the last axis of a dense natural tensor, or (opset < 13) the
/// tensor flattened to 2-D at the axis. Other axes: rows `inner` apart, element by element.
final class SoftmaxKernel: Kernel {
    let input: Operand
    let output: Operand
    /// Groups of `length` elements `inner` apart; `outer` groups per block of length·inner.
    let (outer, length, inner): (Int, Int, Int)

    init(axis: Int, flattensTo2D: Bool, input: Operand, output: Operand) {
        self.input = input
        self.output = output
        let shape = input.shape
        if flattensTo2D {
            (outer, length, inner) = (shape[..<axis].reduce(1, *), shape[axis...].reduce(1, *), 1)
        } else {
            (outer, length, inner) = (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
        }
    }

    var lowering: String { inner == 1 ? "softmax rows (C kernel)" : "softmax over a strided axis" }

    func run(_ frame: Frame) {
        let x = frame.float(input), y = frame.float(output)
        if inner == 1 {
            pw_softmax_rows(frame.isa.kernelValue, outer, length, x, length, y, length)
            return
        }
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var largest = -Float.infinity
                var sawNaN = false
                for k in 0..<length {
                    let v = x[base + k * inner]
                    if v.isNaN { sawNaN = true }
                    largest = max(largest, v)
                }
                var total: Double = 0
                for k in 0..<length {
                    let e = sawNaN ? Float.nan : (x[base + k * inner] - largest).exp()
                    y[base + k * inner] = e
                    total += Double(e)
                }
                let scale = Float(1 / total)
                for k in 0..<length { y[base + k * inner] *= scale }
            }
        }
    }
}

/// A row-split call's pointers (pixel rows), on the caller's stack while the parts run.
struct RowJob {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let isa: KernelISA
    let rows: Int
}
