#if canImport(Glibc)
import Glibc
#endif

/// Memory for the large, long-lived buffers (the arena of activations, packed weights): from
/// 2 MiB up, aligned to 2 MiB and, on Linux, advised for transparent huge pages before this code
/// touches it, so that streaming megabytes does not miss the TLB once per 4 KiB page (Linux's
/// default THP mode, "madvise", gives huge pages only to memory that asks). Advice, not a promise:
/// glibc maps blocks this large freshly, but after large frees it may serve one from heap pages
/// already touched, which stay small. Smaller sizes: `alignment`.
enum LargeAllocation {
    static let hugePageBytes = 2 << 20

    /// Uninitialised memory of at least `byteCount` bytes; release with `deallocate()`.
    static func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let bytes = max(byteCount, 1)
        guard bytes >= hugePageBytes else { return .allocate(byteCount: bytes, alignment: alignment) }
        let rounded = (bytes + hugePageBytes - 1) / hugePageBytes * hugePageBytes
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: hugePageBytes)
        #if os(Linux) && canImport(Glibc)
        // Advice only: without THP the memory is the same, in 4 KiB pages.
        _ = madvise(pointer, rounded, MADV_HUGEPAGE)
        #endif
        return pointer
    }
}
