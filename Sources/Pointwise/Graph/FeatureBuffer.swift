/// A reusable block of Float memory for intermediate activations or workspaces.
/// Grows on demand, never shrinks, freed with its owner.
final class FeatureBuffer {
    private(set) var storage = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)

    /// Makes room for `count` floats; reallocates (contents lost) only when it must grow.
    func reserve(_ count: Int) {
        guard count > storage.count else { return }
        storage.deallocate()
        storage = .allocate(capacity: count)
        storage.initialize(repeating: 0)
    }

    var pointer: UnsafeMutablePointer<Float> { storage.baseAddress! }
    var byteCount: Int { storage.count * MemoryLayout<Float>.stride }

    deinit { storage.deallocate() }
}
