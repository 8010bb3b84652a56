import Foundation
import Pointwise

/// A point of the scaling sweep: a 1x1 convolution C→C on an S×S map.
struct SweepPoint: Codable {
    var spatial: Int
    var channels: Int
    var flops: Double
    var naive_median_s: Double?
    var engine_median_s: Double
    var bare_sgemm_median_s: Double?
}

/// Heap allocations of one steady-state forward pass (after warm-up), counted by the malloc interposer.
struct AllocationCount: Codable {
    var network: String
    var batch: Int
    var mallocs_per_pass: Double?
    var bytes_per_pass: Double?
}

struct BenchRun: Codable {
    var threads: Int
    var peak_gflops: Double
    var peak_shape: String
    /// The core's FMA peak (`FMAPeak`) times the threads: the ceiling, where peak_gflops is what SGEMM reaches.
    var fma_peak_gflops: Double
    var rows: [BenchRow]
    var sweep: [SweepPoint]
    var allocations: [AllocationCount]
}

struct BenchMachine: Codable {
    var cpu: String
    var cores: Int
    var blas_config: String
    var blas_core: String
    var date: String
    var build: String
}

struct BenchReport: Codable {
    var command: String
    var machine: BenchMachine
    var repetitions: [String: String]
    var runs: [BenchRun]

    func writeJSON(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }

    /// One CSV line per row and thread count (the sweep goes to the JSON only).
    func writeCSV(to path: String) throws {
        var lines = ["threads,name,kind,batch,flops,gemm,naive_median_s,engine_median_s,engine_min_s,engine_reps,"
                     + "bare_sgemm_median_s,engine_over_bare,engine_over_bare_min,speedup,gflops,peak_share,max_error"]
        for run in runs {
            for r in run.rows {
                let fields: [String] = ["\(run.threads)", "\"\(r.name)\"", r.kind.rawValue, "\(r.batch)", "\(r.flops)", r.gemm,
                                        opt(r.naive_median_s), "\(r.engine_median_s)", "\(r.engine_min_s)", "\(r.engine_reps)",
                                        opt(r.bare_sgemm_median_s), opt(r.engine_over_bare), opt(r.engine_over_bare_min),
                                        opt(r.speedup), "\(r.gflops)",
                                        "\(r.peak_share)", opt(r.max_error)]
                lines.append(fields.joined(separator: ","))
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    private func opt(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }

    /// The human-readable table of one run.
    static func table(_ run: BenchRun) -> String {
        let header = ["row", "naive", "engine (min)", "reps", "speedup", "GFLOP/s", "% peak", "bare SGEMM", "eng/bare (min)", "max err"]
        let cells = run.rows.map { r -> [String] in
            [r.name,
             r.naive_median_s.map(formatSeconds) ?? "skipped",
             "\(formatSeconds(r.engine_median_s)) (\(formatSeconds(r.engine_min_s)))",
             "\(r.engine_reps)",
             r.speedup.map { fixed($0, 1) + "x" } ?? "-",
             fixed(r.gflops, 1),
             fixed(r.peak_share * 100, 1),
             r.bare_sgemm_median_s.map(formatSeconds) ?? "-",
             r.engine_over_bare.map { fixed($0, 2) + " (" + fixed(r.engine_over_bare_min ?? 0, 2) + ")" } ?? "-",
             r.max_error.map { String(format: "%.1e", $0) } ?? "-"]
        }
        var widths = header.map(\.count)
        for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ row: [String]) -> String {
            row.enumerated().map { i, cell in
                i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  ")
        }
        var text = ["threads \(run.threads): peak \(fixed(run.peak_gflops, 1)) GFLOP/s (SGEMM \(run.peak_shape)); "
                    + "FMA peak \(fixed(run.fma_peak_gflops, 1)) GFLOP/s (\(run.threads) × the core's, `pointwise info`)",
                    line(header), String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))]
        text += cells.map(line)
        if !run.allocations.isEmpty {
            text.append("")
            text.append("heap allocations per steady-state forward pass (batch 1): "
                        + run.allocations.map { a in
                            "\(a.network) " + (a.mallocs_per_pass.map { m in
                                "\(fixed(m, 1)) (\(fixed((a.bytes_per_pass ?? 0) / 1024, 0)) KiB)" } ?? "not measured")
                        }.joined(separator: ", "))
        }
        if !run.sweep.isEmpty {
            text.append("")
            text.append("scaling sweep, 1x1 C->C on SxS (batch 1): S, C, MFLOP, naive, engine, bare SGEMM, speedup")
            for p in run.sweep {
                text.append("  \(p.spatial), \(p.channels), \(fixed(p.flops / 1e6, 2)), "
                            + "\(p.naive_median_s.map(formatSeconds) ?? "skipped"), \(formatSeconds(p.engine_median_s)), "
                            + "\(p.bare_sgemm_median_s.map(formatSeconds) ?? "-"), "
                            + "\(p.naive_median_s.map { fixed($0 / p.engine_median_s, 1) + "x" } ?? "-")")
            }
        }
        return text.joined(separator: "\n")
    }
}
