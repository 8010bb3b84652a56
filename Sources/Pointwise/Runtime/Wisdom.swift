import Foundation
import Synchronization

/// How each convolution's algorithm is chosen when a plan is compiled (FFTW's planner flags).
public enum PlanningMode: String, Sendable, Hashable, CaseIterable {
    /// Rules from measurements made on the machines seen so far (`WinogradKernel.heuristicTile`,
    /// `ConvolutionKernel.preferredGEMMKernel`): no time spent planning.
    case estimate
    /// Every candidate (im2col or Winograd F(2,3)/F(4,3)/F(6,3), each on OpenBLAS or the packed
    /// GEMM) timed on the layer's real shapes, the fastest kept; what `Wisdom` records.
    case measure
}

/// Measured algorithm choices, saved and reused across runs (FFTW's wisdom): each entry is keyed by
/// the machine (CPU model, the ISA Pointwise's kernels use, OpenBLAS's core, threads) and the
/// layer's shape, and holds the choice with every candidate's time. A plan made from wisdom makes
/// the same choices every time, so its results are deterministic.
///
/// Thread-safe: sessions compiling at the same time may share one.
public final class Wisdom: Sendable, Hashable {
    public struct Entry: Codable, Sendable, Equatable {
        /// "gemm+packed", "winograd4+openblas", … (`ConvolutionChoice.name`).
        public var choice: String
        /// Each measured candidate's minimum time per run, in milliseconds.
        public var milliseconds: [String: Double]
    }

    private struct File: Codable {
        var format: String
        var version: Int
        var entries: [String: Entry]
    }

    private static let format = "pointwise-wisdom"
    private let storage: Mutex<[String: Entry]>

    public init() { storage = Mutex([:]) }

    /// Reads wisdom written by `write(to:)`; throws on anything else, naming the file.
    public convenience init(contentsOf path: String) throws {
        self.init()
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw PointwiseError.file(path: path, problem: "cannot be read: \(error.localizedDescription)")
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw PointwiseError.file(path: path, problem: "is not Pointwise wisdom JSON (\(error))")
        }
        guard file.format == Self.format, file.version == 1 else {
            throw PointwiseError.file(path: path, problem: "format '\(file.format)' version \(file.version), expected '\(Self.format)' version 1")
        }
        for (key, entry) in file.entries {
            guard ConvolutionChoice(name: entry.choice) != nil else {
                throw PointwiseError.file(path: path, problem: "entry '\(key)' has choice '\(entry.choice)', expected one of \(ConvolutionChoice.all.map(\.name).joined(separator: ", "))")
            }
        }
        storage.withLock { $0 = file.entries }
    }

    /// Writes every entry as JSON (keys sorted, so the same wisdom gives the same file).
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(File(format: Self.format, version: 1, entries: entries))
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw PointwiseError.file(path: path, problem: "cannot be written: \(error.localizedDescription)")
        }
    }

    public var count: Int { storage.withLock { $0.count } }

    /// Every entry, by key.
    public var entries: [String: Entry] { storage.withLock { $0 } }

    public func entry(for key: String) -> Entry? { storage.withLock { $0[key] } }

    func record(_ entry: Entry, for key: String) { storage.withLock { $0[key] = entry } }

    /// The machine part of every key: what decides which algorithm wins.
    static func machine(threads: Int) -> String {
        "\(CPUFeatures.modelName) | \(KernelISA.best) | OpenBLAS \(BLASRuntime.shared.coreName) | \(threads) threads"
    }

    public static func == (a: Wisdom, b: Wisdom) -> Bool { a === b }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
