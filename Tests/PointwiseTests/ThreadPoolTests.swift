import Foundation
import Synchronization
import Testing
@testable import Pointwise

/// The pool's contract with several callers and with resizing (ThreadPool.swift): every call runs
/// each of its parts exactly once and returns only when all are done, whoever runs them.
@Suite("Thread pool")
struct ThreadPoolTests {
    /// Counts, per caller and part, how often the part ran: slot caller·parts + part. Parts of one
    /// call write distinct slots; a caller's next call starts after the pool reported this one done.
    final class CountingWork: ParallelWork, @unchecked Sendable {  // parts write distinct slots (see above)
        let counts: UnsafeMutablePointer<Int>
        /// Tasks each caller made (slot caller, written by that caller when it is done).
        let tasks: UnsafeMutablePointer<Int>
        let parts: Int
        init(callers: Int, parts: Int) {
            self.parts = parts
            counts = .allocate(capacity: callers * parts)
            counts.initialize(repeating: 0, count: callers * parts)
            tasks = .allocate(capacity: callers)
            tasks.initialize(repeating: 0, count: callers)
        }
        deinit {
            counts.deallocate()
            tasks.deallocate()
        }
        func runPart(_ part: Int, of parts: Int, context: UnsafeRawPointer) {
            let caller = context.load(as: Int.self)
            counts[caller * self.parts + part] += 1
        }
    }

    /// Runs at least `tasks` tasks of `parts` parts from each of `callers` threads of their own (not a
    /// dispatch queue, which on 2 cores may run the callers one after another), calling `meanwhile`
    /// on this thread until they are done. The callers go on past `tasks` until `meanwhile` has run
    /// `overlap` times, so that much of it surely happens while tasks run (900 tiny tasks can finish
    /// before this thread is scheduled). Returns how often each (caller, part) ran and each caller's tasks.
    static func run(callers: Int, tasks: Int, parts: Int, overlap: Int = 0,
                    meanwhile: () -> Void) -> (counts: [Int], tasks: [Int]) {
        let work = CountingWork(callers: callers, parts: parts)
        let done = Atomic<Int>(0)
        let calls = Atomic<Int>(0)
        let finished = DispatchSemaphore(value: 0)
        for caller in 0..<callers {
            Thread {
                var caller = caller
                var count = 0
                while count < tasks || calls.load(ordering: .acquiring) < overlap {
                    withUnsafePointer(to: &caller) { ThreadPool.run(parts: parts, work, context: UnsafeRawPointer($0)) }
                    count += 1
                }
                work.tasks[caller] = count  // read after `finished` is signalled
                done.add(1, ordering: .releasing)
                finished.signal()
            }.start()
        }
        while done.load(ordering: .acquiring) < callers {
            meanwhile()
            calls.add(1, ordering: .releasing)
        }
        for _ in 0..<callers { finished.wait() }
        return (Array(UnsafeBufferPointer(start: work.counts, count: callers * parts)), Array(UnsafeBufferPointer(start: work.tasks, count: callers)))
    }

    @Test("3 callers × 300 tasks of 7 parts at once: every part runs exactly once per task")
    func concurrentCallers() {
        ensureTwoThreads()
        let (counts, tasks) = Self.run(callers: 3, tasks: 300, parts: 7) { sched_yield() }
        #expect(tasks == [300, 300, 300])
        #expect(counts == Array(repeating: 300, count: 21), "\(counts)")
    }

    /// Resizing the process-wide pool changes how other tests running in parallel split their work
    /// (tests that check the exact GEMM calls per thread), so this one runs on its own:
    /// Scripts/test.sh runs it in a second `swift test` with POINTWISE_POOL_RESIZE_TEST set.
    @Test("the same while the pool is resized between 1 and 3 threads, again and again",
          .enabled(if: ProcessInfo.processInfo.environment["POINTWISE_POOL_RESIZE_TEST"] != nil,
                   "resizes the shared pool; Scripts/test.sh runs it alone"))
    func concurrentCallersWhileResizing() {
        let original = ThreadPool.size
        defer { _ = ThreadPool.resize(original) }
        var size = 1
        var resizes = 0
        let (counts, tasks) = Self.run(callers: 3, tasks: 300, parts: 7, overlap: 20) {
            _ = ThreadPool.resize(size)
            size = size % 3 + 1
            resizes += 1
        }
        // Every part of every task each caller made ran exactly once, across at least 20 resizes.
        #expect(tasks.allSatisfy { $0 >= 300 })
        #expect(counts == tasks.flatMap { Array(repeating: $0, count: 7) }, "\(counts) for tasks \(tasks)")
        #expect(resizes >= 20, "the pool was resized while tasks ran (\(resizes) times)")
    }
}
