import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The SIMD instruction sets this CPU *and its operating system* support.
///
/// On Linux this is read from the `flags` line of `/proc/cpuinfo`, which the
/// kernel filters to what it has enabled (an AVX-512 CPU whose kernel does not
/// save ZMM state shows no `avx512f`). On macOS it comes from `sysctl hw.optional.*`.
public struct CPUFeatures: Sendable, Equatable {
    /// Lower-case flag names, as Linux spells them (`avx2`, `fma`, `avx512f`, ...).
    public let flags: Set<String>

    public init(flags: Set<String>) { self.flags = flags }

    /// The features of the running machine.
    public static let current = CPUFeatures(flags: readFlags())

    /// The CPU's model name ("AMD EPYC", "Intel(R) Xeon(R) …"): /proc/cpuinfo's "model name", or "unknown".
    public static let modelName: String = {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        #endif
        return "unknown"
    }()

    /// AVX2 with FMA3: what OpenBLAS's Haswell kernels need.
    public var hasAVX2: Bool { flags.isSuperset(of: ["avx2", "fma"]) }

    /// AVX-512 F, CD, BW, DQ and VL: what OpenBLAS's SkylakeX kernels need.
    public var hasAVX512: Bool { flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) }

    /// The SIMD features worth reporting, widest last.
    public var simdSummary: [String] {
        let interesting = ["sse3", "ssse3", "sse4_1", "sse4_2", "avx", "fma", "avx2", "f16c",
                           "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl",
                           "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "neon", "asimd"]
        return interesting.filter(flags.contains)
    }

    private static func readFlags() -> Set<String> {
        #if os(Linux)
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            // x86 calls the line "flags", arm64 calls it "Features".
            guard text.hasPrefix("flags") || text.hasPrefix("Features"),
                  let colon = text.firstIndex(of: ":") else { continue }
            return Set(text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
        }
        return []
        #elseif canImport(Darwin)
        let names = ["avx2": "hw.optional.avx2_0", "fma": "hw.optional.fma",
                     "avx512f": "hw.optional.avx512f", "avx512cd": "hw.optional.avx512cd",
                     "avx512bw": "hw.optional.avx512bw", "avx512dq": "hw.optional.avx512dq",
                     "avx512vl": "hw.optional.avx512vl", "neon": "hw.optional.neon"]
        var found = Set<String>()
        for (flag, key) in names {
            var value: Int32 = 0
            var size = MemoryLayout<Int32>.size
            if sysctlbyname(key, &value, &size, nil, 0) == 0, value != 0 { found.insert(flag) }
        }
        return found
        #else
        return []
        #endif
    }
}
