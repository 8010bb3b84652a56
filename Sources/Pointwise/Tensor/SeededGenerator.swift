/// SplitMix64: a small, fast generator whose stream depends only on the seed,
/// so "seeded random" tensors are identical on every platform and run.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range`, from the top 24 bits (a Float's full significand).
    public mutating func nextFloat(in range: ClosedRange<Float>) -> Float {
        let unit = Float(next() >> 40) * (1.0 / Float(1 << 24))
        return range.lowerBound + (range.upperBound - range.lowerBound) * unit
    }
}
