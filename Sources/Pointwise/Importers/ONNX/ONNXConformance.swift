import Foundation

/// Runs ONNX's own backend test cases (`onnx/backend/test/data/...`: a folder with `model.onnx`
/// and `test_data_set_*/input_*.pb`, `output_*.pb`) and compares with onnx's rule,
/// |actual − expected| ≤ atol + rtol·|expected| with rtol 1e-3 and atol 1e-7 (NaN equal to NaN).
public enum ONNXConformance {
    public static let relativeTolerance = 1e-3
    public static let absoluteTolerance = 1e-7

    /// The outcome of one case: nil when every data set passed, else what went wrong.
    public static func run(caseDirectory: String, options: CompileOptions = CompileOptions()) -> String? {
        do {
            let graph = try ONNXImporter.load(caseDirectory + "/model.onnx")
            let session = try InferenceSession(graph, options: options)
            let sets = try FileManager.default.contentsOfDirectory(atPath: caseDirectory)
                .filter { $0.hasPrefix("test_data_set_") }.sorted()
            guard !sets.isEmpty else { return "no test_data_set_* folder" }
            for set in sets {
                let folder = caseDirectory + "/" + set
                let inputs = try tensors(in: folder, prefix: "input_")
                let expected = try tensors(in: folder, prefix: "output_")
                var named: [String: TensorValue] = [:]
                for (index, (name, value)) in inputs.enumerated() {
                    let inputName = session.inputNames.contains(name) ? name : index < session.inputNames.count ? session.inputNames[index] : name
                    named[inputName] = value
                }
                let outputs = try session.run(named)
                for (index, (name, value)) in expected.enumerated() {
                    let outputName = outputs[name] != nil ? name : index < session.outputNames.count ? session.outputNames[index] : name
                    guard let actual = outputs[outputName] else { return "\(set): output \(outputName) missing" }
                    if let problem = compare(actual, value) { return "\(set): output \(outputName): \(problem)" }
                }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The TensorProto files `prefix0.pb`, `prefix1.pb`, … of a data set folder, in order, with their names.
    static func tensors(in folder: String, prefix: String) throws -> [(String, TensorValue)] {
        var result: [(String, TensorValue)] = []
        var index = 0
        while FileManager.default.fileExists(atPath: "\(folder)/\(prefix)\(index).pb") {
            let path = "\(folder)/\(prefix)\(index).pb"
            let file = try MappedFile(path: path)
            let data = file.bytes.isEmpty ? Data() : Data(bytes: file.bytes.baseAddress!, count: file.bytes.count)
            let proto = try Onnx_TensorProto(serializedBytes: data)
            result.append((proto.name, try ONNXTensor.value(proto, directory: folder, what: path)))
            index += 1
        }
        return result
    }

    /// nil when `actual` matches `expected` by onnx's rule, else the first mismatch.
    public static func compare(_ actual: TensorValue, _ expected: TensorValue) -> String? {
        guard actual.shape == expected.shape else { return "shape \(describe(actual.shape)), expected \(describe(expected.shape))" }
        guard actual.dataType == expected.dataType else { return "type \(actual.dataType), expected \(expected.dataType)" }
        for (i, (a, e)) in zip(actual.doubles, expected.doubles).enumerated() {
            if a.isNaN && e.isNaN { continue }
            if a == e { continue }  // equal infinities
            guard abs(a - e) <= absoluteTolerance + relativeTolerance * abs(e) else {
                return "element \(i): \(a), expected \(e) (rtol \(relativeTolerance), atol \(absoluteTolerance))"
            }
        }
        return nil
    }
}
