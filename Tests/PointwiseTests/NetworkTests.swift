import Testing
@testable import Pointwise

@Suite("Networks")
struct NetworkTests {
    /// Published totals: torchvision's parameter counts and MACs at 224×224 (MobileNetV1: the paper's 569M).
    static let published: [(Network.Architecture, parameters: Int, macs: Double)] = [
        (.resnet50, 25_557_032, 4.1e9), (.googlenet, 6_624_904, 1.5e9),
        (.mobilenetV1, 4_231_976, 569e6), (.mobilenetV2, 3_504_872, 300e6),
    ]

    @Test("parameter and MAC totals match the published figures (parameters exactly, MACs within 1%)",
          arguments: published)
    func totals(architecture: Network.Architecture, parameters: Int, macs: Double) throws {
        let summary = try Network.build(architecture, parameters: RandomParameters(seed: 1)).summary()
        #expect(summary.totalParameters == parameters)
        #expect(abs(Double(summary.totalMACs) - macs) / macs < 0.01, "\(summary.totalMACs) MACs")
    }

    @Test("MobileNetV1: 1x1 convolutions hold 94.86% of MACs and 74.59% of weights (the paper's Table 2)")
    func mobileNetShares() throws {
        let summary = try Network.build(.mobilenetV1, parameters: RandomParameters(seed: 1)).summary()
        #expect((summary.pointwiseMACShare * 10_000).rounded() == 9486)
        #expect((summary.pointwiseWeightShare * 10_000).rounded() == 7459)
        #expect(summary.rows.filter { $0.gemm == "depthwise" }.count == 13)
    }

    @Test("the summary lowers ResNet-50's first bottleneck as expected")
    func resNetRows() throws {
        let rows = try Network.build(.resnet50, parameters: RandomParameters(seed: 1)).summary().rows
        let byName = Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["conv1"]?.gemm == "12544×147×64")
        #expect(byName["layer1.0.conv1"]?.gemm == "3136×64×64")
        #expect(byName["layer1.0.conv2"]?.gemm == "196×64×64 ×36", "Winograd F(4,3): 14×14 tiles, 36 GEMMs")
        #expect(byName["layer2.0.conv2"]?.gemm == "784×1152×128", "stride 2: im2col")
        #expect(byName["layer2.0.conv2"]?.outputShape == [1, 28, 28, 128], "v1.5: stride on the 3x3")
        #expect(byName["layer2.0.downsample.0"]?.gemm == "784×256×512")
        #expect(byName["fc"]?.gemm == "1×2048×1000")
    }

    @Test("parameter names are torchvision's", arguments: Network.Architecture.allCases)
    func names(architecture: Network.Architecture) throws {
        let parameters = RandomParameters(seed: 1)
        _ = try Network.build(architecture, parameters: parameters)
        let names = Set(parameters.requested.map(\.name))
        #expect(names.count == parameters.requested.count, "no name is read twice")
        let expected: [String] = switch architecture {
        case .resnet50: ["conv1.weight", "bn1.running_var", "layer1.0.downsample.1.weight", "layer4.2.conv3.weight", "fc.bias"]
        case .googlenet: ["conv1.conv.weight", "inception3a.branch2.1.bn.running_mean", "inception5b.branch4.1.conv.weight", "fc.weight"]
        case .mobilenetV1: ["features.0.0.weight", "features.13.pointwise.1.running_var", "classifier.weight"]
        case .mobilenetV2: ["features.0.0.weight", "features.1.conv.1.weight", "features.2.conv.3.bias", "features.18.0.weight", "classifier.1.weight"]
        }
        for name in expected { #expect(names.contains(name), "\(name)") }
        // torchvision 0.14's state_dict entries without num_batches_tracked (Scripts/torch_reference.py --list-params).
        let counts: [Network.Architecture: Int] = [.resnet50: 267, .googlenet: 287, .mobilenetV1: 137, .mobilenetV2: 262]
        #expect(names.count == counts[architecture])
    }

    @Test("forward pass: logits for each image; a second pass reuses the plan and its context and gives the same result",
          arguments: Network.Architecture.allCases)
    func forward(architecture: Network.Architecture) throws {
        let network = try Network.build(architecture, parameters: RandomParameters(seed: 2))
        let x = try Tensor(randomUniform: [2, 224, 224, 3], seed: 3)
        var y = try Tensor(zeros: [2, 1000])
        try network.forward(x, into: &y)
        let plan = try network.plan(forInput: x.shape)
        let first = y
        try network.forward(x, into: &y)
        #expect(try network.plan(forInput: x.shape) === plan && plan.contextCount == 1, "nothing was planned or allocated again")
        #expect(y == first)
        #expect(y.scalars.allSatisfy { $0.isFinite })
        // The two images give different logits: the input reaches the output.
        #expect(y.scalars[0..<1000] != y.scalars[1000..<2000])
        let memory = try network.memoryUse(inputShape: x.shape)
        #expect(memory.arenaBytes > 0 && memory.weightBytes >= 4 * 3_000_000)
    }

    @Test("wrong channel count or a too-small input is an error naming the shapes")
    func badInput() throws {
        let network = try Network.build(.mobilenetV2, parameters: RandomParameters(seed: 1))
        expectError("MobileNetV2 input channels", "expected 3, got 1") { _ = try network(Tensor(zeros: [1, 224, 224, 1])) }
        expectError("MobileNetV2 input rank", "got 3") { _ = try network(Tensor(zeros: [224, 224, 3])) }
        let googlenet = try Network.build(.googlenet, parameters: RandomParameters(seed: 1))
        expectError("GoogLeNet input size", "[1, 8, 8, 3]", "expected [N, 224, 224, 3]") { _ = try googlenet(Tensor(zeros: [1, 8, 8, 3])) }
    }
}
