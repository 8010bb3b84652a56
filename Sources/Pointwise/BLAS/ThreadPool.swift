import CKernels

/// The engine's own threads. Pointwise runs OpenBLAS single-threaded and splits each operator
/// across these threads itself (rows of the output, or columns when there are few rows), so that
/// im2col, the GEMM and the epilogue of one part run on one core with its data in cache, and no
/// thread waits on another mid-layer. (OpenBLAS's own threading also mallocs a 512 KiB job array
/// per call in Debian's 0.3.21 build.)
///
/// Concurrency: `run` may be called from several threads at once. One caller's task uses the
/// workers; another caller that finds them busy runs all of its parts itself, in order: the same
/// parts, so bit-identical results, only not in parallel. `resize` may run at any time: a task
/// in flight keeps the threads it started with and every task runs all of its parts.
/// Work split into parts that `ThreadPool.run` runs on several threads: an immutable object whose
/// `runPart` reads the call's state from `context`.
protocol ParallelWork: AnyObject {
    func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer)
}

enum ThreadPool {
    /// Threads an operator may use, the caller included.
    static var size: Int {
        _ = BLASRuntime.shared  // sizes the pool from OpenBLAS's thread count on first use
        return Int(pw_pool_size())
    }

    static func resize(_ threads: Int) -> Int { Int(pw_pool_resize(threads)) }

    /// At most this many threads for operators run in the current task (tests pin it to check
    /// the exact GEMM calls an operator makes on one thread, or on two).
    @TaskLocal static var limit: Int?

    /// The threads operators in the current task may use: the pool's size, or less under `limit`.
    static var available: Int { min(size, limit ?? .max) }

    /// How many parts to split `rows` rows of `macs` multiply-accumulates into: one per thread,
    /// but at least `minimumRows` rows and 1 M MACs per part, below which waking a thread costs more.
    static func parts(rows: Int, macs: Int, minimumRows: Int = 16) -> Int {
        max(1, min(available, rows / minimumRows, macs / 1_000_000))
    }

    /// Runs `work.runPart(part, of: parts, context:)` for part in 0..<parts, part 0 on this thread,
    /// and returns when all are done. Allocates nothing: the work is an object (an immutable kernel)
    /// and the call's state is a struct on the caller's stack that `context` points to (a closure
    /// would have its context moved to the heap once it crosses into C). A part must not call `run`
    /// itself (it would run its parts serially: correct, but slow).
    static func run(parts: Int, _ work: ParallelWork, context: UnsafeRawPointer) {
        if parts <= 1 {
            work.runPart(0, of: 1, context: context)
            return
        }
        // A GEMM trace being recorded (tests) follows the parts onto the worker threads.
        var task = Task(work: work, context: context, parts: parts, trace: GEMMTrace.current)
        withUnsafeMutablePointer(to: &task) { pointer in
            pw_pool_run(parts, { taskPointer, part in
                let task = taskPointer!.assumingMemoryBound(to: Task.self).pointee
                if let trace = task.trace {
                    GEMMTrace.$current.withValue(trace) { task.work.runPart(Int(part), of: task.parts, context: task.context) }
                } else {
                    task.work.runPart(Int(part), of: task.parts, context: task.context)
                }
            }, pointer)
        }
    }

    /// What the C pool hands back to each part; the caller keeps `work` and `trace` alive.
    private struct Task {
        unowned(unsafe) let work: ParallelWork
        let context: UnsafeRawPointer
        let parts: Int
        unowned(unsafe) let trace: GEMMTrace?
    }

    /// The range of `part` when `count` items are split into `parts` nearly equal contiguous
    /// ranges, each starting at a multiple of `alignment`.
    static func range(_ part: Int, of parts: Int, count: Int, alignment: Int = 1) -> Range<Int> {
        let units = (count + alignment - 1) / alignment
        let start = min(count, units * part / parts * alignment)
        let end = min(count, units * (part + 1) / parts * alignment)
        return start..<end
    }
}
