import Foundation
import Testing
@testable import Pointwise

/// The outputs of PyTorch (torchvision modules in eval mode, or the hand-written MobileNetV1 in
/// Scripts/torch_reference.py) for the same weights and input. Tolerance: normalised error
/// max|Δ| / max|y| ≤ 1e-4 (basis in TestSupport.swift; PyTorch also accumulates in Float32).
@Suite("Agreement with PyTorch")
struct TorchAgreementTests {
    /// Small committed fixtures: one block each, made by `Scripts/torch_reference.py --fixture all`.
    static let fixtures: [(name: String, build: @Sendable (ParameterSource) throws -> Layer)] = [
        ("resnet50_layer1.0", { try Bottleneck($0, prefix: "layer1.0", inChannels: 64, width: 64) }),
        ("googlenet_inception3a", { try InceptionModule($0, prefix: "inception3a", inChannels: 192, ch1x1: 64, ch3x3Reduce: 96,
                                                        ch3x3: 128, ch5x5Reduce: 16, ch5x5: 32, poolProjection: 32) }),
        ("mobilenet_v1_features.2", { try DepthwiseSeparable($0, prefix: "features.2", inChannels: 64, outChannels: 128, stride: 2) }),
        ("mobilenet_v2_features.2", { try InvertedResidual($0, prefix: "features.2", inChannels: 16, outChannels: 24, stride: 2, expandRatio: 6) }),
        ("mobilenet_v2_features.3", { try InvertedResidual($0, prefix: "features.3", inChannels: 24, outChannels: 24, stride: 1, expandRatio: 6) }),
    ]

    @Test("blocks loaded from PyTorch safetensors reproduce PyTorch's output", arguments: fixtures.map(\.name))
    func fixture(name: String) throws {
        let build = try #require(Self.fixtures.first { $0.name == name }?.build)
        let directory = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        let parameters = StateDictParameters(try SafeTensorsFile(path: directory.appendingPathComponent("weights.safetensors").path))
        let block = try build(parameters)
        try parameters.finish(network: name)
        let x = try Tensor(nchw: NumpyFile.read(directory.appendingPathComponent("input.npy").path))
        let expected = try Tensor(nchw: NumpyFile.read(directory.appendingPathComponent("output.npy").path))
        #expect(try Reference.normalizedError(block(x), expected) <= float32Tolerance)
    }

    @Test("a weights file that does not fit is one error listing every missing, unexpected and mis-shaped tensor")
    func mismatchedWeights() throws {
        let directory = try #require(Bundle.module.url(forResource: "Fixtures/mobilenet_v2_features.2", withExtension: nil))
        let file = try SafeTensorsFile(path: directory.appendingPathComponent("weights.safetensors").path)
        var tensors = try file.names.filter { $0 != "features.2.conv.3.bias" }.map { ($0, try file.tensor($0)) }
        tensors = try tensors.map { $0.0 == "features.2.conv.2.weight" ? ($0.0, try Tensor(zeros: [24, 95, 1, 1])) : $0 }
        tensors.append(("features.2.extra.weight", try Tensor(zeros: [3, 3])))
        tensors.append(("features.2.conv.3.num_batches_tracked", try Tensor(zeros: [1])))
        let path = temporaryPath("broken.safetensors")
        try SafeTensorsFile.write(tensors, to: path)
        let parameters = StateDictParameters(try SafeTensorsFile(path: path))
        _ = try InvertedResidual(parameters, prefix: "features.2", inChannels: 16, outChannels: 24, stride: 2, expandRatio: 6)
        expectError(path, "does not fit block (3 problems)",
                    "mis-shaped: features.2.conv.2.weight expected [24, 96, 1, 1], got [24, 95, 1, 1]",
                    "missing: features.2.conv.3.bias [24]",
                    "unexpected: features.2.extra.weight [3, 3]") { try parameters.finish(network: "block") }
    }

    /// Whether Debian's PyTorch is importable by the system interpreter (Scripts/install-torch.sh installs it).
    static let torchAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import torch, torchvision, numpy"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test("whole networks agree with PyTorch for the same weights and a batch of 2 seeded images",
          arguments: Network.Architecture.allCases)
    func network(architecture: Network.Architecture) throws {
        try compareWithTorch(architecture, transformInput: false)
    }

    @Test("GoogLeNet with torchvision's transform_input (as with its ImageNet weights)")
    func googLeNetTransformInput() throws {
        try compareWithTorch(.googlenet, transformInput: true)
    }

    func compareWithTorch(_ architecture: Network.Architecture, transformInput: Bool) throws {
        // A failure, not a skip: without PyTorch these tests would pass by checking nothing.
        try #require(Self.torchAvailable, "PyTorch is not importable by /usr/bin/python3: run Scripts/install-torch.sh (Scripts/test.sh does)")
        let directory = temporaryPath(architecture.rawValue)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.repositoryRoot.appendingPathComponent("Scripts/torch_reference.py").path,
                             "--network", architecture.rawValue, "--batch", "2", "--out", directory]
            + (transformInput ? ["--transform-input"] : [])
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "Scripts/torch_reference.py failed")

        let network = try Network.load(architecture, weights: directory + "/weights.safetensors", transformInput: transformInput)
        let x = try Tensor(nchw: NumpyFile.read(directory + "/input.npy"))
        let expected = try NumpyFile.read(directory + "/output.npy")
        let y = try network(x)
        #expect(y.shape == [2, 1000])
        #expect(try Reference.normalizedError(y, expected) <= float32Tolerance)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
