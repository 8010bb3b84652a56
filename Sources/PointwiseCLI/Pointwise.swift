import ArgumentParser

@main
struct PointwiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pointwise",
        abstract: "Convolutions lowered to BLAS SGEMM.",
        subcommands: [Info.self, Demo.self, Summary.self, Run.self, Bench.self, Compress.self, Allocations.self, Conformance.self])
}
