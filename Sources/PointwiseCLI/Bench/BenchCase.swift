import Pointwise

/// One row of the benchmark: a layer, block or network and the input it runs on.
struct BenchCase {
    enum Kind: String, Codable {
        case conv1x1, conv3x3, convOther = "conv_other", depthwise, branch, block, network
    }

    let name: String
    let kind: Kind
    let inputShape: [Int]
    /// Builds the layer (seeded random weights; BatchNorm folded where the layer has one).
    let make: () throws -> Layer
    /// Why the naive loop is not run for this row, if it is not.
    var naiveSkipped: String? = nil
    /// How the row's graph is compiled (the Winograd rows force an algorithm).
    var options = CompileOptions()

    var batch: Int { inputShape[0] }
}

/// The default suite: the seed layer, one ResNet-50 bottleneck of each kind, Inception (3a),
/// MobileNet blocks, and the four networks at batch 1 and 8.
enum BenchSuite {
    static func cases(largeBatch: Int) -> [BenchCase] {
        let p = RandomParameters(seed: 7)
        func conv(_ name: String, _ kind: BenchCase.Kind, _ input: [Int], _ cout: Int, kernel: Int, stride: Int = 1,
                  padding: Int = 0, groups: Int = 1) -> BenchCase {
            BenchCase(name: name, kind: kind, inputShape: input) {
                try p.convBatchNorm(conv: name, bn: name + ".bn", input[3], cout, kernel: Size2D(kernel),
                                    stride: Size2D(stride), padding: Padding2D(padding), groups: groups, activation: .relu)
            }
        }
        var cases: [BenchCase] = [
            BenchCase(name: "seed 1x1 28x28x256->16", kind: .conv1x1, inputShape: [1, 28, 28, 256]) {
                try Conv2D(inChannels: 256, outChannels: 16, kernel: 1, bias: false, seed: 1)
            },
            // ResNet-50 layer1 (56x56): a bottleneck's three convolutions, then the block.
            conv("resnet50 layer1.1.conv1 1x1 256->64", .conv1x1, [1, 56, 56, 256], 64, kernel: 1),
            conv("resnet50 layer1.1.conv2 3x3 64->64", .conv3x3, [1, 56, 56, 64], 64, kernel: 3, padding: 1),
            conv("resnet50 layer1.1.conv3 1x1 64->256", .conv1x1, [1, 56, 56, 64], 256, kernel: 1),
            BenchCase(name: "resnet50 layer1.1 bottleneck", kind: .block, inputShape: [1, 56, 56, 256]) {
                try Bottleneck(p, prefix: "layer1.1", inChannels: 256, width: 64)
            },
            // ResNet-50 layer2.0: stride 2 on the 3x3, projection shortcut (1x1 stride 2).
            conv("resnet50 layer2.0.conv1 1x1 256->128", .conv1x1, [1, 56, 56, 256], 128, kernel: 1),
            conv("resnet50 layer2.0.conv2 3x3/2 128->128", .conv3x3, [1, 56, 56, 128], 128, kernel: 3, stride: 2, padding: 1),
            conv("resnet50 layer2.0.conv3 1x1 128->512", .conv1x1, [1, 28, 28, 128], 512, kernel: 1),
            conv("resnet50 layer2.0.downsample 1x1/2 256->512", .conv1x1, [1, 56, 56, 256], 512, kernel: 1, stride: 2),
            BenchCase(name: "resnet50 layer2.0 bottleneck (projection)", kind: .block, inputShape: [1, 56, 56, 256]) {
                try Bottleneck(p, prefix: "layer2.0", inChannels: 256, width: 128, stride: 2)
            },
            // GoogLeNet inception (3a) at 28x28x192: each branch, then the module.
            BenchCase(name: "googlenet 3a branch1 1x1 192->64", kind: .branch, inputShape: [1, 28, 28, 192]) {
                try p.convBatchNorm(conv: "b1", bn: "b1.bn", 192, 64, kernel: 1, activation: .relu, eps: 0.001)
            },
            BenchCase(name: "googlenet 3a branch2 1x1 192->96, 3x3 96->128", kind: .branch, inputShape: [1, 28, 28, 192]) {
                try Sequential([try p.convBatchNorm(conv: "b2.0", bn: "b2.0.bn", 192, 96, kernel: 1, activation: .relu, eps: 0.001),
                            try p.convBatchNorm(conv: "b2.1", bn: "b2.1.bn", 96, 128, kernel: 3, padding: 1, activation: .relu, eps: 0.001)])
            },
            BenchCase(name: "googlenet 3a branch3 1x1 192->16, 3x3 16->32", kind: .branch, inputShape: [1, 28, 28, 192]) {
                try Sequential([try p.convBatchNorm(conv: "b3.0", bn: "b3.0.bn", 192, 16, kernel: 1, activation: .relu, eps: 0.001),
                            try p.convBatchNorm(conv: "b3.1", bn: "b3.1.bn", 16, 32, kernel: 3, padding: 1, activation: .relu, eps: 0.001)])
            },
            BenchCase(name: "googlenet 3a branch4 maxpool 3x3, 1x1 192->32", kind: .branch, inputShape: [1, 28, 28, 192]) {
                try Sequential([try Pool2D(.max, kernel: 3, stride: 1, padding: 1, ceilMode: true),
                            try p.convBatchNorm(conv: "b4", bn: "b4.bn", 192, 32, kernel: 1, activation: .relu, eps: 0.001)])
            },
            BenchCase(name: "googlenet inception3a module", kind: .block, inputShape: [1, 28, 28, 192]) {
                try InceptionModule(p, prefix: "inception3a", inChannels: 192, ch1x1: 64, ch3x3Reduce: 96, ch3x3: 128,
                                    ch5x5Reduce: 16, ch5x5: 32, poolProjection: 32)
            },
            // MobileNetV1 block 6 (28x28x256 -> 14x14x512) and MobileNetV2 features.8 (14x14x64, t=6, residual).
            conv("mobilenet_v1 features.6 depthwise 3x3/2 256", .depthwise, [1, 28, 28, 256], 256, kernel: 3, stride: 2,
                 padding: 1, groups: 256),
            conv("mobilenet_v1 features.6 pointwise 1x1 256->512", .conv1x1, [1, 14, 14, 256], 512, kernel: 1),
            BenchCase(name: "mobilenet_v1 features.6 depthwise-separable", kind: .block, inputShape: [1, 28, 28, 256]) {
                try DepthwiseSeparable(p, prefix: "features.6", inChannels: 256, outChannels: 512, stride: 2)
            },
            BenchCase(name: "mobilenet_v2 features.8 inverted residual", kind: .block, inputShape: [1, 14, 14, 64]) {
                try InvertedResidual(p, prefix: "features.8", inChannels: 64, outChannels: 64, stride: 1, expandRatio: 6)
            },
        ]
        // Each 3x3 stride-1 layer of ResNet-50 (and two of GoogLeNet's) by im2col and by each Winograd tile.
        for (network, cin, cout, size) in [("resnet50", 64, 64, 56), ("resnet50", 128, 128, 28), ("resnet50", 256, 256, 14),
                                           ("resnet50", 512, 512, 7), ("googlenet", 96, 128, 28), ("googlenet", 112, 224, 14)] {
            for (label, algorithm) in [("im2col", ConvolutionAlgorithm.im2col), ("winograd F2", .winograd(tile: 2)),
                                       ("winograd F4", .winograd(tile: 4)), ("winograd F6", .winograd(tile: 6))] {
                var row = conv("\(network) 3x3 \(cin)->\(cout) at \(size)x\(size) \(label)", .conv3x3, [1, size, size, cin], cout,
                               kernel: 3, padding: 1)
                row.options = CompileOptions(convolutionAlgorithm: algorithm)
                if label != "im2col" { row.naiveSkipped = "same layer as the im2col row" }
                cases.append(row)
            }
        }
        for batch in [1, largeBatch] {
            for architecture in Network.Architecture.allCases {
                cases.append(BenchCase(
                    name: "\(architecture.rawValue) network batch \(batch)", kind: .network, inputShape: [batch, 224, 224, 3],
                    make: { try Network.build(architecture, parameters: RandomParameters(seed: 3)) },
                    naiveSkipped: batch == 1 ? nil : "naive run only at batch 1 (it scales linearly with the batch)"))
            }
        }
        return cases
    }
}
