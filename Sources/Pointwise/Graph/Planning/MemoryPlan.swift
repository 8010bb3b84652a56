/// One arena for a plan's intermediate values and workspaces, with an offset for each: blocks
/// whose lifetimes overlap get disjoint bytes, the others may share (TFLite's "greedy by size"
/// strategy: largest block first, at the lowest offset free for its whole lifetime).
public struct MemoryPlan: Sendable, Equatable {
    /// A block of the arena: a value's memory (with every view of it) or a step's workspace.
    public struct Block: Sendable, Equatable {
        public let name: String
        public let bytes: Int
        /// First and last step (inclusive) during which the block holds data someone reads.
        public let firstStep: Int
        public let lastStep: Int
        public var offset: Int = 0

        public func overlaps(inTime other: Block) -> Bool {
            firstStep <= other.lastStep && other.firstStep <= lastStep
        }

        public func overlaps(inMemory other: Block) -> Bool {
            offset < other.offset + other.bytes && other.offset < offset + bytes
        }
    }

    /// Blocks start on cache-line boundaries.
    public static let alignment = 64

    public private(set) var blocks: [Block]
    /// Bytes of the arena: the end of the highest block.
    public let arenaBytes: Int

    /// Places `blocks` (offsets ignored).
    init(blocks: [Block]) {
        var placed: [Block] = []
        placed.reserveCapacity(blocks.count)
        let order = blocks.indices.sorted { a, b in
            blocks[a].bytes != blocks[b].bytes ? blocks[a].bytes > blocks[b].bytes : blocks[a].firstStep < blocks[b].firstStep
        }
        var result = blocks
        for index in order {
            var block = blocks[index]
            let aligned = (block.bytes + Self.alignment - 1) / Self.alignment * Self.alignment
            let conflicts = placed.filter { $0.overlaps(inTime: block) }.sorted { $0.offset < $1.offset }
            var offset = 0
            for other in conflicts {
                if offset + aligned <= other.offset { break }
                offset = max(offset, (other.offset + other.bytes + Self.alignment - 1) / Self.alignment * Self.alignment)
            }
            block.offset = offset
            placed.append(block)
            result[index] = block
        }
        self.blocks = result
        arenaBytes = result.map { $0.offset + $0.bytes }.max() ?? 0
    }

    /// Moves a block (tests: planting an overlap for the checker to find).
    mutating func forceOffset(_ offset: Int, ofBlock index: Int) { blocks[index].offset = offset }

    /// Throws if two blocks alive at the same step share a byte: the arena checker.
    public func validate() throws {
        for i in blocks.indices {
            for j in blocks.indices where j > i {
                let (a, b) = (blocks[i], blocks[j])
                if a.bytes > 0 && b.bytes > 0 && a.overlaps(inTime: b) && a.overlaps(inMemory: b) {
                    throw PointwiseError.invalidGraph("memory plan: '\(a.name)' [\(a.offset), \(a.offset + a.bytes)) steps \(a.firstStep)...\(a.lastStep) overlaps '\(b.name)' [\(b.offset), \(b.offset + b.bytes)) steps \(b.firstStep)...\(b.lastStep)")
                }
            }
        }
    }

    /// The most bytes alive at any one step: what no arena can go below.
    public var peakLiveBytes: Int {
        let steps = Set(blocks.flatMap { [$0.firstStep, $0.lastStep] })
        return steps.map { step in blocks.filter { $0.firstStep <= step && step <= $0.lastStep }.reduce(0) { $0 + $1.bytes } }.max() ?? 0
    }
}
