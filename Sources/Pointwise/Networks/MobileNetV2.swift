extension Network {
    /// torchvision's `mobilenet_v2()`, width 1.0. [N, 224, 224, 3] -> [N, 1000].
    /// Parameter names as torchvision's state_dict (`features.0.0.weight`,
    /// `features.2.conv.1.1.running_mean`, `classifier.1.weight`, ...).
    static func mobileNetV2(_ p: ParameterSource) throws -> Network {
        var layers: [Layer] = [
            try p.convBatchNorm(conv: "features.0.0", bn: "features.0.1", 3, 32, kernel: 3, stride: 2, padding: 1,
                                activation: .relu6),
        ]
        // (expansion t, output channels c, repeats n, first stride s), the paper's Table 2.
        let settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        var inChannels = 32
        var index = 1
        for (t, c, n, s) in settings {
            for repeatIndex in 0..<n {
                layers.append(try InvertedResidual(p, prefix: "features.\(index)", inChannels: inChannels, outChannels: c,
                                                   stride: repeatIndex == 0 ? s : 1, expandRatio: t))
                inChannels = c
                index += 1
            }
        }
        layers.append(try p.convBatchNorm(conv: "features.\(index).0", bn: "features.\(index).1", inChannels, 1280,
                                          kernel: 1, activation: .relu6))
        layers.append(GlobalAveragePool(name: "avgpool"))
        layers.append(try p.linear("classifier.1", 1280, 1000))
        return Network(name: "MobileNetV2", layers: layers)
    }
}
