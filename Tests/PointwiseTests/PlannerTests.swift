import Foundation
import Testing
@testable import Pointwise

/// The measuring planner and wisdom: every candidate timed and recorded, the fastest kept; a plan
/// from wisdom makes the same choices and gives the same bits; bad wisdom files are errors.
@Suite("Measuring planner and wisdom")
struct PlannerTests {
    /// A 3x3 convolution (8 candidates), a 1x1 with a residual (2), a depthwise (nothing to choose).
    func graph() throws -> Graph {
        let b = GraphBuilder(name: "planner")
        let x = b.input("x", shape: [.symbolic("N"), 16, 12, 12])
        let c = try b.conv(x, weight: weights([24, 16, 3, 3], seed: 1, scale: 0.1), bias: weights([24], seed: 2), padding: 1, name: "c")
        let r = b.relu(c, name: "r")
        let d = try b.conv(r, weight: weights([24, 1, 3, 3], seed: 3, scale: 0.3), padding: 1, groups: 24, name: "d")
        let p = try b.conv(d, weight: weights([24, 24, 1, 1], seed: 4, scale: 0.2), name: "p")
        b.output(b.add(p, r, name: "add"))
        return try b.build()
    }

    func notes(_ plan: ExecutionPlan) -> [String: String] {
        Dictionary(uniqueKeysWithValues: plan.steps.compactMap { step -> (String, String)? in
            switch step.kernel {
            case let k as ConvolutionKernel: (step.name, k.note ?? "")
            case let k as WinogradKernel: (step.name, k.note ?? "")
            default: nil
            }
        })
    }

    @Test("measure: every candidate timed and recorded, the fastest chosen; results within the reference tolerance")
    func measure() throws {
        let graph = try graph()
        let wisdom = Wisdom()
        // Unfused, so the 1x1 after the depthwise is a layer of its own with candidates to time.
        let options = CompileOptions(planning: .measure, wisdom: wisdom, fusesDepthwiseChains: false)
        let plan = try InferenceSession(graph, options: options).plan(inputShapes: [[2, 16, 12, 12]])
        #expect(wisdom.count == 2, "the 3x3 and the 1x1 (the depthwise has nothing to choose)")
        let notes = notes(plan)
        for name in ["c", "p"] {
            let note = try #require(notes.first { $0.key.hasPrefix(name) }?.value)
            #expect(note.hasPrefix("measured: "), "\(name): \(note)")
        }
        let threeByThree = try #require(wisdom.entries.values.first { $0.milliseconds.count == 8 })
        #expect(Set(threeByThree.milliseconds.keys) == Set(ConvolutionChoice.all.map(\.name)))
        #expect(threeByThree.milliseconds[threeByThree.choice] == threeByThree.milliseconds.values.min())
        let oneByOne = try #require(wisdom.entries.values.first { $0.milliseconds.count == 2 })
        #expect(Set(oneByOne.milliseconds.keys) == ["gemm+openblas", "gemm+packed"])
        #expect(try engineError(graph, randomInputs(graph, shapes: ["x": [2, 16, 12, 12]]), options: options) <= WinogradTests.tolerance[6]! * 3)
    }

    @Test("wisdom written and read back plans the same choices, and the same bits, without measuring")
    func roundTrip() throws {
        let graph = try graph()
        let measured = Wisdom()
        let first = try InferenceSession(graph, options: CompileOptions(planning: .measure, wisdom: measured))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pointwise-wisdom-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let inputs = try randomInputs(graph, shapes: ["x": [1, 16, 12, 12]])
        let expected = try first.run(inputs)
        try measured.write(to: path)
        let loaded = try Wisdom(contentsOf: path)
        #expect(loaded.entries == measured.entries)
        let second = try InferenceSession(graph, options: CompileOptions(planning: .estimate, wisdom: loaded))
        let plan = try second.plan(inputShapes: [[1, 16, 12, 12]])
        let firstPlan = try first.plan(inputShapes: [[1, 16, 12, 12]])
        for (name, note) in notes(plan) where !note.isEmpty {
            #expect(note.hasPrefix("wisdom: "), "\(name): \(note)")
            let chosen = String(note.dropFirst("wisdom: ".count).prefix { $0 != " " })
            #expect(notes(firstPlan)[name]?.hasPrefix("measured: \(chosen) ") == true, "\(name): \(note) vs \(notes(firstPlan)[name] ?? "")")
        }
        #expect(try second.run(inputs) == expected, "a plan from wisdom gives the measured plan's bits")
    }

    @Test("wisdom dictates the choice: a recorded winograd6+openblas is what runs")
    func wisdomDictates() throws {
        let graph = try graph()
        let wisdom = Wisdom()
        _ = try InferenceSession(graph, options: CompileOptions(planning: .measure, wisdom: wisdom)).plan(inputShapes: [[1, 16, 12, 12]])
        let key = try #require(wisdom.entries.first { $0.value.milliseconds.count == 8 }?.key)
        wisdom.record(Wisdom.Entry(choice: "winograd6+openblas", milliseconds: [:]), for: key)
        let plan = try InferenceSession(graph, options: CompileOptions(wisdom: wisdom)).plan(inputShapes: [[1, 16, 12, 12]])
        let kernel = try #require(plan.steps.compactMap { $0.kernel as? WinogradKernel }.first)
        #expect(kernel.m == 6 && kernel.gemmKernel == .openBLAS)
        // Forcing the algorithm narrows the candidates: the wisdom's Winograd choice no longer applies.
        let forced = try InferenceSession(graph, options: CompileOptions(convolutionAlgorithm: .im2col, wisdom: wisdom)).plan(inputShapes: [[1, 16, 12, 12]])
        #expect(forced.steps.allSatisfy { !($0.kernel is WinogradKernel) })
    }

    @Test("bad wisdom files are errors naming the file and what was expected")
    func badFiles() throws {
        let directory = FileManager.default.temporaryDirectory
        let cases: [(String, String)] = [
            ("not json", "is not Pointwise wisdom JSON"),
            (#"{"format": "fftw", "version": 1, "entries": {}}"#, "expected 'pointwise-wisdom' version 1"),
            (#"{"format": "pointwise-wisdom", "version": 1, "entries": {"k": {"choice": "winograd8+mkl", "milliseconds": {}}}}"#,
             "choice 'winograd8+mkl', expected one of gemm+openblas"),
        ]
        for (index, (text, fragment)) in cases.enumerated() {
            let path = directory.appendingPathComponent("pointwise-bad-wisdom-\(index)-\(UUID()).json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            expectError(path, fragment) { _ = try Wisdom(contentsOf: path) }
        }
        expectError("/nonexistent/wisdom.json", "cannot be read") { _ = try Wisdom(contentsOf: "/nonexistent/wisdom.json") }
    }
}
