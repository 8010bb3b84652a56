/// How a kernel sees one of its operands: the value's slot in the frame's pointer table, and
/// where its elements are, as strides (in elements) per logical (NCHW) dimension.
///
/// A dense NHWC feature map [N, C, H, W] has strides [H·W·C, 1, W·C, C]; a channel slice of a wider
/// one (a concat member written in place) keeps the wider map's strides, so its pixel rows are
/// `pixelStride` apart while holding only C values: the GEMM's ldc.
struct Operand: Sendable, Equatable {
    let slot: Int
    let shape: [Int]
    let strides: [Int]
    let layout: Layout

    var count: Int { shape.reduce(1, *) }

    /// NHWC view: batch, height, width, channels, and the distance between pixel rows.
    var nhwc: (n: Int, h: Int, w: Int, c: Int) { (shape[0], shape[2], shape[3], shape[1]) }
    var pixelStride: Int { layout == .nhwc ? strides[3] : 1 }

    /// Whether the elements are contiguous in this operand's own layout (no slice of a wider value).
    var isDense: Bool { strides == Operand.strides(shape, layout) }

    /// Whether the elements are contiguous in logical (NCHW) order: natural and dense, or an NHWC
    /// map whose H·W or C is 1 (the same bytes either way).
    var isDenseNatural: Bool {
        let natural = Broadcasting.strides(shape)
        return zip(zip(shape, strides), natural).allSatisfy { $0.0.0 == 1 || $0.0.1 == $0.1 }
    }

    /// Dense strides of `shape` in `layout`.
    static func strides(_ shape: [Int], _ layout: Layout) -> [Int] {
        guard layout == .nhwc else { return Broadcasting.strides(shape) }
        let (c, h, w) = (shape[1], shape[2], shape[3])
        return [h * w * c, 1, w * c, c]
    }
}

/// What a kernel runs on: each value's memory, this step's workspace, and the ISA to use
/// (read on the calling thread: task-local overrides do not reach the pool's workers).
struct Frame {
    let pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let workspace: UnsafeMutableRawPointer?
    let isa: KernelISA

    @inline(__always)
    func float(_ operand: Operand) -> UnsafeMutablePointer<Float> {
        pointers[operand.slot].unsafelyUnwrapped.assumingMemoryBound(to: Float.self)
    }

    @inline(__always)
    func floatWorkspace() -> UnsafeMutablePointer<Float> {
        workspace.unsafelyUnwrapped.assumingMemoryBound(to: Float.self)
    }
}

/// One step of an execution plan: an operator with its weights packed and its shapes fixed,
/// created once when the plan is compiled and immutable after, so one plan runs from many
/// threads, each with its own `ExecutionContext` (XNNPACK's create → reshape → run, with
/// reshape done by compiling a plan per shape).
protocol Kernel: Sendable {
    /// Bytes of scratch memory one run needs (im2col rows), planned in the arena for this step only.
    var workspaceBytes: Int { get }
    /// Runs on the memory `frame` gives. Allocates nothing.
    func run(_ frame: Frame)
    /// For summaries: how this step is computed (the GEMMs it lowers to, or the kernel).
    var lowering: String { get }
    /// Multiply-accumulates per run (convolutions and matrix products; 0 for the rest).
    var macs: Int { get }
    /// Bytes of packed weights and constants this kernel owns.
    var weightBytes: Int { get }
}

extension Kernel {
    var workspaceBytes: Int { 0 }
    var macs: Int { 0 }
    var weightBytes: Int { 0 }
}

/// An immutable, owned block of Float: packed weights, biases, constants. Allocated once when a
/// plan is compiled; `pointer` is stable for its lifetime.
///
/// Aligned to a cache line: the packed GEMM loads its weight panels as 64-byte vectors, and
/// malloc's 16-byte alignment made every one of them straddle two lines (49×1024×1024 on AMD
/// EPYC, AVX-512: 0.93 → 1.04 ms).
final class FloatBuffer: @unchecked Sendable {
    static let alignment = 64

    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = Self.allocate(count)
        _ = UnsafeMutableBufferPointer(start: pointer, count: count).initialize(from: values)
    }

    /// `count` zeros.
    init(count: Int) {
        self.count = count
        pointer = Self.allocate(count)
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        LargeAllocation.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: alignment)
            .bindMemory(to: Float.self, capacity: max(count, 1))
    }

    var byteCount: Int { count * MemoryLayout<Float>.stride }

    deinit { pointer.deallocate() }
}

extension Optional where Wrapped == FloatBuffer {
    var pointer: UnsafePointer<Float>? { self.map { UnsafePointer($0.pointer) } }
}
