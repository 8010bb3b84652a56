import ArgumentParser
import Foundation
import Pointwise

/// `pointwise conformance`: ONNX's backend test cases for the operators in scope, passed / in scope per operator.
struct Conformance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run ONNX's own backend test cases (from the onnx wheel's test data) and print passed / in scope per operator.",
        discussion: """
        The cases and their scope come from Scripts/onnx_conformance_cases.py (which reads each model with the onnx \
        package); Scripts/fetch-onnx-test-data.sh downloads the data. Outputs are compared with onnx's rule: \
        allclose with rtol 1e-3, atol 1e-7.
        """)

    @Option(help: "The case list written by Scripts/onnx_conformance_cases.py --json.")
    var cases: String = ".onnx-data/cases.json"

    @Option(help: "The backend test data folder (holding node/, pytorch-converted/, …); default: the one named in the case list.")
    var data: String?

    @Option(help: "Only cases whose path contains this text.")
    var filter: String?

    @Option(help: "Write each in-scope case's result as JSON to this file.")
    var json: String?

    @Flag(help: "Print every failing case with its error.")
    var verbose = false

    struct CaseList: Decodable {
        let data: String
        let ops: [String]
        let cases: [Case]
    }

    struct Case: Decodable {
        let path: String
        let ops: [String]
        let in_scope: Bool
        let reason: String?
    }

    struct Result: Encodable {
        let path: String
        let ops: [String]
        let passed: Bool
        let error: String?
    }

    func run() throws {
        let list: CaseList
        do {
            list = try JSONDecoder().decode(CaseList.self, from: Data(contentsOf: URL(fileURLWithPath: cases)))
        } catch {
            throw ValidationError("cannot read the case list \(cases): \(error). Make it with Scripts/test.sh, or "
                                  + "Scripts/fetch-onnx-test-data.sh then Scripts/onnx_conformance_cases.py --json \(cases)")
        }
        let root = data ?? list.data
        let selected = list.cases.filter { $0.in_scope && (filter.map($0.path.contains) ?? true) }
        var results: [Result] = []
        for item in selected {
            let error = ONNXConformance.run(caseDirectory: root + "/" + item.path)
            results.append(Result(path: item.path, ops: item.ops, passed: error == nil, error: error))
            if verbose, let error { print("FAIL \(item.path): \(error)") }
        }
        print("op                   passed / in scope")
        for op in list.ops {
            let mine = results.filter { $0.ops.contains(op) }
            print(op.padding(toLength: 20, withPad: " ", startingAt: 0) + " \(mine.filter(\.passed).count) / \(mine.count)")
        }
        let passed = results.filter(\.passed).count
        print("all cases            \(passed) / \(results.count)")
        let outOfScope = list.cases.filter { !$0.in_scope && $0.reason != nil && !($0.reason!.hasPrefix("ops outside")) }
        print("out of scope (op in the list, case excluded): \(outOfScope.count)")
        for failure in results where !failure.passed && !verbose { print("  failed: \(failure.path)") }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(results).write(to: URL(fileURLWithPath: json))
        }
        if passed < results.count { throw ExitCode(1) }
    }
}
