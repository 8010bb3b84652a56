extension Network {
    /// torchvision's `resnet50()`: 7x7 stem, max pool, 3-4-6-3 bottlenecks (v1.5), global pool, fc.
    /// [N, 224, 224, 3] -> [N, 1000]. Parameter names as torchvision's state_dict.
    static func resNet50(_ p: ParameterSource) throws -> Network {
        var layers: [Layer] = [
            try p.convBatchNorm(conv: "conv1", bn: "bn1", 3, 64, kernel: 7, stride: 2, padding: 3, activation: .relu),
            try Pool2D(.max, kernel: 3, stride: 2, padding: 1, name: "maxpool"),
        ]
        var inChannels = 64
        for (stage, (blocks, width, stride)) in [(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)].enumerated() {
            for block in 0..<blocks {
                layers.append(try Bottleneck(p, prefix: "layer\(stage + 1).\(block)", inChannels: inChannels,
                                             width: width, stride: block == 0 ? stride : 1))
                inChannels = width * Bottleneck.expansion
            }
        }
        layers.append(GlobalAveragePool(name: "avgpool"))
        layers.append(try p.linear("fc", 2048, 1000))
        return Network(name: "ResNet-50", layers: layers)
    }
}
