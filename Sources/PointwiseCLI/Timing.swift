import Pointwise
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock timings of repeated runs, in seconds.
struct Timings {
    let samples: [Double]
    var median: Double { let s = samples.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
    var minimum: Double { samples.min()! }

    /// Runs `body` `warmup` times untimed, then `repetitions` times timed.
    static func measure(warmup: Int, repetitions: Int, _ body: () throws -> Void) rethrows -> Timings {
        for _ in 0..<warmup { try body() }
        var samples: [Double] = []
        samples.reserveCapacity(repetitions)
        for _ in 0..<repetitions {
            let start = now()
            try body()
            samples.append(now() - start)
        }
        return Timings(samples: samples)
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// "1.234 ms", "56.7 µs".
func formatSeconds(_ s: Double) -> String {
    if s >= 1 { return String(format3(s)) + " s" }
    if s >= 1e-3 { return format3(s * 1e3) + " ms" }
    return format3(s * 1e6) + " µs"
}

/// Three significant digits without Foundation.
func format3(_ x: Double) -> String {
    let digits = x >= 100 ? 1 : x >= 10 ? 2 : 3
    return fixed(x, digits)
}

/// `x` with `digits` decimals, without Foundation; NaN, infinities and huge values are spelled
/// out instead of trapping in an Int conversion.
func fixed(_ x: Double, _ digits: Int) -> String { ModelSummary.fixed(x, digits) }

/// "release" or "debug": timings mean something only in the former.
let buildKind: String = {
    #if DEBUG
    return "debug"
    #else
    return "release"
    #endif
}()
