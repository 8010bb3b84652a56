import ArgumentParser
import Foundation
import Pointwise

/// `--plan` and `--wisdom`, shared by `run` and `summary`.
struct PlanningOptions: ParsableArguments {
    @Option(help: "How each convolution's algorithm is chosen when the plan is made: estimate (rules, the default) or measure (time every candidate: im2col or Winograd F(2/4/6,3), on OpenBLAS or the packed GEMM).")
    var plan: String = "estimate"

    @Option(help: "Wisdom JSON: choices measured before are used for the layers it has; with --plan measure the file is created or extended with what was measured.")
    var wisdom: String?

    var mode: PlanningMode? { PlanningMode(rawValue: plan) }

    func validate() throws {
        guard mode != nil else { throw ValidationError("--plan must be estimate or measure, got '\(plan)'") }
        if let wisdom, mode == .estimate, !FileManager.default.fileExists(atPath: wisdom) {
            throw ValidationError("--wisdom \(wisdom) does not exist (with --plan estimate it is only read; --plan measure creates it)")
        }
    }

    /// The wisdom to plan with: the file's, a new one to fill (measure), or none.
    func load() throws -> Wisdom? {
        guard let wisdom else { return nil }
        return FileManager.default.fileExists(atPath: wisdom) ? try Wisdom(contentsOf: wisdom) : Wisdom()
    }

    /// Writes what was measured back to the file (measure mode only).
    func save(_ loaded: Wisdom?) throws {
        guard let wisdom, let loaded, mode == .measure else { return }
        try loaded.write(to: wisdom)
        print("wisdom: \(loaded.count) layers in \(wisdom)")
    }
}
