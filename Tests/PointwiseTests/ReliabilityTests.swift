import Testing
@testable import Pointwise

/// The reliability issue's "found by reading" items that are not fuzz findings, each a test that
/// failed before its fix: the error measure, number formatting, and the CLI's numeric options.
@Suite("Reliability")
struct ReliabilityTests {
    @Test("the error measure is infinite when either side holds NaN or infinity (an all-NaN output fails every agreement test)")
    func errorMeasureOnNonFinite() throws {
        let reference = try Tensor(shape: [3], scalars: [1, 2, 3])
        for bad: Float in [.nan, .infinity, -.infinity] {
            let output = try Tensor(shape: [3], scalars: [1, bad, 3])
            #expect(try Reference.normalizedError(output, reference) == .infinity)
            #expect(try Reference.normalizedError(reference, output) == .infinity)
        }
        let allNaN = try Tensor(shape: [3], scalars: [.nan, .nan, .nan])
        #expect(try !(Reference.normalizedError(allNaN, reference) <= 1e-4))
        #expect(try Reference.normalizedError(reference, reference) == 0)
    }

    @Test("number formatting never traps: NaN, infinities, huge, tiny and negative values")
    func numberFormatting() {
        #expect(ModelSummary.fixed(.nan, 2) == "nan")
        #expect(ModelSummary.fixed(.infinity, 1) == "inf")
        #expect(ModelSummary.fixed(-.infinity, 1) == "-inf")
        #expect(ModelSummary.fixed(1e300, 2) == "1e+300")
        #expect(ModelSummary.fixed(-1e-9, 2) == "0.00")
        #expect(ModelSummary.fixed(-2.345, 2) == "-2.35" || ModelSummary.fixed(-2.345, 2) == "-2.34")
        #expect(ModelSummary.fixed(0, 0) == "0")
        #expect(ModelSummary.mebibytes(Int.max).hasSuffix(" MiB"))
    }

    @Test("numeric CLI options out of range are refused with the value named, before anything is allocated",
          arguments: [
            (["summary", "resnet50", "--batch", "100000"], "--batch must be in 1...65536, got 100000"),
            (["allocations", "resnet50", "--batch", "100000"], "--batch must be in 1...4096"),
            (["bench", "--large-batch", "1000000"], "--large-batch must be in 1...256, got 1000000"),
            (["bench", "--threads", "0,2"], "--threads must be a comma-separated list of counts in 1...64, got '0,2'"),
            (["run", "resnet50", "--weights", "w.safetensors", "--input", "x.npy", "--threads", "1000"], "--threads must be in 1...64, got 1000"),
            (["run", "m.onnx", "--input", "x.npy", "--repetitions", "0"], "--repetitions must be in 1...1000000, got 0"),
            (["run", "m.onnx", "--input", "x.npy", "--concurrent", "100000"], "--concurrent must be in 1...256, got 100000"),
          ])
    func cliBounds(arguments: [String], expected: String) throws {
        let output = try runPointwise(arguments)
        #expect(output.contains(expected), "\(arguments.joined(separator: " ")): \(output)")
    }
}
