/// Memory a layer, block or network holds: packed weights, intermediate activation
/// buffers and im2col workspaces (the caller's input and output tensors excluded).
public struct MemoryUse: Sendable, Equatable {
    public var weightBytes = 0
    public var activationBytes = 0
    public var workspaceBytes = 0
    /// Base address of every buffer, so a test can check that a second run reuses them.
    public var bufferAddresses: [UInt] = []
    /// Buffers already counted: a workspace shared by many layers counts once.
    private var counted: Set<ObjectIdentifier> = []

    public init() {}

    public var totalBytes: Int { weightBytes + activationBytes + workspaceBytes }

    mutating func addWeights(_ values: [Float]?) {
        weightBytes += (values?.count ?? 0) * MemoryLayout<Float>.stride
    }

    mutating func addActivations(_ buffer: FeatureBuffer) {
        guard counted.insert(ObjectIdentifier(buffer)).inserted else { return }
        activationBytes += buffer.byteCount
        bufferAddresses.append(UInt(bitPattern: buffer.storage.baseAddress))
    }

    mutating func addWorkspace(_ buffer: FeatureBuffer) {
        guard counted.insert(ObjectIdentifier(buffer)).inserted else { return }
        workspaceBytes += buffer.byteCount
        bufferAddresses.append(UInt(bitPattern: buffer.storage.baseAddress))
    }
}
